"""Checks of single values of the central export; each raises ValueError(reason).

A reason names the column and the value, so a quarantined row tells its own fix.
"""

from __future__ import annotations

import re
from datetime import date as _date

from ..langtags import is_language_tag, standard_tag
from .records import LEVELS

# A cell starting with one of these runs as a formula when a nation opens the CSV in a
# spreadsheet (CSV injection), so such ids, names and sources are refused at the door.
FORMULA_STARTS = "=+-@\t\r"

_POSTCODE = re.compile(r"[1-9][0-9]{3}")  # Belgium, when no geography is given
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TAG = re.compile(r"[a-z0-9][a-z0-9:_-]*")
CONTROL_CHARACTERS = r"\x00-\x1f\x7f"  # as a regex character range
# Invisible and direction-changing characters (as a regex character range): zero-width
# spaces and joiners, bidi marks, embeddings, overrides and isolates, the BOM, and
# surrogates, which stand for bytes that were not UTF-8. In a name they make two
# supporters look alike, or reverse what staff read on a list ("Trojan Source").
INVISIBLE_CHARACTERS = (
    "\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufeff\ufff9-\ufffb\ud800-\udfff"
)
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
_CONSENT_VALUES = {"yes": True, "y": True, "true": True, "1": True,
                   "no": False, "n": False, "false": False, "0": False, "": False}  # fmt: skip


def identifier(value: str) -> str:
    if not value:
        raise ValueError("id is empty")
    return text(value, "id")


def text(raw: str, column: str) -> str:
    value = raw.strip()
    if value and value[0] in FORMULA_STARTS:
        raise ValueError(
            f"{column} {raw!r} starts with {value[0]!r}, which spreadsheets run as a formula"
        )
    if _CONTROL.search(value):
        raise ValueError(f"{column} {raw!r} contains a control character")
    invisible = _INVISIBLE.search(value)
    if invisible:
        raise ValueError(
            f"{column} {raw!r} contains the invisible or direction-changing character "
            f"U+{ord(invisible.group()):04X}; retype the value without it"
        )
    return value


def date(raw: str, column: str) -> str:
    value = raw.strip()
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        _date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} {raw!r} is not a date (YYYY-MM-DD)") from None
    return value


def postcode(raw: str, pattern: re.Pattern[str] = _POSTCODE, country: str = "BE") -> str:
    """A postcode in the format of the network's geography (Belgium: 4 digits)."""
    value = raw.strip()
    if not pattern.fullmatch(value):
        raise ValueError(f"postcode {raw!r} is not a {country} postcode ({pattern.pattern})")
    return value


def area(raw: str) -> str:
    """An area code (optional): segmentation uses it when the geography knows it."""
    return text(raw, "area")


def language(raw: str) -> str:
    """A BCP 47 tag, in its standard case (fr, fr-BE)."""
    value = raw.strip()
    if not is_language_tag(value):
        raise ValueError(f"language {raw!r} is not a BCP 47 language tag (such as fr, nl, de)")
    return standard_tag(value)


def level(raw: str) -> str:
    value = raw.strip().lower()
    if value not in LEVELS:
        raise ValueError(f"level {raw!r} must be one of {', '.join(LEVELS)}")
    return LEVELS[LEVELS.index(value)]  # the shared constant, not a per-row copy


def tags(raw: str) -> tuple[str, ...]:
    names = (name.strip().lower() for name in raw.replace("|", ",").split(","))
    unique = tuple(dict.fromkeys(name for name in names if name))
    for tag in unique:
        if not _TAG.fullmatch(tag):
            raise ValueError(
                f"tag {tag!r} is not a tag: use lower-case letters, digits, ':', '_' and '-'"
            )
    return unique


def flag(raw: str, column: str) -> bool:
    """A consent column: yes or no (empty means no)."""
    given = _CONSENT_VALUES.get(raw.strip().lower())
    if given is None:
        raise ValueError(f"{column} {raw!r} must be yes or no")
    return given


def optional_date(raw: str, column: str) -> str:
    return date(raw, column) if raw.strip() else ""
