"""The per-nation writer that encoded every row again for every list (before issue 18).

Kept as the reference the composed lists are held to, byte for byte: each list written
row by row through the one safe CSV writer, rows sorted by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter

from provisioner.csvsafe import csv_bytes
from provisioner.supporters.records import (
    COLUMNS,
    LEVEL_RANK,
    TAG_SEPARATOR,
    Ledger,
    Supporter,
    is_mobile,
)

_PLEDGE, _MEMBER = LEVEL_RANK["pledge"], LEVEL_RANK["member"]
WANTS = {
    "volunteers": ("email", lambda r: r.level == "volunteer" or "volunteer" in r.tags),
    "pledges": ("email", lambda r: LEVEL_RANK[r.level] >= _PLEDGE),
    "members": ("email", lambda r: LEVEL_RANK[r.level] >= _MEMBER),
    "to_call": ("phone", lambda r: LEVEL_RANK[r.level] < _PLEDGE),
}
DIALER_HEADERS = {
    "callhub": ("phone", ("contact", "mobile", "last_name", "first_name", "email",
                          "country_code", "tags", "external_id", "postcode", "language", "level")),
    "spoke": ("sms", ("firstName", "lastName", "cell", "zip", "external_id", "language")),
    "thrutalk": ("phone", ("unique_id", "first_name", "last_name", "phone_number", "zip",
                           "language")),
}  # fmt: skip


def _dialer_line(name: str, r: Supporter, tags: str, email: str) -> tuple[str, ...]:
    if name == "callhub":
        mobile = r.phone if is_mobile(r.phone) else ""
        country = "BE" if r.phone.startswith("+32") else ""
        return (r.phone, mobile, r.last_name, r.first_name, email, country, tags, r.id,
                r.postcode, r.language, r.level)  # fmt: skip
    if name == "spoke":
        return (r.first_name, r.last_name, r.phone, r.postcode, r.id, r.language)
    return (r.id, r.first_name, r.last_name, r.phone, r.postcode, r.language)


def reference_exports(
    tags: Sequence[str],
    segments: Sequence[str],
    dialers: Sequence[str],
    rows: Iterable[Supporter],
    ledger: Ledger,
) -> tuple[dict[str, bytes], dict[str, int]]:
    ordered = sorted(rows, key=attrgetter("id"))
    phones, emails = ledger.phones, ledger.emails
    ok = {
        "email": lambda r: bool(r.email_consent and r.email) and r.email not in emails,
        "phone": lambda r: bool(r.phone_consent and r.phone) and r.phone not in phones,
        "sms": lambda r: bool(r.sms_consent) and is_mobile(r.phone) and r.phone not in phones,
    }

    def joined(r: Supporter) -> str:
        return TAG_SEPARATOR.join(dict.fromkeys((*r.tags, *tags)))

    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}

    def add(name: str, header: Sequence[str], lines: Iterable[tuple[str, ...]]) -> None:
        files[f"{name}.csv"], counts[name] = csv_bytes(header, lines)

    yes = {True: "yes", False: "no"}
    add("supporters", COLUMNS, (
        (r.id, r.first_name, r.last_name,
         r.phone if ok["phone"](r) or ok["sms"](r) else "", r.email if ok["email"](r) else "",
         r.postcode, r.language, r.level, joined(r),
         yes[r.email_consent], r.email_consent_date, r.email_consent_source,
         yes[r.phone_consent], r.phone_consent_date, r.phone_consent_source,
         yes[r.sms_consent], r.sms_consent_date, r.sms_consent_source, r.created_at, r.area)
        for r in ordered
    ))  # fmt: skip
    for name in segments:
        channel, wants = WANTS[name]
        contact = "email" if channel == "email" else "phone"
        header = ("id", "first_name", "last_name", contact, "language", "postcode", "level", "tags")
        add(name, header, (
            (r.id, r.first_name, r.last_name, r.email if contact == "email" else r.phone,
             r.language, r.postcode, r.level, joined(r))
            for r in ordered if wants(r) and ok[channel](r)
        ))  # fmt: skip
    for name in dialers:
        channel, header = DIALER_HEADERS[name]
        add(name, header, (
            _dialer_line(name, r, joined(r), r.email if ok["email"](r) else "")
            for r in ordered if ok[channel](r)
        ))  # fmt: skip
    counts["do_not_contact"] = sum(1 for r in ordered if ledger.blocks(r))
    return files, counts
