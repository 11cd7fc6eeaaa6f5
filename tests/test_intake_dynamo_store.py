"""The DynamoDB store against moto's real HTTP endpoint, held to the Store contract
(store.py) side by side with the SQLite store: the same calls, the same answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from intake_cloud import client, create_table, moto, submission, tokens  # noqa: F401
from s3_support import MotoServer

from provisioner.intake.dynamo_store import DynamoStore
from provisioner.intake.model import DoNotContact
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.intake.store import Store

NOW = "2026-12-01T11:00:00.000+00:00"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        opened: Any = SqliteStore(tmp_path / "intake.db")
    else:
        server: MotoServer = request.getfixturevalue("moto")
        opened = DynamoStore(client(server, "dynamodb"), create_table(server))
    yield opened
    opened.close()


def test_added_submission_is_pending_and_reads_back_whole(store: Store) -> None:
    added = submission(tags=("reminder", "door-to-door"), message="Bonjour\nà tous")
    store.add(added, tokens()[0])
    assert list(store.submissions()) == [added]
    assert list(store.submissions("confirmed")) == []
    assert [row.as_json() for row in store.stats()] == [
        {"nation": "liege", "kind": "pledge", "state": "pending", "count": 1}
    ]


def test_confirm_once_before_expiry(store: Store) -> None:
    first, second = submission(), submission(email="jan@example.be", phone="")
    first_tokens, _, _ = tokens()
    expired_tokens, _, _ = tokens(expires_at="2026-12-01T10:30:00+00:00")
    store.add(first, first_tokens)
    store.add(second, expired_tokens)
    before = store.revision()
    found = store.confirm(first_tokens.confirm_hash, NOW)
    assert found is not None
    assert (found.submission_id, found.nation, found.kind, found.state) == (
        first.id,
        "liege",
        "pledge",
        "confirmed",
    )
    assert store.revision() != before
    assert store.confirm(first_tokens.confirm_hash, NOW) is None  # single use
    assert store.confirm(expired_tokens.confirm_hash, NOW) is None  # expired
    assert store.confirm("0" * 64, NOW) is None  # unknown
    confirmed = list(store.submissions("confirmed"))
    assert [s.id for s in confirmed] == [first.id] and confirmed[0].confirmed_at == NOW


def test_unsubscribe_covers_every_signup_of_the_person_at_once(store: Store) -> None:
    pledge, pledge_tokens = submission(), tokens()[0]
    volunteer = submission(kind="volunteer", email="other@example.be", created_at=NOW)
    stranger = submission(email="jan@example.be", phone="+32470999999")
    store.add(pledge, pledge_tokens)
    store.add(volunteer, tokens()[0])  # same phone, another email
    store.add(stranger, tokens()[0])
    store.confirm(pledge_tokens.confirm_hash, NOW)
    found = store.unsubscribe(pledge_tokens.unsubscribe_hash, NOW)
    assert found is not None and found.state == "unsubscribed"
    assert store.do_not_contact() == DoNotContact(
        emails=frozenset({"lea.peeters@example.be"}), phones=frozenset({"+32470123456"})
    )
    states = {s.id: s.state for s in store.submissions()}
    assert states == {
        pledge.id: "unsubscribed",
        volunteer.id: "unsubscribed",
        stranger.id: "pending",
    }
    assert store.unsubscribe(pledge_tokens.unsubscribe_hash, NOW) is not None  # twice is fine
    assert store.confirm(pledge_tokens.confirm_hash, NOW) is None


def test_confirming_again_lifts_an_email_unsubscribe_not_a_phone_one(store: Store) -> None:
    old, old_tokens = submission(), tokens()[0]
    store.add(old, old_tokens)
    store.unsubscribe(old_tokens.unsubscribe_hash, NOW)
    again, again_tokens = submission(created_at=NOW), tokens()[0]
    store.add(again, again_tokens)
    assert store.confirm(again_tokens.confirm_hash, NOW) is not None
    assert store.do_not_contact() == DoNotContact(phones=frozenset({"+32470123456"}))


def test_erase_deletes_the_person_and_keeps_do_not_contact(store: Store) -> None:
    gone, gone_tokens = submission(), tokens()[0]
    kept = submission(email="jan@example.be", phone="")
    store.add(gone, gone_tokens)
    store.add(kept, tokens()[0])
    store.unsubscribe(gone_tokens.unsubscribe_hash, NOW)
    assert store.erase(email="lea.peeters@example.be") == 1
    assert [s.id for s in store.submissions()] == [kept.id]
    assert "lea.peeters@example.be" in store.do_not_contact().emails
    assert store.unsubscribe(gone_tokens.unsubscribe_hash, NOW) is None  # tokens went too


def test_absorb_inserts_new_moves_states_on_and_never_back(store: Store) -> None:
    known = submission()
    store.add(known, tokens()[0])
    newcomer = submission(email="jan@example.be", phone="", state="confirmed", confirmed_at=NOW)
    moved = submission(**{**known.__dict__, "state": "confirmed", "confirmed_at": NOW})
    dnc = DoNotContact(emails=frozenset({"x@example.be"}))
    assert store.absorb([moved, newcomer], dnc) == 2
    assert store.absorb([moved, newcomer], dnc) == 0  # idempotent
    back = submission(**{**known.__dict__, "state": "pending"})
    assert store.absorb([back], DoNotContact()) == 0
    assert {s.id: s.state for s in store.submissions()} == {
        known.id: "confirmed",
        newcomer.id: "confirmed",
    }
    assert store.do_not_contact().emails == {"x@example.be"}


def test_submissions_come_oldest_first(store: Store) -> None:
    late = submission(created_at="2026-12-01T12:00:00.000+00:00")
    early = submission(email="a@example.be", created_at="2026-12-01T08:00:00.000+00:00")
    store.add(late, tokens()[0])
    store.add(early, tokens()[0])
    assert [s.id for s in store.submissions()] == [early.id, late.id]


def test_add_from_many_threads_loses_no_acknowledged_submission(store: Store) -> None:
    """One client shared by threads (boto3 clients are thread-safe). moto's DynamoDB is
    not (500 "dictionary changed size during iteration" under concurrent writes), so
    there some adds fail, loudly; an add that returned is always stored."""
    acknowledged: list[str] = []
    failures: list[Exception] = []

    def add(worker: int) -> None:
        for n in range(15):
            one = submission(email=f"w{worker}n{n}@example.be", phone="")
            try:
                store.add(one, tokens()[0])
            except Exception as exc:  # reported to the caller: the form gets no 303
                failures.append(exc)
                continue
            acknowledged.append(one.id)

    threads = [threading.Thread(target=add, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = {s.id for s in store.submissions()}
    assert set(acknowledged) <= stored  # a 303 is never sent for a lost row
    assert len(acknowledged) + len(failures) == 90 and len(acknowledged) > 0
    if isinstance(store, SqliteStore):
        assert failures == [] and stored == set(acknowledged)
