"""The rows of a list as columns, with what consent and the ledger make of each row.

Everything here depends on a supporter and the do-not-contact ledger only, never on
the nation whose list it is: computed once for the whole network, it serves every
list of every nation. Columns are built with C-level maps (a Python function per row
per list is what made exports slow); flags are bytes, one 0/1 per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, repeat
from operator import and_, contains, methodcaller, mul, not_, or_, truth
from typing import Any

from .exports import SEGMENTS
from .normalize import mobile_flags
from .records import COLUMNS, Ledger, Supporter

_YES_NO = ("no", "yes")  # by bool
_BELGIAN = methodcaller("startswith", "+32")  # CallHub's country_code, as before


class ExportColumns:
    """`columns`: name -> value per row; `flags`: name -> bytes (1: the row is listed);
    `blocked`: 1 for a row whose phone or email is on the ledger."""

    def __init__(self, rows: Sequence[Supporter], ledger: Ledger) -> None:
        raw: dict[str, Sequence[Any]] = (
            dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
            if rows
            else dict.fromkeys(COLUMNS, ())
        )
        phones, emails = raw["phone"], raw["email"]
        phone_free = list(map(not_, map(contains, repeat(ledger.phones), phones)))
        email_free = list(map(not_, map(contains, repeat(ledger.emails), emails)))
        self.blocked = ledger.blocked(phones, emails)
        # bool(consent and contact) and contact not on the ledger, a whole column at once
        email = list(map(and_, map(and_, raw["email_consent"], map(truth, emails)), email_free))
        phone = list(map(and_, map(and_, raw["phone_consent"], map(truth, phones)), phone_free))
        mobile = mobile_flags(phones)
        sms = list(map(and_, map(and_, raw["sms_consent"], mobile), phone_free))
        self.flags: dict[str, bytes] = {
            "email": bytes(email),
            "phone": bytes(phone),
            "sms": bytes(sms),
        }
        self.flags.update(_segment_flags(raw, self.flags))
        # A string times a bool is the string or "": C-level "value if flag else ''".
        self.columns: dict[str, Sequence[Any]] = {
            **raw,
            "shown_phone": list(map(mul, phones, map(or_, phone, sms))),
            "shown_email": list(map(mul, emails, email)),
            "mobile": list(map(mul, phones, mobile)),
            "country_code": list(map(mul, repeat("BE"), map(_BELGIAN, phones))),
            **{
                f"{channel}_yes": list(map(_YES_NO.__getitem__, raw[f"{channel}_consent"]))
                for channel in ("email", "phone", "sms")
            },
        }

    def tags(self, flag: str | None) -> Sequence[tuple[str, ...]]:
        column = self.columns["tags"]
        return column if flag is None else list(compress(column, self.flags[flag]))


def _segment_flags(raw: dict[str, Sequence[Any]], channels: dict[str, bytes]) -> dict[str, bytes]:
    """A segment wants a row by its level and tags: decided once per distinct pair."""
    keys = list(zip(raw["level"], raw["tags"], strict=True))
    distinct = set(keys)
    flags = {}
    for name, seg in SEGMENTS.items():
        wanted = {key: seg.wants(*key) for key in distinct}
        flags[name] = bytes(map(and_, map(wanted.__getitem__, keys), channels[seg.channel]))
    return flags
