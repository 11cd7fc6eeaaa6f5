"""The erasure ledger (hashes only) and scrubbing a person out of CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.supporters.erasure import (
    Person,
    append_erasure,
    erasure_hash,
    raw_is_erased,
    read_erasures,
    same_person,
    scrub_csv,
)
from provisioner.supporters.errors import SupporterFileError

LIST = (
    "id,first_name,phone,email\n"
    "HZ1,Anna,+32470123456,anna@example.be\n"
    "HZ2,Bram,+32471000000,bram@example.be\n"
    'HZ3,"Chloé, dite ""Clo""",,=cmd@example.be\n'
)


def test_the_ledger_holds_hashes_only_and_is_private(tmp_path: Path) -> None:
    ledger = tmp_path / "erased.csv"
    assert append_erasure(ledger, "email", "anna@example.be") is True
    assert append_erasure(ledger, "email", "anna@example.be") is False  # already there
    assert append_erasure(ledger, "phone", "+32470123456") is True
    text = ledger.read_text()
    assert "anna" not in text and "470123456" not in text
    assert ledger.stat().st_mode & 0o777 == 0o600
    assert read_erasures(ledger) == {
        erasure_hash("email", "anna@example.be"),
        erasure_hash("phone", "+32470123456"),
    }
    assert read_erasures(tmp_path / "absent.csv") == frozenset()


def test_a_damaged_ledger_stops_the_run(tmp_path: Path) -> None:
    ledger = tmp_path / "erased.csv"
    ledger.write_text("kind,sha256,erased_at\nemail,anna@example.be,2026-01-01\n")
    with pytest.raises(SupporterFileError, match=r"erased.csv:2: not an erasure entry"):
        read_erasures(ledger)


@pytest.mark.parametrize(
    ("person", "gone"),
    [
        (Person("email", "anna@example.be"), ["HZ1"]),
        (Person("phone", "+32470123456"), ["HZ1"]),
        (Person("id", "HZ2"), ["HZ2"]),
        (Person("email", "=cmd@example.be"), ["HZ3"]),
        (Person("email", "nobody@example.be"), []),
        (Person("id", "HZ"), []),  # whole cells only, never a prefix
    ],
)
def test_scrub_removes_exactly_the_rows_naming_the_person(person: Person, gone: list[str]) -> None:
    data, removed = scrub_csv(LIST.encode(), [person])
    assert removed == len(gone)
    kept = [line.split(",")[0] for line in data.decode().splitlines()[1:]]
    assert kept == [i for i in ("HZ1", "HZ2", "HZ3") if i not in gone]
    if not gone:
        assert data == LIST.encode()  # untouched bytes, quoting included
    else:
        # Rewritten through the safe writer: quoting kept, a formula cell neutralised.
        kept_line = 'HZ3,"Chloé, dite ""Clo""",,' + "'=cmd@example.be"
        assert "HZ3" in gone or kept_line in data.decode()


def test_a_quarantined_raw_line_is_matched_in_any_phone_format() -> None:
    erased = frozenset({erasure_hash("phone", "+32470123456")})
    assert raw_is_erased("HZ9;Anna;0470 12 34 56;;1000", erased)
    assert not raw_is_erased("HZ9;Anna;0470 12 34 57;;1000", erased)
    assert Person("phone", "+32470123456").matches("0470/12.34.56")


def test_erasing_an_email_also_erases_the_phone_and_id_on_its_record() -> None:
    class Row:
        id, email, phone = "HZ1", "anna@example.be", "+32470123456"

    found = same_person(Person("email", "anna@example.be"), [Row()])  # type: ignore[list-item]
    assert found == [
        Person("email", "anna@example.be"),
        Person("phone", "+32470123456"),
        Person("id", "HZ1"),
    ]
