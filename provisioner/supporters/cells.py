"""CSV cells encoded a column at a time, exactly as `provisioner.csvsafe` writes them.

The safe writer decides per cell (neutralise a formula, quote a delimiter, a quote or a
newline) and per row (a carriage return anywhere quotes every cell of the row). Lists
are composed of rows encoded once (see `encoded.py`), so cells are encoded once too,
and a column at a time: one regex call proves that a chunk of a column needs nothing
(what almost every value of a real export is), and only a chunk that fails goes value
by value, through `neutralise` and the csv module itself, one call per distinct value.
`tests/test_supporters_compose.py` holds the result to `csv_bytes` on hostile values.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from ..csvsafe import neutralise

CHUNK = 4_096  # one odd value sends only its chunk down the slow path
# A value that a spreadsheet cannot run and that CSV writes as it is: empty, or a letter
# or digit first (no formula sign, no space in front of one), and nothing to quote.
_QUOTED = ('"', ",", "\r", "\x00")  # and a newline, counted apart
# In a phone column an E.164 number is kept as it is (csvsafe's one exception).
_E164_OR_EMPTY = re.compile(r"(?:\+[1-9][0-9]{6,14})?")
# A line (after a newline) that starts with anything but a letter, a digit or its end.
_ODD_START = re.compile(r"\n[^\w\n]|\n_")


def all_plain(values: Sequence[str], phone: bool = False) -> bool:
    """True when every value is written as it is (C-level scans, no call per value)."""
    if not values or (phone and all(map(_E164_OR_EMPTY.fullmatch, values))):
        return True
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or any(char in joined for char in _QUOTED):
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
