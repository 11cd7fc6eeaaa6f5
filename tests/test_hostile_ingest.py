"""Ingestion as an attacker (or an unlucky export) tests it: exact, forgiving, never fooled.

One byte that is not UTF-8 costs its record only, found at its exact line; a file
saved in another encoding is refused whole; a broken record never takes an id from a
valid one; invisible and direction-changing characters never enter a name; and the
quarantine file, which ops open to see what went wrong, is itself harmless.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from csvscan import FORMULAS, is_live

from provisioner.supporters import (
    COLUMNS,
    SupporterFileError,
    read_ledger,
    read_supporters,
    render_quarantine,
)
from provisioner.supporters.ingest import CHUNK_ROWS


def row(number: int, **overrides: str) -> str:
    values = dict.fromkeys(COLUMNS, "")
    values.update(
        id=f"S{number}", first_name="Hélène", last_name="Dupont", postcode="4000",
        language="fr", level="supporter", email=f"h{number}@example.org",
        email_consent="yes", email_consent_date="2024-03-01",
        email_consent_source="website-form", created_at="2024-02-28",
    )  # fmt: skip
    values.update(overrides)
    return ",".join(values[c] for c in COLUMNS)


def export(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join([",".join(COLUMNS).encode(), *lines]) + b"\n")
    return path


def lines_of(count: int) -> list[bytes]:
    return [row(n).encode() for n in range(1, count + 1)]


def cp1252_row(number: int) -> bytes:
    return row(number).encode("cp1252")  # "Hélène" as Excel's "CSV" would save it


@pytest.mark.parametrize("line", [2, 3, CHUNK_ROWS, CHUNK_ROWS + 1, CHUNK_ROWS + 2, 41_234, 60_001])
def test_one_byte_at_a_known_line_of_a_large_file_costs_that_record_only(
    tmp_path: Path, line: int
) -> None:
    lines = lines_of(60_000)
    lines[line - 2] = cp1252_row(line - 1)  # file line N holds record N - 1
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert len(ingestion.rows) == 59_999
    [bad] = ingestion.quarantined
    assert bad.line == line
    assert "not UTF-8" in bad.reason and "CSV UTF-8" in bad.reason
    assert bad.raw.startswith(f"S{line - 1},H\udce9l\udce8ne,")
    assert f"S{line - 1}" not in {r.id for r in ingestion.rows}


def test_bytes_after_multiline_fields_and_across_chunks_keep_exact_lines(tmp_path: Path) -> None:
    lines = lines_of(9_000)
    lines[10] = row(11, tags='"a,\nb"').encode()  # one valid record on two lines
    bad_records = {5, 2_500, 4_001, 8_999}
    for number in bad_records:
        lines[number - 1] = cp1252_row(number)
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    by_id = {q.raw.split(",")[0]: q.line for q in ingestion.quarantined}
    # Records after the two-line record sit one line further down.
    expected = {f"S{n}": n + 1 + (n > 11) for n in bad_records}
    assert by_id == expected
    assert len(ingestion.rows) == 9_000 - len(bad_records)


def test_a_file_saved_in_another_encoding_is_refused_whole(tmp_path: Path) -> None:
    lines = [cp1252_row(n) if n % 3 == 0 else row(n).encode() for n in range(1, 301)]
    with pytest.raises(SupporterFileError) as error:
        read_supporters(export(tmp_path / "s.csv", lines))
    message = str(error.value)
    assert "100 of 300 records hold bytes that are not UTF-8 (the first at line 4)" in message
    assert "Save it again as 'CSV UTF-8'" in message


def test_the_share_that_refuses_a_file_is_above_one_percent(tmp_path: Path) -> None:
    lines = lines_of(1_000)
    for number in range(1, 11):  # 10 records of 1,000: 1%, quarantined
        lines[number * 90] = cp1252_row(number * 90 + 1)
    assert len(read_supporters(export(tmp_path / "ok.csv", lines)).quarantined) == 10
    lines[5] = cp1252_row(6)  # 11 of 1,000: refused
    with pytest.raises(SupporterFileError, match="11 of 1,000 records"):
        read_supporters(export(tmp_path / "refused.csv", lines))


def test_not_utf8_records_are_found_when_the_parser_must_go_record_by_record(
    tmp_path: Path,
) -> None:
    lines = lines_of(3_000)
    lines[100] = cp1252_row(101)
    lines[2_000] = row(2001, last_name="x" * 200_000).encode()  # over the csv field limit
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [(q.line, q.reason[:20]) for q in ingestion.quarantined] == [
        (102, "the record holds byt"),
        (2002, "unreadable CSV recor"),
    ]
    assert len(ingestion.rows) == 2_998


def test_a_broken_record_never_takes_an_id_from_a_valid_one(tmp_path: Path) -> None:
    lines = [
        row(1, postcode="x").encode(),  # broken, id S1
        row(1).encode(),  # valid, id S1: kept
        cp1252_row(2),  # not UTF-8, id S2
        row(2).encode(),  # valid: kept
        row(3).encode(),
        row(3, first_name="Ann").encode(),  # a real duplicate of a valid record
    ]
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [r.id for r in ingestion.rows] == ["S1", "S2", "S3"]
    assert [(q.line, q.reason[:21]) for q in ingestion.quarantined] == [
        (2, "postcode 'x' is not a"),
        (4, "the record holds byte"),
        (7, "duplicate id 'S3' (an"),
    ]


def test_a_broken_record_in_an_earlier_chunk_frees_its_id(tmp_path: Path) -> None:
    lines = lines_of(CHUNK_ROWS + 10)
    lines[0] = row(1, level="vip").encode()
    lines[CHUNK_ROWS + 5] = row(1).encode()  # S1 again, valid, in the next chunk
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [q.line for q in ingestion.quarantined] == [2]
    assert "S1" in {r.id for r in ingestion.rows}


def test_ids_are_compared_trimmed_and_with_their_case(tmp_path: Path) -> None:
    lines = [row(1).encode(), row(1, id=" S1 ").encode(), row(1, id="s1").encode()]
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [r.id for r in ingestion.rows] == ["S1", "s1"]  # CRM ids are case-sensitive
    assert [(q.line, q.reason) for q in ingestion.quarantined] == [
        (3, "duplicate id 'S1' (an earlier line has it)")
    ]


INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "pop directional formatting": "\u202c",
    "right-to-left isolate": "\u2067",
    "pop directional isolate": "\u2069",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "arabic letter mark": "\u061c",
    "soft hyphen": "\u00ad",
}


@pytest.mark.parametrize("column", ["first_name", "last_name", "id", "email_consent_source"])
@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_and_direction_changing_characters_are_refused(
    tmp_path: Path, column: str, char: str
) -> None:
    value = {"id": "S9", "first_name": "Anne", "last_name": "Dupont"}.get(column, "form")
    lines = [row(1).encode(), row(2, **{column: value[:1] + char + value[1:]}).encode()]
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [r.id for r in ingestion.rows] == ["S1"]
    [bad] = ingestion.quarantined
    assert bad.line == 3
    assert f"U+{ord(char):04X}" in bad.reason


def test_accents_and_other_scripts_stay_welcome(tmp_path: Path) -> None:
    names = ["Zoë", "Çağla", "Ólafur", "Łukasz", "Nguyễn", "Σοφία", "Дарья", "محمد", "李"]
    lines = [row(n, first_name=name).encode() for n, name in enumerate(names, start=1)]
    ingestion = read_supporters(export(tmp_path / "s.csv", lines))
    assert [r.first_name for r in ingestion.rows] == names


def test_the_quarantine_file_is_harmless_to_open(tmp_path: Path) -> None:
    hostile = [
        cp1252_row(1),
        row(2, first_name='=HYPERLINK("http://evil.example","x")').encode(),
        row(3, last_name="Du\u202epont").encode(),
        row(4, postcode="\x07").encode(),
        row(5, level='"vip\r\n=1+1"').encode(),
        b"S6,\x00,=1+1",
        row(7, tags="=cmd|' /C calc'!A0").encode(),
        *(row(n, first_name=f) for n, f in enumerate(FORMULAS, start=10)),
    ]
    lines = [line if isinstance(line, bytes) else line.encode() for line in hostile]
    ingestion = read_supporters(export(tmp_path / "s.csv", [*lines_of(0), *lines]))
    data = render_quarantine(ingestion.quarantined).decode("utf-8")  # strict: all UTF-8
    records = list(csv.reader(io.StringIO(data, newline="")))
    assert records[0] == ["line", "reason", "raw"]
    assert len(records) == 1 + len(ingestion.quarantined) >= 1 + 7
    for record in records:
        for cell in record:
            assert cell.isprintable(), repr(cell)  # no control, invisible or broken byte
            assert not is_live(cell, phone=False), repr(cell)
    raws = {int(r[0]): r[2] for r in records[1:]}
    assert raws[2].startswith("S1,H\\xe9l\\xe8ne,")  # the real bytes, escaped
    assert "Du\\u202epont" in raws[4]


def test_a_ledger_line_that_is_not_utf8_stops_the_run_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_bytes(b"contact\n+32470123456\nh\xe9l\xe8ne@example.org\n")
    with pytest.raises(SupporterFileError, match=r"dnc.csv:3: the record holds bytes"):
        read_ledger(path)
