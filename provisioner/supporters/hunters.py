"""Pledge hunters at deploy time: each nation's private `hunters.csv`, and public counts.

Reads the referral book (`data/referrals.db`, see intake/referrals.py) and the intake
store beside it once per deploy. Only confirmed submissions count (double opt-in):
a hunter is listed once their own volunteer sign-up is confirmed, and a pledge or
sign-up credited to them counts once it is confirmed. `hunters.csv` is private (it
names volunteers); the public nation page only gets a number ("déjà 52 promesses").
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.csvsafe import csv_bytes

COLUMNS = ("code", "volunteer", "pledges", "signups", "last_activity")
SIGNUP_KINDS = ("volunteer", "subscribe")


@dataclass
class HunterRow:
    code: str
    volunteer: str
    pledges: int = 0
    signups: int = 0
    last_activity: str = ""


class HunterSource:
    """Every nation's hunters, from a referral book and the intake store's submissions."""

    def __init__(self, hunters: Iterable[Any], credits: Iterable[Any], submissions: Iterable[Any]):
        confirmed = {s.id: s for s in submissions if s.state == "confirmed" or s.confirmed_at}
        self._rows: dict[str, list[HunterRow]] = defaultdict(list)
        by_code: dict[str, HunterRow] = {}
        for hunter in hunters:
            own = confirmed.get(hunter.submission_id)
            if own is None or own.state != "confirmed":  # unconfirmed or unsubscribed
                continue
            row = HunterRow(hunter.code, f"{own.first_name} {own.last_name}".strip())
            row.last_activity = hunter.created_at
            by_code[hunter.code] = row
            self._rows[hunter.nation].append(row)
        for credit in credits:
            hunted = by_code.get(credit.code)
            if hunted is None or credit.submission_id not in confirmed:
                continue
            if credit.kind == "pledge":
                hunted.pledges += 1
            elif credit.kind in SIGNUP_KINDS:
                hunted.signups += 1
            hunted.last_activity = max(hunted.last_activity, credit.at)

    def rows(self, slug: str) -> list[HunterRow]:
        """Most pledges first, then by code: stable bytes for the same input."""
        return sorted(self._rows.get(slug, []), key=lambda r: (-r.pledges, -r.signups, r.code))

    def public_counts(self, slug: str) -> dict[str, int]:
        """What the nation's public page may say: counts, never names or codes."""
        rows = self._rows.get(slug, [])
        return {
            "hunters": len(rows),
            "pledges": sum(r.pledges for r in rows),
            "signups": sum(r.signups for r in rows),
        }

    def digest(self, slug: str) -> str:
        """Part of the nation's fingerprint: a new credit rebuilds its list and page."""
        data = [r.__dict__ for r in self.rows(slug)]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def csv_bytes(self, slug: str) -> bytes:
        return hunters_csv(self.rows(slug))


def hunters_csv(rows: Iterable[HunterRow]) -> bytes:
    """`hunters.csv`, through the one safe CSV writer: a name typed into a form never
    becomes a spreadsheet formula."""
    lines = ((r.code, r.volunteer, str(r.pledges), str(r.signups), r.last_activity) for r in rows)
    data, _ = csv_bytes(COLUMNS, lines)
    return data


def read_hunters(store_path: Path | None) -> HunterSource | None:
    """From the intake store and the referral book beside it (`referrals.db`); None
    until both exist."""
    if store_path is None:
        return None
    book_path = store_path.parent / "referrals.db"
    if not (book_path.is_file() and store_path.is_file()):
        return None
    from provisioner.intake.referrals import ReferralBook  # only with intake
    from provisioner.intake.sqlite_store import SqliteStore

    book, store = ReferralBook(book_path), SqliteStore(store_path)
    try:
        return HunterSource(book.hunters(), book.credits(), store.submissions())
    finally:
        store.close()
        book.close()
