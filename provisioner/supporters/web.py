"""Supporters who signed up on a nation's site (intake), reconciled with the central export.

- One person, one supporter: confirmed submissions with the same email (or, without
  one, the same phone) become one row; the highest level wins (subscriber < pledge <
  volunteer), tags are merged, the newest name and postcode win.
- Each consent keeps its proof: the date it was confirmed and its source,
  `site:<slug>/<page>` (the form it was given on).
- A central row with the same email or phone is the same person: the two are merged
  into one row under the central id, and per channel the newer consent (or refusal)
  wins, so a person who just signed on the site is reachable even if the CRM's export
  is older.
- Intake's unsubscribes join the do-not-contact ledger, so every export drops them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.intake.model import LEVEL_OF_KIND, DoNotContact, Submission
from provisioner.intake.sqlite_store import read_snapshot

from .exports import render_exports
from .ingest import read_ledger
from .records import CHANNELS, LEVEL_RANK, Ledger, Supporter

ID_PREFIX = "web-"


@dataclass(frozen=True)
class _Consent:
    given: bool
    date: str
    source: str


def from_submissions(submissions: Iterable[Submission]) -> list[Supporter]:
    """Confirmed submissions as supporters, one per person, sorted by id."""
    people: dict[str, list[Submission]] = {}
    for submission in submissions:
        key = submission.email or submission.phone
        if key:
            people.setdefault(key, []).append(submission)
    rows = [_person(key, sorted(subs, key=_when)) for key, subs in people.items()]
    return sorted(rows, key=lambda r: r.id)


def _when(submission: Submission) -> str:
    return submission.confirmed_at or submission.created_at


def _person(key: str, subs: Sequence[Submission]) -> Supporter:
    latest = subs[-1]
    level = max((LEVEL_OF_KIND[s.kind] for s in subs), key=LEVEL_RANK.__getitem__)
    tags = tuple(dict.fromkeys(tag for s in subs for tag in s.tags))
    consents = {channel: _consent(channel, subs) for channel in CHANNELS}
    return Supporter(
        id=ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16],
        first_name=latest.first_name or next((s.first_name for s in subs if s.first_name), ""),
        last_name=latest.last_name or next((s.last_name for s in subs if s.last_name), ""),
        phone=next((s.phone for s in reversed(subs) if s.phone), ""),
        email=latest.email,
        postcode=latest.postcode,
        language=latest.lang,
        level=level,
        tags=tags,
        **_consent_fields(consents),
        created_at=subs[0].created_at[:10],
    )


def _consent(channel: str, subs: Sequence[Submission]) -> _Consent:
    """The newest proof for `channel`; email consent is proven by the confirm link."""
    for s in reversed(subs):
        proof = s.consent(channel)
        if proof is not None:
            return _Consent(True, _when(s)[:10], proof.page)
    return _Consent(False, "", "")


def _consent_fields(consents: dict[str, _Consent]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for channel, consent in consents.items():
        fields[f"{channel}_consent"] = consent.given
        fields[f"{channel}_consent_date"] = consent.date
        fields[f"{channel}_consent_source"] = consent.source
    return fields


def reconcile(central: Iterable[Supporter], web: Sequence[Supporter]) -> list[Supporter]:
    """The central rows with web sign-ups merged in (same email or phone: one person),
    then the web sign-ups that matched nobody."""
    if not web:
        return list(central)
    by_email = {row.email: row for row in web if row.email}
    by_phone = {row.phone: row for row in web if row.phone}
    merged_ids: set[str] = set()
    rows: list[Supporter] = []
    for row in central:
        match = by_email.get(row.email) if row.email else None
        if match is None and row.phone:
            match = by_phone.get(row.phone)
        if match is None or match.id in merged_ids:
            rows.append(row)
            continue
        merged_ids.add(match.id)
        rows.append(_merge(row, match))
    rows.extend(row for row in web if row.id not in merged_ids)
    return rows


def _merge(central: Supporter, web: Supporter) -> Supporter:
    level = max(central.level, web.level, key=LEVEL_RANK.__getitem__)
    fields: dict[str, Any] = {}
    for channel in CHANNELS:
        newer = web if _date(web, channel) >= _date(central, channel) else central
        for suffix in ("", "_date", "_source"):
            name = f"{channel}_consent{suffix}"
            fields[name] = getattr(newer, name)
    return central._replace(
        first_name=web.first_name or central.first_name,
        last_name=web.last_name or central.last_name,
        email=web.email or central.email,
        phone=web.phone or central.phone,
        postcode=web.postcode or central.postcode,
        language=web.language,
        level=level,
        tags=tuple(dict.fromkeys((*central.tags, *web.tags))),
        **fields,
    )


def _date(row: Supporter, channel: str) -> str:
    return str(getattr(row, f"{channel}_consent_date")) or "0000-00-00"


def with_unsubscribes(ledger: Ledger, unsubscribed: DoNotContact) -> Ledger:
    """The do-not-contact ledger plus the people who unsubscribed through intake."""
    if not unsubscribed.emails and not unsubscribed.phones:
        return ledger
    return Ledger(
        phones=ledger.phones | unsubscribed.phones, emails=ledger.emails | unsubscribed.emails
    )


def export_csv(intake: Path, ledger: Path | None) -> tuple[bytes, int]:
    """Confirmed sign-ups of the store at `intake` in the central export's columns,
    without anyone on the ledger or unsubscribed; the CSV bytes and the row count."""
    snapshot = read_snapshot(intake)
    base = read_ledger(ledger) if ledger is not None else Ledger()
    exports = render_exports(
        "intake",
        [],
        [],
        [],
        from_submissions(snapshot.confirmed),
        with_unsubscribes(base, snapshot.do_not_contact),
    )
    return exports.files["supporters.csv"], exports.counts["supporters"]
