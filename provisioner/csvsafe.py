"""The one CSV writer for every CSV the tool writes: no cell runs as a formula.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and
tab or carriage return let such a cell hide behind whitespace), so staff opening a
list would run whatever a supporter typed into a form (CSV injection). Following
OWASP's advice, such a cell is written with a single quote in front of it, which
spreadsheets show as text. Leading spaces are looked through (some importers trim
them) and the full-width forms of the four signs count as the signs themselves.

One exception: an E.164 phone number (`+` then digits only) in a phone column is
written as it is, because dialers need it so. Everything else, phone columns
included, is neutralised.

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = SafeCsvWriter(handle, ("id", "phone", "email"))
        writer.writerows(rows)

    data, count = csv_bytes(("id", "phone"), rows)     # UTF-8 bytes and the row count
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import itemgetter
from typing import Any, TextIO

# Header names that hold phone numbers in the files we write (our lists, CallHub's
# `contact` and `mobile`, Spoke's `cell`, ThruTalk's `phone_number`).
PHONE_COLUMNS: frozenset[str] = frozenset({"phone", "mobile", "contact", "cell", "phone_number"})

# First characters that make a spreadsheet evaluate the cell, after optional spaces.
_DANGER = "=+\\-@\t\r\uff1d\uff0b\uff0d\uff20"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SEP = "\x00"  # joins a row's cells for one regex call; a NUL only makes a false alarm
# A carriage return anywhere also counts: csv.writer does not quote it when lines end
# with "\n", and a spreadsheet then starts a new row (and a new cell) after it.
_ROW_DANGER = re.compile(f"(?:^|{_SEP})[ \u00a0]*[{_DANGER}]|\r")
_CELL_DANGER = re.compile(f"[ \u00a0]*[{_DANGER}]")


def neutralise(cell: str, phone: bool = False) -> str:
    """`cell` as a spreadsheet will show it as text (a quote in front when needed)."""
    if not _CELL_DANGER.match(cell):
        return cell
    if phone and _E164.fullmatch(cell):
        return cell
    return "'" + cell


def escape_controls(value: str) -> str:
    """`value` with every invisible or control character written as an escape.

    For files people read to see what went wrong (the quarantine): backslashes are
    doubled, so the escapes are unambiguous; control, format (zero-width, bidi) and
    separator characters become `\\xNN` / `\\uNNNN`; bytes that were not UTF-8 (kept
    as lone surrogates by the `surrogateescape` decoder) become `\\xNN` of the byte.
    """
    if value.isprintable() and "\\" not in value:
        return value
    return "".join(map(_escape_char, value))


def _escape_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable() or char == " ":
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_dangerous(cell: str, phone: bool = False) -> bool:
    """True when a spreadsheet would run `cell` as a formula."""
    return neutralise(cell, phone) != cell


class SafeCsvWriter:
    """csv.writer that writes the header, then rows, every cell neutralised.

    `phone_columns` names the columns where an E.164 number is kept as it is; by
    default the usual phone headers (PHONE_COLUMNS). Cells must be strings.
    """

    def __init__(
        self,
        handle: TextIO,
        header: Sequence[str],
        phone_columns: Collection[str] | None = None,
        delimiter: str = ",",
        lineterminator: str = "\n",
    ) -> None:
        phones = PHONE_COLUMNS if phone_columns is None else frozenset(phone_columns)
        self._phone = [name in phones for name in header]
        self._writer = csv.writer(handle, delimiter=delimiter, lineterminator=lineterminator)
        # For the rare row with a carriage return in a cell: quoted, it stays in its cell.
        self._quoted = csv.writer(
            handle, delimiter=delimiter, lineterminator=lineterminator, quoting=csv.QUOTE_ALL
        )
        plain = [i for i, phone in enumerate(self._phone) if not phone]
        self._plain: Callable[[Sequence[str]], Any] | None = itemgetter(*plain) if plain else None
        self._phone_positions = [i for i, phone in enumerate(self._phone) if phone]
        self._write_neutralised(header, [False] * len(header))

    def writerow(self, row: Sequence[str]) -> None:
        """Write one row, neutralising any cell a spreadsheet would run."""
        if self._is_clean(row):
            self._writer.writerow(row)
        else:
            self._write_neutralised(row, self._phone)

    def writerows(self, rows: Iterable[Sequence[str]]) -> int:
        """Write every row; return how many were written."""
        count = 0
        write, clean, writerow = self._writer.writerow, self._is_clean, self.writerow
        for count, row in enumerate(rows, start=1):  # noqa: B007 (count is read after)
            if clean(row):
                write(row)
            else:
                writerow(row)
        return count

    def _write_neutralised(self, row: Sequence[str], phones: Sequence[bool]) -> None:
        cells = [neutralise(cell, phone) for cell, phone in zip(row, phones, strict=True)]
        writer = self._quoted if any("\r" in cell for cell in cells) else self._writer
        writer.writerow(cells)

    def _is_clean(self, row: Sequence[str]) -> bool:
        """One regex call over the row's plain cells (C speed); phone cells are few."""
        plain = self._plain(row) if self._plain else ()
        joined = plain if isinstance(plain, str) else _SEP.join(plain)
        return not _ROW_DANGER.search(joined) and all(
            neutralise(row[i], phone=True) is row[i] and "\r" not in row[i]
            for i in self._phone_positions
        )


