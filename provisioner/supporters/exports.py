"""A nation's private exports: its supporter list, segment lists and dialer profiles.

Channels (who may appear in a list that is used to contact people):
- email: email consent, an email address, and that address not in the ledger;
- phone: phone consent, a phone number, and that number not in the ledger;
- sms: SMS consent, a Belgian mobile number, and that number not in the ledger.

Segments (a blueprint manifest names the ones a nation gets):
- volunteers: level `volunteer`, or tagged `volunteer`; email channel.
- pledges: level `pledge` or higher on the ladder (pledge, volunteer, member, donor),
  i.e. everyone who committed at least a pledge; email channel.
- members: level `member` or `donor`; email channel.
- to_call: not pledged yet (level `subscriber` or `supporter`); phone channel. These
  are the people a phone bank calls to ask for a pledge.

Dialer profiles hold every supporter reachable on the dialer's channel: `callhub.csv`
and `thrutalk.csv` (calls, phone channel), `spoke.csv` (texts, SMS channel).

`supporters.csv` lists every supporter of the nation, with the central export's
columns; a phone or email is left empty unless the supporter can be reached through
it (data minimisation, and no ledger entry ever leaves in any file).

Tags: each row carries its own tags, then the nation's `all_tags` (own and inherited,
as NationBuilder's shared tags), without duplicates, comma-joined. Rows are sorted by
id, so the same input always gives the same bytes. Every file goes through the one
safe CSV writer (`provisioner.csvsafe`): no cell runs as a formula in a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from ..csvsafe import csv_bytes
from .errors import SupporterConfigError
from .records import COLUMNS, LEVEL_RANK, TAG_SEPARATOR, Ledger, Supporter, is_mobile

Reachable = Callable[[Supporter], bool]
# (row, joined tags, the email it may carry or "") -> cells
Renderer = Callable[[Supporter, str, str], tuple[str, ...]]

_PLEDGE = LEVEL_RANK["pledge"]
_MEMBER = LEVEL_RANK["member"]


@dataclass(frozen=True)
class Exports:
    """Files of one nation (relative path -> bytes) and the row count of each list."""

    files: dict[str, bytes]
    counts: dict[str, int]


@dataclass(frozen=True)
class _Segment:
    channel: str
    wants: Callable[[Supporter], bool]


SEGMENTS: dict[str, _Segment] = {
    "volunteers": _Segment("email", lambda r: r.level == "volunteer" or "volunteer" in r.tags),
    "pledges": _Segment("email", lambda r: LEVEL_RANK[r.level] >= _PLEDGE),
    "members": _Segment("email", lambda r: LEVEL_RANK[r.level] >= _MEMBER),
    "to_call": _Segment("phone", lambda r: LEVEL_RANK[r.level] < _PLEDGE),
}


def _callhub(r: Supporter, tags: str, email: str) -> tuple[str, ...]:
    mobile = r.phone if is_mobile(r.phone) else ""
    country = "BE" if r.phone.startswith("+32") else ""
    return (
        r.phone,
        mobile,
        r.last_name,
        r.first_name,
        email,
        country,
        tags,
        r.id,
        r.postcode,
        r.language,
        r.level,
    )


def _spoke(r: Supporter, tags: str, email: str) -> tuple[str, ...]:
    return (r.first_name, r.last_name, r.phone, r.postcode, r.id, r.language)


def _thrutalk(r: Supporter, tags: str, email: str) -> tuple[str, ...]:
    return (r.id, r.first_name, r.last_name, r.phone, r.postcode, r.language)


# CallHub's import columns, then custom fields; Spoke's required and custom columns;
# ThruTalk's four required fields (unique id, first and last name, phone) and extras.
DIALERS: dict[str, tuple[str, tuple[str, ...], Renderer]] = {
    "callhub": (
        "phone",
        (
            "contact",
            "mobile",
            "last_name",
            "first_name",
            "email",
            "country_code",
            "tags",
            "external_id",
            "postcode",
            "language",
            "level",
        ),
        _callhub,
    ),
    "spoke": ("sms", ("firstName", "lastName", "cell", "zip", "external_id", "language"), _spoke),
    "thrutalk": (
        "phone",
        ("unique_id", "first_name", "last_name", "phone_number", "zip", "language"),
        _thrutalk,
    ),
}


def render_exports(
    slug: str,
    tags: Sequence[str],
    segments: Sequence[str],
    dialers: Sequence[str],
    rows: Iterable[Supporter],
    ledger: Ledger,
) -> Exports:
    """Render the nation's private files; `tags` is the nation's all_tags."""
    _check_names(slug, segments, dialers)
    ordered = sorted(rows, key=attrgetter("id"))
    shared = _TagJoiner(tags)
    reachable = _channels(ledger)
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}

    def add(name: str, header: Sequence[str], lines: Iterable[tuple[str, ...]]) -> None:
        files[f"{name}.csv"], counts[name] = csv_bytes(header, lines)

    add("supporters", COLUMNS, (_supporter_line(r, shared(r), reachable) for r in ordered))
    for name in segments:
        seg = SEGMENTS[name]
        contact, ok = ("email" if seg.channel == "email" else "phone"), reachable[seg.channel]
        selected = (r for r in ordered if seg.wants(r) and ok(r))
        add(
            name,
            (*_SEGMENT_HEAD, contact, *_SEGMENT_TAIL),
            (_segment_line(r, contact, shared(r)) for r in selected),
        )
    for name in dialers:
        channel, header, render = DIALERS[name]
        ok, email_ok = reachable[channel], reachable["email"]
        add(
            name,
            header,
            (render(r, shared(r), r.email if email_ok(r) else "") for r in ordered if ok(r)),
        )
    counts["do_not_contact"] = sum(1 for r in ordered if ledger.blocks(r))
    return Exports(files=files, counts=counts)


def _check_names(slug: str, segments: Sequence[str], dialers: Sequence[str]) -> None:
    for kind, names, known in (("segment", segments, SEGMENTS), ("dialer", dialers, DIALERS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SupporterConfigError(
                f"nation {slug!r}: unknown {kind} {unknown[0]!r} in its blueprint manifest; "
                f"known {kind}s: {', '.join(known)}"
            )


def _channels(ledger: Ledger) -> dict[str, Reachable]:
    phones, emails = ledger.phones, ledger.emails
    return {
        "email": lambda r: bool(r.email_consent and r.email) and r.email not in emails,
        "phone": lambda r: bool(r.phone_consent and r.phone) and r.phone not in phones,
        "sms": lambda r: bool(r.sms_consent) and is_mobile(r.phone) and r.phone not in phones,
    }


class _TagJoiner:
    """Row tags followed by the nation's shared tags, joined once per distinct tag set."""

    def __init__(self, shared: Sequence[str]) -> None:
        self._shared = tuple(shared)
        self._joined: dict[tuple[str, ...], str] = {}

    def __call__(self, row: Supporter) -> str:
        try:
            return self._joined[row.tags]
        except KeyError:
            merged = TAG_SEPARATOR.join(dict.fromkeys((*row.tags, *self._shared)))
            self._joined[row.tags] = merged
            return merged


_SEGMENT_HEAD = ("id", "first_name", "last_name")
_SEGMENT_TAIL = ("language", "postcode", "level", "tags")


def _segment_line(r: Supporter, contact: str, tags: str) -> tuple[str, ...]:
    return (
        r.id,
        r.first_name,
        r.last_name,
        r.email if contact == "email" else r.phone,
        r.language,
        r.postcode,
        r.level,
        tags,
    )


def _supporter_line(r: Supporter, tags: str, reachable: dict[str, Reachable]) -> tuple[str, ...]:
    phone = r.phone if reachable["phone"](r) or reachable["sms"](r) else ""
    email = r.email if reachable["email"](r) else ""
    return (
        r.id,
        r.first_name,
        r.last_name,
        phone,
        email,
        r.postcode,
        r.language,
        r.level,
        tags,
        _YES_NO[r.email_consent],
        r.email_consent_date,
        r.email_consent_source,
        _YES_NO[r.phone_consent],
        r.phone_consent_date,
        r.phone_consent_source,
        _YES_NO[r.sms_consent],
        r.sms_consent_date,
        r.sms_consent_source,
        r.created_at,
        r.area,
    )


_YES_NO = {True: "yes", False: "no"}
