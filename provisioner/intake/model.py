"""The records intake keeps: a submission, its consent proof, and counts.

Supporter data (GDPR art. 9): these objects never go into logs or public files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["pledge", "volunteer", "subscribe"]
KINDS: tuple[Kind, ...] = ("pledge", "volunteer", "subscribe")
State = Literal["pending", "confirmed", "unsubscribed"]
STATES: tuple[State, ...] = ("pending", "confirmed", "unsubscribed")
CHANNELS: tuple[str, ...] = ("email", "phone", "sms")
# The supporter level each form gives (the ladder of provisioner.supporters.records).
LEVEL_OF_KIND: dict[str, str] = {
    "subscribe": "subscriber",
    "pledge": "pledge",
    "volunteer": "volunteer",
}


@dataclass(frozen=True)
class ConsentProof:
    """What one person agreed to, for one channel (GDPR art. 7: be able to prove it).

    `wording` is the exact text shown next to the checkbox, `privacy_version` the
    SHA-256 of the privacy notice page in that language, `page` where it was given
    (`site:<slug>/<page id>`), `at` the UTC time (ISO 8601).
    """

    channel: str
    wording: str
    privacy_version: str
    page: str
    at: str


@dataclass(frozen=True)
class Submission:
    """One accepted form submission, normalised by the same rules as ingestion.

    `nation` is the site the form was on; `routed_to` the nation whose geography
    covers the postcode (the network's root when none does): the supporter lists of
    `routed_to` get the person. `tags` are the ways offered to help and availability
    (volunteer form) plus `reminder` (pledge form). `client_hash` is an HMAC of the
    client address, never the address itself. Timestamps are UTC ISO 8601.
    """

    id: str
    kind: Kind
    nation: str
    routed_to: str
    lang: str
    source: str  # site:<slug>/<page id>
    first_name: str
    last_name: str
    email: str
    phone: str  # E.164 or ""
    postcode: str
    tags: tuple[str, ...]
    message: str
    consents: tuple[ConsentProof, ...]
    client_hash: str
    created_at: str
    state: State = "pending"
    confirmed_at: str = ""
    unsubscribed_at: str = ""

    def consent(self, channel: str) -> ConsentProof | None:
        return next((c for c in self.consents if c.channel == channel), None)


@dataclass(frozen=True)
class Tokens:
    """SHA-256 hashes of the two tokens mailed to the person (the tokens themselves are
    never stored, so a copy of the store cannot confirm or unsubscribe anyone)."""

    confirm_hash: str
    unsubscribe_hash: str
    confirm_expires_at: str  # UTC ISO 8601


@dataclass(frozen=True)
class TokenResult:
    """What confirm/unsubscribe found: enough to redirect to the right page."""

    submission_id: str
    nation: str
    lang: str
    kind: Kind
    state: State


@dataclass(frozen=True)
class StatRow:
    """How many submissions of one kind are in one state for one nation."""

    nation: str
    kind: Kind
    state: State
    count: int

    def as_json(self) -> dict[str, object]:
        return {"nation": self.nation, "kind": self.kind, "state": self.state, "count": self.count}


@dataclass(frozen=True)
class DoNotContact:
    """Contact points whose owner unsubscribed: never exported again."""

    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)