def csv_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    phone_columns: Collection[str] | None = None,
) -> tuple[bytes, int]:
    """CSV bytes (UTF-8, comma, LF) of `header` and `rows`, and the number of rows."""
    # Encode as we go: a StringIO of accented names would hold the whole file as UCS-2
    # (twice its UTF-8 size) before encoding, for the HQ's million rows that is ~0.5 GB.
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
    count = SafeCsvWriter(text, header, phone_columns).writerows(rows)
    text.flush()
    data = raw.getvalue()
    text.detach()
    return data, count


# Columns at a time: the same cells as the writer above, for lists composed of rows
# encoded once (supporters/encoded.py). One regex call proves that a chunk of a column
# needs nothing (what almost every value of a real export is); only a chunk that fails
# goes value by value, through `neutralise` and the csv module, once per distinct value.
# A carriage return anywhere in a row quotes every cell of it, as in `csv_bytes`.
# tests/test_supporters_compose.py holds these to `csv_bytes` on hostile values.
CHUNK = 4_096  # one odd value sends only its chunk down the slow path
# A value that a spreadsheet cannot run and that CSV writes as it is: empty, or a letter
# or digit first (no formula sign, no space in front of one), and nothing to quote.
_QUOTED = ('"', ",", "\r", "\x00")  # and a newline, counted apart
# In a phone column an E.164 number is kept as it is (csvsafe's one exception).
# Matched against the whole column joined with newlines (one C call, no call per value).
_E164_OR_EMPTY_LINES = re.compile(r"(?:(?:\+[1-9][0-9]{6,14})?\n)*+")
# A line (after a newline) that starts with anything but a letter, a digit or its end.
_ODD_START = re.compile(r"\n[^\w\n]|\n_")


def all_plain(values: Sequence[str], phone: bool = False) -> bool:
    """True when every value is written as it is (C-level scans, no call per value)."""
    if not values:
        return True
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1:  # a value holds a newline
        return False
    if phone and _E164_OR_EMPTY_LINES.fullmatch(joined + "\n"):
        return True
    if any(char in joined for char in _QUOTED):
        return False
    return _ODD_START.search("\n" + joined) is None


def exact_cell(value: str, phone: bool = False, quote_all: bool = False) -> str:
    """`value` as the safe writer writes it in a row (`quote_all`: a row with a CR)."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow((neutralise(value, phone), ""))  # alone, an empty cell is written `""`
    return buffer.getvalue()[: -len(',""\n') if quote_all else -len(",\n")]


class _Cells(dict[str, str]):
    """Encoded cell by value; a value is encoded once however many rows hold it."""

    def __init__(self, phone: bool, quote_all: bool = False) -> None:
        super().__init__()
        self._phone, self._quote_all = phone, quote_all

    def __missing__(self, value: str) -> str:
        if not self._quote_all and all_plain((value,), self._phone):
            cell = value
        else:
            cell = exact_cell(value, self._phone, self._quote_all)
        self[value] = cell
        return cell


def encode_column(values: Sequence[str], phone: bool = False) -> Sequence[str]:
    """The cells of `values` in a row without a carriage return (see `rows_with_cr`)."""
    if all_plain(values, phone):
        return values
    cells = _Cells(phone)
    encoded: list[str] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        encoded.extend(chunk if all_plain(chunk, phone) else map(cells.__getitem__, chunk))
    return encoded


def quoted_cells(values: Sequence[str], phones: Sequence[bool]) -> list[str]:
    """The cells of one row that holds a carriage return: every cell quoted."""
    return [
        exact_cell(value, phone, quote_all=True)
        for value, phone in zip(values, phones, strict=True)
    ]


def rows_with_cr(columns: Sequence[Sequence[str]]) -> set[int]:
    """Indexes of the rows with a carriage return in any of `columns` (rare: ingestion
    refuses control characters; web sign-ups and tags are not all checked the same way)."""
    found: set[int] = set()
    for column in columns:
        for start in range(0, len(column), CHUNK):
            chunk = column[start : start + CHUNK]
            if "\r" in "".join(chunk):
                found.update(start + i for i, value in enumerate(chunk) if "\r" in value)
    return found
