"""Reading the central supporter export and the do-not-contact ledger."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from provisioner.supporters import (
    COLUMNS,
    SupporterFileError,
    normalize_email,
    normalize_phone,
    read_ledger,
    read_supporters,
    render_quarantine,
)


def supporter(**overrides: str) -> dict[str, str]:
    """A valid central-export row; override any column."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        id="S1",
        first_name="Hélène",
        last_name="Dupont",
        phone="+32470123456",
        email="helene@example.org",
        postcode="4000",
        language="fr",
        level="supporter",
        tags="newsletter",
        email_consent="yes",
        email_consent_date="2024-03-01",
        email_consent_source="website-form",
        created_at="2024-02-28",
    )
    row.update(overrides)
    return row


def write_csv(
    path: Path, rows: list[dict[str, str]], delimiter: str = ",", bom: bool = False
) -> Path:
    lines = [delimiter.join(COLUMNS)] + [delimiter.join(row[c] for c in COLUMNS) for row in rows]
    path.write_bytes(("\ufeff" if bom else "").encode() + ("\n".join(lines) + "\n").encode())
    return path


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(",", False), (";", True), (";", False), (",", True)]
)
def test_reads_utf8_with_or_without_bom_comma_or_semicolon(tmp_path, delimiter, bom):
    path = write_csv(
        tmp_path / "s.csv", [supporter(), supporter(id="S2", phone="0470 99 88 77")], delimiter, bom
    )

    ingestion = read_supporters(path)

    assert ingestion.delimiter == delimiter
    assert ingestion.quarantined == []
    first, second = ingestion.rows
    assert (first.id, first.first_name, first.postcode) == ("S1", "Hélène", "4000")
    assert second.phone == "+32470998877"
    assert first.email_consent and first.email_consent_date == "2024-03-01"
    assert first.email_consent_source == "website-form"
    assert not first.phone_consent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+32470123456", "+32470123456"),
        ("0470 12 34 56", "+32470123456"),
        ("0470/12.34.56", "+32470123456"),
        ("0470-12-34-56", "+32470123456"),
        ("+32 470 12 34 56", "+32470123456"),
        ("+32 (0)470 12 34 56", "+32470123456"),
        ("0032 470 12 34 56", "+32470123456"),
        ("32470123456", "+32470123456"),
        ("02 511 22 33", "+3225112233"),
        ("04 222 33 44", "+3242223344"),  # Liège landline: 8 digits starting with 4
        ("081/22.33.44", "+3281223344"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("  ", ""),
        ("", ""),
    ],
)
def test_phone_normalisation(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12345", "0470 12 34", "+32 12", "+32 5123 45 67 89", "phone", "0470 12 34 5x", "+0"]
)
def test_phone_that_cannot_be_normalised_is_refused_with_the_value(raw):
    with pytest.raises(ValueError, match="phone"):
        normalize_phone(raw)


def test_email_normalisation():
    assert normalize_email(" Marie.Dubois@Example.ORG ") == "marie.dubois@example.org"
    assert normalize_email("") == ""
    for bad in ["marie", "a@b", "a b@example.org", "@example.org", "a@@example.org", "a@.org"]:
        with pytest.raises(ValueError, match="email"):
            normalize_email(bad)


