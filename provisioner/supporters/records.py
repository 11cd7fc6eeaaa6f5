"""The supporter record and the columns of the central export.

A nation's `supporters.csv` uses the same columns as the central export, so any
export can be read back with `read_supporters`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import or_
from typing import NamedTuple

from .normalize import is_mobile_number

# Engagement ladder, lowest commitment first; segment rules compare ranks.
LEVELS: tuple[str, ...] = ("subscriber", "supporter", "pledge", "volunteer", "member", "donor")
LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}

CHANNELS: tuple[str, ...] = ("email", "phone", "sms")


# Tags are written comma-joined everywhere (CallHub reads a comma-separated tags cell);
# `|` is also accepted on input because some CRMs export it.
TAG_SEPARATOR = ","


class Supporter(NamedTuple):
    """One validated, normalised supporter; its fields are the columns of the export.

    `<channel>_consent` is True when consent was given; its `_date` and `_source`
    say when and through what (for a refusal they may be empty).
    """

    id: str
    first_name: str
    last_name: str
    phone: str  # E.164 or ""
    email: str  # lower-case or ""
    postcode: str
    language: str
    level: str
    tags: tuple[str, ...]
    email_consent: bool
    email_consent_date: str
    email_consent_source: str
    phone_consent: bool
    phone_consent_date: str
    phone_consent_source: str
    sms_consent: bool
    sms_consent_date: str
    sms_consent_source: str
    created_at: str
    area: str = ""  # an area code of the network's geography, or "" (optional column)


COLUMNS: tuple[str, ...] = Supporter._fields
OPTIONAL_COLUMNS: tuple[str, ...] = ("area",)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)


def is_mobile(phone: str) -> bool:
    """True for a mobile number in E.164 (any country), the only ones that get SMS."""
    return is_mobile_number(phone)


@dataclass(frozen=True)
class Ledger:
    """Do-not-contact ledger: normalised phones and emails that are never exported."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.phones) + len(self.emails)

    def blocks(self, supporter: Supporter) -> bool:
        """True when any contact point of the supporter is in the ledger."""
        return supporter.phone in self.phones or supporter.email in self.emails

    def blocked(self, phones: Iterable[str], emails: Iterable[str]) -> bytes:
        """`blocks` for rows given as columns: one byte per row, 1 when blocked (C maps)."""
        on_phones = map(self.phones.__contains__, phones)
        return bytes(map(or_, on_phones, map(self.emails.__contains__, emails)))
