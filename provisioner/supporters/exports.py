"""A nation's private exports: its supporter list, segment lists and dialer profiles.

Channels (who may appear in a list that is used to contact people):
- email: email consent, an email address, and that address not in the ledger;
- phone: phone consent, a phone number, and that number not in the ledger;
- sms: SMS consent, a mobile number, and that number not in the ledger.

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
id, so the same input always gives the same bytes. Every cell is written as the one
safe CSV writer (`provisioner.csvsafe`) writes it: no cell runs as a formula in a
spreadsheet. Each line is encoded once for every list it is in (see `encoded.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from .errors import SupporterConfigError
from .records import COLUMNS, LEVEL_RANK, Ledger, Supporter

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
    wants: Callable[[str, tuple[str, ...]], bool]  # (level, tags): nothing else decides


SEGMENTS: dict[str, _Segment] = {
    "volunteers": _Segment(
        "email", lambda level, tags: level == "volunteer" or "volunteer" in tags
    ),
    "pledges": _Segment("email", lambda level, tags: LEVEL_RANK[level] >= _PLEDGE),
    "members": _Segment("email", lambda level, tags: LEVEL_RANK[level] >= _MEMBER),
    "to_call": _Segment("phone", lambda level, tags: LEVEL_RANK[level] < _PLEDGE),
}


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of line: header, where each cell's value comes from (a
    column of `exportcolumns.ExportColumns`), where the tags cell is, and which rows it lists."""

    header: tuple[str, ...]
    values: tuple[str, ...]  # one per header cell but the tags cell
    tags_at: int | None  # index of the tags cell in the header, None without one
    rows: str | None  # flag of the rows a file of this layout may list; None: all


_SEGMENT_HEAD = ("id", "first_name", "last_name")
_SEGMENT_TAIL = ("language", "postcode", "level")

LAYOUTS: dict[str, Layout] = {
    "supporters": Layout(
        COLUMNS,
        (
            *_SEGMENT_HEAD,
            "shown_phone",
            "shown_email",
            "postcode",
            "language",
            "level",
            "email_yes",
            "email_consent_date",
            "email_consent_source",
            "phone_yes",
            "phone_consent_date",
            "phone_consent_source",
            "sms_yes",
            "sms_consent_date",
            "sms_consent_source",
            "created_at",
            "area",
        ),
        COLUMNS.index("tags"),
        None,
    ),
    "segment_email": Layout(
        (*_SEGMENT_HEAD, "email", *_SEGMENT_TAIL, "tags"),
        (*_SEGMENT_HEAD, "email", *_SEGMENT_TAIL),
        7,
        "email",
    ),
    "segment_phone": Layout(
        (*_SEGMENT_HEAD, "phone", *_SEGMENT_TAIL, "tags"),
        (*_SEGMENT_HEAD, "phone", *_SEGMENT_TAIL),
        7,
        "phone",
    ),
    # CallHub's import columns, then custom fields; Spoke's required and custom columns;
    # ThruTalk's four required fields (unique id, first and last name, phone) and extras.
    "callhub": Layout(
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
        (
            "phone",
            "mobile",
            "last_name",
            "first_name",
            "shown_email",
            "country_code",
            "id",
            "postcode",
            "language",
            "level",
        ),
        6,
        "phone",
    ),
    "spoke": Layout(
        ("firstName", "lastName", "cell", "zip", "external_id", "language"),
        ("first_name", "last_name", "phone", "postcode", "id", "language"),
        None,
        "sms",
    ),
    "thrutalk": Layout(
        ("unique_id", "first_name", "last_name", "phone_number", "zip", "language"),
        ("id", "first_name", "last_name", "phone", "postcode", "language"),
        None,
        "phone",
    ),
}

# Dialer name -> its channel (the rows it lists) and its layout.
DIALERS: dict[str, str] = {"callhub": "phone", "spoke": "sms", "thrutalk": "phone"}


@dataclass(frozen=True)
class FileSpec:
    layout: str
    rows: str | None  # flag of the rows listed; None: every row


FILES: dict[str, FileSpec] = {
    "supporters": FileSpec("supporters", None),
    **{
        name: FileSpec("segment_email" if seg.channel == "email" else "segment_phone", name)
        for name, seg in SEGMENTS.items()
    },
    **{name: FileSpec(name, channel) for name, channel in DIALERS.items()},
}


def render_exports(
    slug: str,
    tags: Sequence[str],
    segments: Sequence[str],
    dialers: Sequence[str],
    rows: Iterable[Supporter],
    ledger: Ledger,
) -> Exports:
    """Render the private files of one list of rows; `tags` is the nation's all_tags.

    For a whole network, `encoded.NetworkLists` encodes each row once for every nation."""
    import numpy as np

    from .encoded import EncodedRows  # these build on this module's definitions
    from .exportcolumns import ExportColumns

    check_names(slug, segments, dialers)
    ordered = sorted(rows, key=attrgetter("id"))
    quoted = any("\r" in tag for tag in tags)  # every line with a tags cell quoted whole
    encoded = EncodedRows(ExportColumns(ordered, ledger), quote_tags=quoted)
    return encoded.compose(np.arange(len(ordered)), tags, segments, dialers)


def check_names(slug: str, segments: Sequence[str], dialers: Sequence[str]) -> None:
    for kind, names, known in (("segment", segments, SEGMENTS), ("dialer", dialers, DIALERS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SupporterConfigError(
                f"nation {slug!r}: unknown {kind} {unknown[0]!r} in its blueprint manifest; "
                f"known {kind}s: {', '.join(known)}"
            )