def test_bad_rows_are_quarantined_with_line_and_reason_never_dropped(tmp_path):
    rows = [
        supporter(id="S1"),  # line 2
        supporter(id="S2", postcode="400"),  # line 3
        supporter(id="S3", level="vip"),
        supporter(id="S4", phone="12345"),
        supporter(id="S5", email="not-an-email"),
        supporter(id="S1"),  # line 7: duplicate id
        supporter(id="S7", email_consent_date=""),
        supporter(id="S8", first_name="=HYPERLINK(1)"),
        supporter(id="S9", tags="Bénévole"),
        supporter(id="S10", created_at="31/12/2024"),
        supporter(id="S11", sms_consent="maybe"),
        supporter(id="S12", language="english!"),
        supporter(id="S13"),  # line 14: fine
    ]
    path = write_csv(tmp_path / "s.csv", rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("S14,too,few,fields\n")  # line 15

    ingestion = read_supporters(path)

    assert [r.id for r in ingestion.rows] == ["S1", "S13"]
    assert ingestion.total == 14
    reasons = {q.line: q.reason for q in ingestion.quarantined}
    expected = {
        3: "postcode '400'",
        4: "level 'vip'",
        5: "phone '12345'",
        6: "email 'not-an-email'",
        7: "duplicate id 'S1'",
        8: "email_consent is yes but email_consent_date is empty",
        9: "formula",
        10: "tag 'bénévole'",
        11: "created_at '31/12/2024'",
        12: "sms_consent 'maybe'",
        13: "language 'english!'",
        15: "expected 20 fields, found 4",
    }
    assert sorted(reasons) == sorted(expected)
    for line, text in expected.items():
        assert text in reasons[line], (line, reasons[line])
    assert ingestion.quarantined[0].raw.startswith("S2,Hélène,Dupont,")


def test_line_numbers_count_physical_lines_after_a_multiline_field(tmp_path):
    rows = [supporter(id="S1", last_name='"Du\npont"'), supporter(id="S2", postcode="x")]
    path = write_csv(tmp_path / "s.csv", rows)

    ingestion = read_supporters(path)

    assert [(q.line, q.reason[:9]) for q in ingestion.quarantined] == [
        (2, "last_name"),  # a name on two lines is refused, and takes lines 2-3
        (4, "postcode "),
    ]


def test_a_record_the_csv_parser_cannot_read_is_quarantined_alone(tmp_path):
    huge = "x" * 200_000  # over the csv module's field limit
    rows = [supporter(id="S1"), supporter(id="S2", last_name=huge), supporter(id="S3")]
    path = write_csv(tmp_path / "s.csv", rows)

    ingestion = read_supporters(path)

    assert [row.id for row in ingestion.rows] == ["S1", "S3"]
    assert [(q.line, q.reason) for q in ingestion.quarantined] == [
        (3, "unreadable CSV record: field larger than field limit (131072)")
    ]


def test_control_characters_in_names_are_refused(tmp_path):
    path = write_csv(tmp_path / "s.csv", [supporter(last_name="Du\0pont")])

    (quarantined,) = read_supporters(path).quarantined

    assert quarantined.reason == "last_name 'Du\\x00pont' contains a control character"


def test_rows_with_several_problems_list_them_all(tmp_path):
    path = write_csv(tmp_path / "s.csv", [supporter(postcode="x", level="vip")])

    (quarantined,) = read_supporters(path).quarantined

    assert quarantined.reason == (
        "postcode 'x' is not a BE postcode ([1-9][0-9]{3}); "
        "level 'vip' must be one of subscriber, supporter, pledge, volunteer, member, donor"
    )


def test_quarantine_file_lists_line_reason_and_raw(tmp_path):
    path = write_csv(tmp_path / "s.csv", [supporter(postcode="x")], delimiter=";")

    data = render_quarantine(read_supporters(path).quarantined).decode()

    header, (line, reason, raw) = list(csv.reader(io.StringIO(data)))
    assert header == ["line", "reason", "raw"]
    assert (line, reason) == ("2", "postcode 'x' is not a BE postcode ([1-9][0-9]{3})")
    assert raw.startswith("S1;Hélène;Dupont;+32470123456;")


def test_missing_file_is_a_clear_error_naming_file_and_fix(tmp_path):
    with pytest.raises(SupporterFileError) as error:
        read_supporters(tmp_path / "data" / "supporters.csv")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'data' / 'supporters.csv'}: file not found;")
    assert "python -m provisioner.supporters.generate" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"id,first_name\nS1,Ann\n", re.escape(":1: missing column(s) last_name, phone,")),
        ("id;prénom\nS1;Hélène\n".encode("cp1252"), ":1: the header line holds bytes that"),
    ],
)
def test_unusable_file_is_a_file_error(tmp_path, content, expected):
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    with pytest.raises(SupporterFileError, match=expected):
        read_supporters(path)


def test_one_record_not_utf8_after_the_header_is_quarantined_alone(tmp_path):
    path = write_csv(tmp_path / "s.csv", [supporter()])
    path.write_bytes(path.read_bytes() + "S2,Hélène\n".encode("cp1252"))
    ingestion = read_supporters(path)
    assert [row.id for row in ingestion.rows] == ["S1"]
    [(line, reason, raw)] = [(q.line, q.reason, q.raw) for q in ingestion.quarantined]
    assert (line, raw) == (3, "S2,H\udce9l\udce8ne")
    assert "not UTF-8" in reason


def test_ledger_is_normalised_like_supporters(tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text("\ufeffcontact;added_at\n0470 12 34 56;2024-01-01\nAnn@Example.ORG;\n;\n")

    ledger = read_ledger(path)

    assert ledger.phones == {"+32470123456"}
    assert ledger.emails == {"ann@example.org"}


def test_unreadable_ledger_entry_stops_the_run_with_its_line(tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text("contact\n+32470123456\n12345\n")
    with pytest.raises(SupporterFileError, match=r"dnc.csv:3: phone '12345'"):
        read_ledger(path)
