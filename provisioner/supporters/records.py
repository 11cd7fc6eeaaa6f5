"""The supporter record and the columns of the central export.

A nation's `supporters.csv` uses the same columns as the central export, so any
export can be read back with `read_supporters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# Engagement ladder, lowest commitment first; segment rules compare ranks.
LEVELS: tuple[str, ...] = ("subscriber", "supporter", "pledge", "volunteer", "member", "donor")
LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}

CHANNELS: tuple[str, ...] = ("email", "phone", "sms")

COLUMNS: tuple[str, ...] = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "postcode",
    "language",
    "level",
    "tags",
    *(f"{channel}_consent{suffix}" for channel in CHANNELS for suffix in ("", "_date", "_source")),
    "created_at",
)

LANGUAGES: frozenset[str] = frozenset({"fr", "nl", "de"})

# Tags are written comma-joined everywhere (CallHub reads a comma-separated tags cell);
# `|` is also accepted on input because some CRMs export it.
TAG_SEPARATOR = ","


class Consent(NamedTuple):
    """Proof of a consent that was given: when and through what."""

    date: str
    source: str


class Supporter(NamedTuple):
    """One validated, normalised supporter. Consent is None when not given."""

    id: str
    first_name: str
    last_name: str
    phone: str  # E.164 or ""
    email: str  # lower-case or ""
    postcode: str
    language: str
    level: str
    tags: tuple[str, ...]
    email_consent: Consent | None
    phone_consent: Consent | None
    sms_consent: Consent | None
    created_at: str


def is_mobile(phone: str) -> bool:
    """True for a Belgian mobile number in E.164 (+324xxxxxxxx), the only ones that get SMS."""
    return len(phone) == 12 and phone.startswith("+324")


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
