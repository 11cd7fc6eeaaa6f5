"""The SQLite store against the Store contract (store.py): durable group commit from
many threads, single-use expiring confirm tokens, unsubscribe as do-not-contact at once,
erasure, absorbing another store's records, and the deploy's read-only snapshot."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner.errors import InputError
from provisioner.intake.model import ConsentProof, DoNotContact, Submission, Tokens
from provisioner.intake.sqlite_store import SqliteStore, read_snapshot

LATER = "2030-01-01T00:00:00.000+00:00"
NOW = "2027-01-01T00:00:00.000+00:00"


def submission(n: int, **changes: object) -> Submission:
    base = Submission(
        id=f"s{n}", kind="pledge", nation="liege", routed_to="liege", lang="fr",
        source="site:liege/promesse", first_name="Ana", last_name="", email=f"p{n}@example.be",
        phone="", postcode="4000", tags=("reminder",), message="",
        consents=(ConsentProof("email", "J'accepte", "p" * 64, "site:liege/promesse", NOW),),
        client_hash="h", created_at=NOW,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def tokens(n: int, expires: str = LATER) -> Tokens:
    return Tokens(f"c{n}", f"u{n}", expires)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "intake.db")
    yield opened
    opened.close()


def test_add_from_many_threads_commits_every_submission(store: SqliteStore) -> None:
    def add(start: int) -> None:
        for n in range(start, start + 50):
            store.add(submission(n), tokens(n))

    threads = [threading.Thread(target=add, args=(i * 50,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(store.submissions())) == 400
    assert [row.as_json() for row in store.stats()] == [
        {"nation": "liege", "kind": "pledge", "state": "pending", "count": 400}
    ]


def test_one_failing_write_in_a_batch_fails_alone(store: SqliteStore) -> None:
    store.add(submission(1), tokens(1))
    with pytest.raises(sqlite3.IntegrityError):
        store.add(submission(1), tokens(2))  # the same id again
    store.add(submission(2), tokens(3))
    assert {s.id for s in store.submissions()} == {"s1", "s2"}


def test_submission_round_trips_with_its_consent_proof(store: SqliteStore) -> None:
    original = submission(1, phone="+32470123456", tags=("help:phoning", "available:weekends"))
    store.add(original, tokens(1))
    assert list(store.submissions()) == [original]


def test_confirm_is_single_use_and_expires(store: SqliteStore) -> None:
    store.add(submission(1), tokens(1))
    store.add(submission(2), tokens(2, expires=NOW))
    result = store.confirm("c1", NOW)
    assert result is not None and (result.nation, result.state) == ("liege", "confirmed")
    assert store.confirm("c1", NOW) is None
    assert store.confirm("c2", NOW) is None  # expired at that very moment
    assert store.confirm("unknown", NOW) is None
    assert [s.id for s in store.submissions("confirmed")] == ["s1"]


def test_unsubscribe_covers_every_sign_up_of_the_person_at_once(store: SqliteStore) -> None:
    store.add(submission(1, phone="+32470000001"), tokens(1))
    store.add(submission(2, email="p1@example.be", kind="volunteer"), tokens(2))
    store.add(submission(3), tokens(3))
    store.confirm("c1", NOW)
    revision = store.revision()
    result = store.unsubscribe("u1", NOW)
    assert result is not None and result.state == "unsubscribed"
    assert store.revision() != revision
    assert store.do_not_contact() == DoNotContact(
        emails=frozenset({"p1@example.be"}), phones=frozenset({"+32470000001"})
    )
    states = {s.id: s.state for s in store.submissions()}
    assert states == {"s1": "unsubscribed", "s2": "unsubscribed", "s3": "pending"}
    assert store.unsubscribe("u1", NOW) is not None  # a second click is still fine
    assert store.confirm("c2", NOW) is None  # an unsubscribed sign-up cannot be confirmed


def test_a_new_confirmed_sign_up_lifts_an_earlier_email_unsubscribe(store: SqliteStore) -> None:
    store.add(submission(1, phone="+32470000001"), tokens(1))
    store.unsubscribe("u1", NOW)
    store.add(submission(2, email="p1@example.be", phone="+32470000001"), tokens(2))
    assert store.confirm("c2", NOW) is not None
    # The confirm link proves the address; it proves nothing about the phone.
    assert store.do_not_contact() == DoNotContact(phones=frozenset({"+32470000001"}))


def test_erase_deletes_the_persons_submissions_but_keeps_do_not_contact(
    store: SqliteStore,
) -> None:
    store.add(submission(1), tokens(1))
    store.add(submission(2), tokens(2))
    store.unsubscribe("u1", NOW)
    assert store.erase(email="p1@example.be") == 1
    assert store.erase() == 0
    assert [s.id for s in store.submissions()] == ["s2"]
    assert store.do_not_contact().emails == {"p1@example.be"}


def test_absorb_inserts_new_records_and_only_moves_states_forward(store: SqliteStore) -> None:
    store.add(submission(1), tokens(1))
    store.confirm("c1", NOW)
    changed = store.absorb(
        [
            submission(1),  # pending elsewhere, confirmed here: stays confirmed
            submission(2, state="confirmed", confirmed_at=NOW),
        ],
        DoNotContact(emails=frozenset({"gone@example.be"})),
    )
    assert changed == 1
    assert {s.id: s.state for s in store.submissions()} == {"s1": "confirmed", "s2": "confirmed"}
    assert store.do_not_contact().emails == {"gone@example.be"}


def test_snapshot_reads_confirmed_and_do_not_contact_without_writing(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "none.db").confirmed == []
    store = SqliteStore(tmp_path / "intake.db")
    store.add(submission(1), tokens(1))
    store.add(submission(2), tokens(2))
    store.confirm("c2", NOW)
    snapshot = read_snapshot(tmp_path / "intake.db")  # while the store is open
    store.close()
    assert [s.id for s in snapshot.confirmed] == ["s2"]
    assert snapshot.revision == "1"
    (tmp_path / "broken.db").write_bytes(b"not a database" * 100)
    with pytest.raises(InputError, match="cannot read the intake store"):
        read_snapshot(tmp_path / "broken.db")


def test_store_file_is_private(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "intake.db").close()
    assert (tmp_path / "intake.db").stat().st_mode & 0o077 == 0
