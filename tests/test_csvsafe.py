"""The safe CSV writer, attacked with formula shapes in every column type."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from csvscan import EMAILS, FORMULAS, PHONES, is_live, live_cells

from provisioner.csvsafe import SafeCsvWriter, csv_bytes, escape_controls, neutralise

HEADER = ("id", "first_name", "email", "phone", "tags")


def written(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> list[list[str]]:
    data, count = csv_bytes(header, rows)
    assert count == len(rows)
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("column", ["id", "first_name", "tags"])
@pytest.mark.parametrize("payload", FORMULAS)
def test_no_formula_survives_in_a_text_column(column: str, payload: str) -> None:
    row = {"id": "s1", "first_name": "Anne", "email": "", "phone": "", "tags": ""}
    row[column] = payload
    cells = written([tuple(row.values())])[1]
    cell = cells[HEADER.index(column)]
    assert cell == "'" + payload  # neutralised, and otherwise intact
    assert not is_live(cell, phone=False)
    assert cells[1 if column != "first_name" else 0] in {"Anne", "s1"}  # neighbours untouched


@pytest.mark.parametrize("payload", EMAILS + FORMULAS)
def test_no_formula_survives_in_an_email_column(payload: str) -> None:
    cell = written([("s1", "Anne", payload, "", "")])[1][2]
    assert cell == "'" + payload
    assert not is_live(cell, phone=False)


@pytest.mark.parametrize("payload", PHONES + FORMULAS)
def test_a_phone_column_keeps_only_e164_as_it_is(payload: str) -> None:
    cell = written([("s1", "Anne", "", payload, "")])[1][3]
    assert cell == "'" + payload
    assert not is_live(cell, phone=True)


@pytest.mark.parametrize("phone", ["+32470123456", "+3221234567", "+33612345678", "+14155550123"])
def test_e164_numbers_reach_the_dialer_unchanged(phone: str) -> None:
    assert written([("s1", "Anne", "", phone, "")])[1][3] == phone


def test_e164_outside_a_phone_column_is_neutralised() -> None:
    assert written([("+32470123456", "+32470123456", "", "", "")])[1][:2] == [
        "'+32470123456",
        "'+32470123456",
    ]


def test_phone_columns_can_be_named_explicitly() -> None:
    data, _ = csv_bytes(("line", "raw"), [("3", "+32470123456")], phone_columns=())
    assert data.decode().splitlines()[1] == "3,'+32470123456"


def test_clean_rows_are_written_byte_for_byte() -> None:
    rows = [("s1", "Zoë", "a-b@x.be", "+32470123456", "jeunes,a-b"), ("s2", "", "", "", "")]
    data, count = csv_bytes(HEADER, rows)
    assert count == 2
    assert data == ("id,first_name,email,phone,tags\n" + "s1,Zoë,a-b@x.be,+32470123456,"
                    '"jeunes,a-b"\ns2,,,,\n').encode()  # fmt: skip


def test_harmless_lookalikes_are_left_alone() -> None:
    for cell in ("a=b", "Jean-Marie", "x@y.be", "'quoted", "1+1", "", " ", "-"):
        expected = "'-" if cell == "-" else cell
        assert neutralise(cell) == expected


def test_a_hostile_header_is_neutralised_too() -> None:
    buffer = io.StringIO()
    SafeCsvWriter(buffer, ("=evil", "ok")).writerow(("a", "b"))
    assert buffer.getvalue() == "'=evil,ok\na,b\n"


def test_the_scan_finds_what_a_plain_writer_would_leave(tmp_path: Path) -> None:
    # The oracle itself must fail on an unprotected file, or the e2e scan proves nothing.
    path = tmp_path / "plain.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, ("s1", "=1+1", "+x@y.be", "+32470123456", "")])
    assert live_cells(path) == [(2, "first_name", "=1+1"), (2, "email", "+x@y.be")]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain, é", "plain, é"),
        ("a\x00b", "a\\x00b"),
        ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ("rtl\u202eevil\u200b", "rtl\\u202eevil\\u200b"),
        ("byte \udce9", "byte \\xe9"),
        ("back\\x00slash", "back\\\\x00slash"),
    ],
)
def test_escape_controls_leaves_no_invisible_character(raw: str, escaped: str) -> None:
    assert escape_controls(raw) == escaped
    assert escape_controls(raw).isprintable()


@pytest.mark.parametrize("column", [1, 2, 3])
def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row(column: int) -> None:
    # csv.writer leaves a bare CR unquoted when lines end with LF: a spreadsheet would
    # then begin a new row with "=1+1" in its first cell.
    row = ["s1", "Anne", "", "", "tag"]
    row[column] = "x\r=1+1"
    lines = written([tuple(row)])
    assert len(lines) == 2
    assert lines[1][column] == "x\r=1+1"
