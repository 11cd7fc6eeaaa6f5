"""Web sign-ups into supporter records: one person per email (or phone), consent proof
kept with its source, reconciliation with the central export, unsubscribes in the
ledger, and `intake export` in the central export's columns."""

from __future__ import annotations

from pathlib import Path

from test_intake_store import NOW, submission, tokens

from provisioner.intake.model import ConsentProof, DoNotContact, Submission
from provisioner.intake.sqlite_store import SqliteStore
from provisioner.supporters import read_supporters
from provisioner.supporters.records import Ledger, Supporter
from provisioner.supporters.web import export_csv, from_submissions, reconcile, with_unsubscribes

PHONE_PROOF = ConsentProof("phone", "J'accepte d'être appelé·e", "p" * 64, "site:liege/agir", NOW)


def central(**changes: object) -> Supporter:
    row = Supporter(
        id="c1", first_name="Luc", last_name="Martin", phone="+32470000001",
        email="luc@example.be", postcode="9000", language="nl", level="donor", tags=("vip",),
        email_consent=False, email_consent_date="2024-05-01", email_consent_source="crm",
        phone_consent=True, phone_consent_date="2024-05-01", phone_consent_source="crm",
        sms_consent=False, sms_consent_date="", sms_consent_source="", created_at="2020-01-01",
    )  # fmt: skip
    return row._replace(**changes)  # type: ignore[arg-type]


def confirmed(n: int, **changes: object) -> Submission:
    return submission(n, **{"state": "confirmed", "confirmed_at": NOW, **changes})


def test_one_person_signing_twice_is_one_supporter_at_the_highest_level() -> None:
    first = confirmed(1, email="ana@example.be", tags=("reminder",))
    second = confirmed(
        2, email="ana@example.be", kind="volunteer", last_name="Lima", phone="+32470123456",
        tags=("help:phoning",), consents=(*first.consents, PHONE_PROOF),
        created_at="2027-02-01T00:00:00.000+00:00", confirmed_at="2027-02-01T00:00:00.000+00:00",
    )  # fmt: skip
    (row,) = from_submissions([second, first])
    assert row.id.startswith("web-") and row.email == "ana@example.be"
    assert (row.level, row.last_name, row.phone) == ("volunteer", "Lima", "+32470123456")
    assert row.tags == ("reminder", "help:phoning")
    assert (row.email_consent, row.email_consent_date, row.email_consent_source) == (
        True, "2027-02-01", "site:liege/promesse",
    )  # fmt: skip
    assert (row.phone_consent, row.phone_consent_source) == (True, "site:liege/agir")
    assert (row.sms_consent, row.created_at) == (False, "2027-01-01")
    assert from_submissions([second, first]) == [row]  # same input, same id


def test_a_central_row_with_the_same_email_is_merged_with_the_newer_consent_winning() -> None:
    web = from_submissions([confirmed(1, email="luc@example.be", postcode="4000")])
    other = central(id="c2", email="eva@example.be", phone="")
    rows = reconcile([central(), other], web)
    assert len(rows) == 2
    merged = rows[0]
    assert (merged.id, merged.postcode, merged.level) == ("c1", "4000", "donor")
    assert (merged.email_consent, merged.email_consent_source) == (True, "site:liege/promesse")
    assert (merged.phone_consent, merged.phone_consent_source) == (True, "crm")  # not asked
    assert merged.tags == ("vip", "reminder")
    assert rows[1] == other


def test_a_newer_refusal_in_the_central_export_beats_an_older_web_consent() -> None:
    web = from_submissions([confirmed(1, email="luc@example.be")])
    refused = central(email_consent=False, email_consent_date="2028-01-01")
    (merged,) = reconcile([refused], web)
    assert (merged.email_consent, merged.email_consent_source) == (False, "crm")


def test_matching_by_phone_and_unmatched_sign_ups_are_appended() -> None:
    web = from_submissions(
        [confirmed(1, email="new@example.be", phone="+32470000001"), confirmed(2)]
    )
    rows = reconcile([central()], web)
    assert (rows[0].id, rows[0].email) == ("c1", "new@example.be")
    assert len(rows) == 2 and rows[1].email == "p2@example.be"
    assert reconcile([central()], []) == [central()]


def test_unsubscribes_join_the_ledger() -> None:
    ledger = Ledger(emails=frozenset({"a@example.be"}))
    joined = with_unsubscribes(ledger, DoNotContact(phones=frozenset({"+32470000001"})))
    assert joined.blocks(central()) and joined.emails == {"a@example.be"}
    assert with_unsubscribes(ledger, DoNotContact()) is ledger


def test_intake_export_has_the_central_columns_and_honours_both_ledgers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "intake.db")
    for n in range(1, 5):
        store.add(submission(n), tokens(n))
        store.confirm(f"c{n}", NOW)
    store.unsubscribe("u2", NOW)
    store.close()
    ledger = tmp_path / "do-not-contact.csv"
    ledger.write_text("contact\nP3@example.be\n", encoding="utf-8")
    data, count = export_csv(tmp_path / "intake.db", ledger)
    (tmp_path / "export.csv").write_bytes(data)
    exported = read_supporters(tmp_path / "export.csv")  # the central export's reader
    assert not exported.quarantined
    emails = {row.email for row in exported.rows}
    # p2 unsubscribed: gone; p3 is on the central ledger: kept without any contact point.
    assert count == 3 and emails == {"p1@example.be", "p4@example.be", ""}
