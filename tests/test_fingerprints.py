"""A bucket's digest changes with any field of any of its rows, and with the ledger."""

from __future__ import annotations

import pytest

from provisioner.supporters import COLUMNS, Ledger, Supporter, build_index, segment
from provisioner.supporters.fingerprints import bucket_digests, nation_digests

ROW = Supporter(
    id="S1", first_name="Anne", last_name="Dupont", phone="+32470123456",
    email="anne@example.org", postcode="4000", language="fr", level="supporter",
    tags=("a", "b"), email_consent=True, email_consent_date="2024-03-01",
    email_consent_source="web", phone_consent=False, phone_consent_date="",
    phone_consent_source="", sms_consent=False, sms_consent_date="",
    sms_consent_source="", created_at="2024-02-28", area="",
)  # fmt: skip
OTHER = ROW._replace(id="S2", first_name="Jan", email="jan@example.org", phone="")
INDEX = build_index({"hq": [], "liege": ["4000"], "namur": ["5000"]},
                    {"hq": None, "liege": "hq", "namur": "hq"})  # fmt: skip


NO_LEDGER = Ledger()


def digest(rows: list[Supporter], ledger: Ledger = NO_LEDGER) -> str:
    return bucket_digests(segment(rows, INDEX), ledger)["4000"]


CHANGED = {
    "id": "S9", "first_name": "Anna", "last_name": "Dupond", "phone": "+32470123457",
    "email": "anne@example.be", "language": "nl", "level": "volunteer", "tags": ("a",),
    "email_consent": False, "email_consent_date": "2024-03-02",
    "email_consent_source": "petition", "phone_consent": True,
    "phone_consent_date": "2024-01-01", "phone_consent_source": "door",
    "sms_consent": True, "sms_consent_date": "2024-01-02", "sms_consent_source": "sms",
    "created_at": "2024-02-27", "area": "62063",
}  # fmt: skip


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "postcode"])
def test_a_change_to_any_field_changes_the_digest(column: str) -> None:
    before = digest([ROW, OTHER])
    assert digest([ROW._replace(**{column: CHANGED[column]}), OTHER]) != before


def test_values_moved_between_fields_or_rows_change_the_digest() -> None:
    before = digest([ROW, OTHER])
    assert digest([ROW._replace(first_name="AnneDupont", last_name=""), OTHER]) != before
    assert digest([ROW._replace(tags=("b", "a")), OTHER]) != before  # tag order counts
    assert digest([OTHER, ROW]) != before  # input order counts
    assert digest([ROW, OTHER]) == before  # and the same rows give the same digest


def test_the_ledger_blocking_a_row_changes_the_digest() -> None:
    before = digest([ROW, OTHER])
    assert digest([ROW, OTHER], Ledger(emails=frozenset({"jan@example.org"}))) != before
    assert digest([ROW, OTHER], Ledger(phones=frozenset({ROW.phone}))) != before
    assert digest([ROW, OTHER], Ledger(emails=frozenset({"nobody@example.org"}))) == before


def test_a_change_in_one_postcode_changes_only_that_chain() -> None:
    elsewhere = OTHER._replace(postcode="5000")
    before = nation_digests(segment([ROW, elsewhere], INDEX), Ledger())
    after = nation_digests(segment([ROW._replace(level="donor"), elsewhere], INDEX), Ledger())
    assert {slug for slug in before if before[slug] != after[slug]} == {"liege", "hq"}
