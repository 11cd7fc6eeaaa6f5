"""The Store protocol: where submissions live (SQLite for serve, DynamoDB in the cloud).

Contract shared by every implementation (tests/test_intake_store.py runs against each):
- `add` returns only once the submission is durably committed: the caller sends its
  303 after it, so an acknowledged submission is never lost.
- Tokens are looked up by their SHA-256 (`tokens.token_hash`); a confirm token works
  once and not after `confirm_expires_at`; an unsubscribe token works any number of
  times (unsubscribing twice is still unsubscribed) and never expires.
- `unsubscribe` records the person's email and phone as do-not-contact in the same
  write, at once, so no later export can contain them.
- Reads (`submissions`, `do_not_contact`, `stats`) are consistent snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from provisioner.intake.model import (
    DoNotContact,
    State,
    StatRow,
    Submission,
    TokenResult,
    Tokens,
)


class Store(Protocol):
    """Intake's storage. Implementations are safe to call from many threads."""

    def add(self, submission: Submission, tokens: Tokens) -> None:
        """Store a new pending submission; returns once it is durably committed."""
        ...

    def confirm(self, confirm_hash: str, now: str) -> TokenResult | None:
        """Confirm the submission of this token (single use, before it expires).

        None when the token is unknown, used or expired. `now` is UTC ISO 8601.
        """
        ...

    def unsubscribe(self, unsubscribe_hash: str, now: str) -> TokenResult | None:
        """Mark the submission unsubscribed and its email/phone do-not-contact.

        None when the token is unknown.
        """
        ...

    def submissions(self, state: State | None = None) -> Iterator[Submission]:
        """Every submission (in `state` when given), oldest first.

        `submissions("confirmed")` is what the deploy merges into the supporter lists.
        """
        ...

    def do_not_contact(self) -> DoNotContact:
        """Every email and phone written by an unsubscribe."""
        ...

    def stats(self) -> list[StatRow]:
        """Counts per nation, kind and state, sorted by nation, kind, state."""
        ...

    def revision(self) -> str:
        """Changes whenever confirmed submissions or do-not-contact entries change:
        part of the deploy's fingerprint, so a redeploy notices new supporters."""
        ...

    def erase(self, email: str = "", phone: str = "") -> int:
        """Delete every submission with this email or phone (GDPR art. 17); the count.

        Do-not-contact entries stay: erasing someone must not make them contactable.
        """
        ...

    def absorb(self, submissions: Iterable[Submission], do_not_contact: DoNotContact) -> int:
        """Copy submissions from another store (`intake pull`): insert new ones, update
        known ones whose state moved on (pending < confirmed < unsubscribed), and add
        the do-not-contact entries. Returns how many submissions changed.

        Absorbed submissions carry no tokens: their links belong to the other store.
        """
        ...

    def close(self) -> None: ...
