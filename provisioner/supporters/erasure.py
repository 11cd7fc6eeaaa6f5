"""Erasure (GDPR art. 17): a ledger of hashes, and scrubbing a person out of CSV files.

The erasure ledger (`erased.csv` beside the central export) holds one line per erased
contact point: `kind,sha256,erased_at`, where kind is `email`, `phone` or `id` and the
hash is taken over the normalised value. It holds no plain contact, so keeping it (as
we must, to keep the person out of every later export while the CRM still sends them)
does not keep the data we were asked to erase. A hash of an address can still be
confirmed by someone who already knows the address; that is what lets us honour it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..csvsafe import SafeCsvWriter
from .errors import SupporterFileError
from .normalize import normalize_email, normalize_phone
from .private import write_private_file
from .records import Supporter

KINDS = ("email", "phone", "id")
HEADER = ("kind", "sha256", "erased_at")
_SALT = "horizon-erasure-v1"  # versioned, so the scheme can change without confusion
_TOKEN_SEPARATORS = re.compile(r"[,;|\t]")  # a quarantined raw line holds whole records
_NON_DIGITS = re.compile(r"\D")


def normalize(kind: str, value: str) -> str:
    """The value as every export writes it; ValueError with a reason when it is not one."""
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value)
    if kind == "id":
        if not value.strip():
            raise ValueError("an empty id erases nobody")
        return value.strip()
    raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")


def erasure_hash(kind: str, normalized: str) -> str:
    return hashlib.sha256(f"{_SALT}:{kind}:{normalized}".encode()).hexdigest()


def read_erasures(path: Path | None) -> frozenset[str]:
    """Every hash of the ledger; an absent file is an empty ledger."""
    if path is None or not path.is_file():
        return frozenset()
    found = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if line == 1 and tuple(row) == HEADER:
                continue
            if len(row) < 2 or row[0] not in KINDS or not re.fullmatch(r"[0-9a-f]{64}", row[1]):
                raise SupporterFileError(
                    f"{path}:{line}: not an erasure entry (expected kind,sha256,erased_at); "
                    "restore the file from backup: skipping it could export an erased person"
                )
            found.add(row[1])
    return frozenset(found)


def append_erasure(path: Path, kind: str, normalized: str) -> bool:
    """Add the person to the ledger (0600, atomic); False when already there."""
    digest = erasure_hash(kind, normalized)
    if digest in read_erasures(path):
        return False
    old = path.read_bytes() if path.is_file() else ",".join(HEADER).encode() + b"\n"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_private_file(path, old + f"{kind},{digest},{stamp}\n".encode())
    return True


def is_erased(row: Supporter, erased: frozenset[str]) -> bool:
    """True when the supporter's id, email or phone is in the erasure ledger."""
    if not erased:
        return False
    pairs = (("id", row.id), ("email", row.email), ("phone", row.phone))
    return any(value and erasure_hash(kind, value) in erased for kind, value in pairs)


@dataclass(frozen=True)
class Person:
    """One erased contact point, normalised, to find in files written earlier."""

    kind: str
    value: str

    def matches(self, cell: str) -> bool:
        tokens = [cell, *_TOKEN_SEPARATORS.split(cell)] if cell else []
        return any(self._matches_token(token.strip()) for token in tokens)

    def _matches_token(self, token: str) -> bool:
        if not token:
            return False
        if self.kind == "id":
            return token == self.value
        if self.kind == "email":
            return token.lower() == self.value
        digits = _NON_DIGITS.sub("", self.value)[-7:]  # in any national or intl. form
        if digits not in _NON_DIGITS.sub("", token):
            return False  # cheap: only a cell holding the digits can be that number
        try:
            return normalize_phone(token) == self.value
        except ValueError:
            return False


def same_person(person: Person, rows: Iterable[Supporter]) -> list[Person]:
    """The person and every other contact point the export knows them by.

    Erasing an email must also erase the phone on the same record, or the phone-bank
    lists would keep the person.
    """
    found = {person}
    for row in rows:
        if getattr(row, person.kind) == person.value:
            pairs = (("id", row.id), ("email", row.email), ("phone", row.phone))
            found.update(Person(kind, value) for kind, value in pairs if value)
    return sorted(found, key=lambda p: (KINDS.index(p.kind), p.value))


def scrub_csv(data: bytes, people: Sequence[Person]) -> tuple[bytes, int]:
    """The CSV without any row naming any of `people`, and how many rows were removed."""
    text = data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    kept = [row for row in rows if not any(p.matches(c) for p in people for c in row)]
    removed = len(rows) - len(kept)
    if not removed:
        return data, 0
    return _write_rows(kept, _line_ending(text)), removed


def _line_ending(text: str) -> str:
    return "\r\n" if "\r\n" in text[:4096] else "\n"


def _write_rows(rows: list[list[str]], ending: str) -> bytes:
    """Through the safe writer: a cell with a carriage return must stay quoted."""
    buffer = io.StringIO()
    if rows:
        SafeCsvWriter(buffer, rows[0], lineterminator=ending).writerows(rows[1:])
    return buffer.getvalue().encode("utf-8")


def raw_is_erased(raw: str, erased: frozenset[str]) -> bool:
    """True when a raw record (a quarantined line) names an erased contact point."""
    if not erased:
        return False
    for token in (t.strip().strip('"') for t in _TOKEN_SEPARATORS.split(raw)):
        if not token:
            continue
        candidates = [("id", token)]
        if "@" in token:
            candidates.append(("email", token.lower()))
        elif sum(c.isdigit() for c in token) >= 8:
            with suppress(ValueError):  # not a phone number: the other kinds still count
                candidates.append(("phone", normalize_phone(token)))
        if any(erasure_hash(kind, value) in erased for kind, value in candidates):
            return True
    return False
