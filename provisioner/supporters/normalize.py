"""Normalisation of contact points: phones to E.164, emails to lower case.

Both functions return "" for an empty value and raise ValueError with a reason a
user can act on for a value that cannot be normalised. Ingestion and the
do-not-contact ledger share them, so a ledger entry and a supporter's phone written
differently ("0470 12.34.56" and "+32470123456") still match.

Phones are parsed by `phonenumbers` (the port of Google's libphonenumber), with the
network's country as the region of numbers written in national format. It costs
about 20 µs a number, so numbers already in E.164 for that country take a fast path:
one regex built from the same library's metadata (see `canonical_phone_pattern`).
The library is imported on first use (11 ms): a deploy whose lists are unchanged
never parses a phone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from itertools import repeat
from types import ModuleType

DEFAULT_REGION = "BE"


@cache
def _phonenumbers() -> ModuleType:
    import phonenumbers

    return phonenumbers


@cache
def canonical_phone_pattern(region: str) -> str:
    """A regex of the valid E.164 numbers of `region`, from libphonenumber's metadata."""
    metadata = _phonenumbers().PhoneMetadata.metadata_for_region(region)
    general = metadata.general_desc if metadata is not None else None
    if metadata is None or general is None or general.national_number_pattern is None:
        return r"(?!)"  # matches nothing: every number takes the slow path
    return rf"\+{metadata.country_code}(?:{general.national_number_pattern})"


@cache
def _canonical(region: str) -> re.Pattern[str]:
    return re.compile(canonical_phone_pattern(region))


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Normalise a phone number to E.164; national numbers are read as `region`'s."""
    if raw.startswith("+") and _canonical(region).fullmatch(raw):
        return raw
    value = raw.strip()
    if not value:
        return ""
    phonenumbers = _phonenumbers()  # per number: the module, not an import statement
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"phone {raw!r} is not a phone number: write it in {region} national format "
            "or as +<country code> and the number"
        ) from None
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        raise ValueError(
            f"phone {raw!r} is not a valid {where} number: check its digits and length"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@cache
def _mobile_patterns() -> dict[str, re.Pattern[str]]:
    """E.164 prefix ('+32') -> regex of that country's mobile numbers (all its regions)."""
    phonenumbers = _phonenumbers()
    found: dict[str, list[str]] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
        if metadata is not None and pattern:
            found.setdefault(f"+{metadata.country_code}", []).append(f"(?:{pattern})")
    return {prefix: re.compile("|".join(parts)) for prefix, parts in found.items()}


def is_mobile_number(phone: str) -> bool:
    """True for an E.164 mobile number of any country (the only ones that get SMS)."""
    patterns = _mobile_patterns()
    for length in (2, 3, 4):  # country codes have 1 to 3 digits
        pattern = patterns.get(phone[:length])
        if pattern is not None and pattern.fullmatch(phone, length):
            return True
    return False


def mobile_flags(phones: Sequence[str]) -> list[bool]:
    """`is_mobile_number` of each phone, in one regex call per phone (for whole columns).

    The regex holds the mobile patterns of the country codes the phones start with only:
    a fullmatch is then what `is_mobile_number` finds, without its Python-level steps."""
    present = set(map(str.__getitem__, phones, repeat(slice(1, 4))))  # digits after "+"
    codes = tuple(
        prefix for prefix in _mobile_patterns() if any(p.startswith(prefix[1:]) for p in present)
    )
    if not codes:
        return [False] * len(phones)
    return list(map(bool, map(_mobile_regex(codes).fullmatch, phones)))


@cache
def _mobile_regex(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    patterns = _mobile_patterns()
    branches = (f"{prefix[1:]}(?:{patterns[prefix].pattern})" for prefix in prefixes)
    return re.compile(r"\+(?:" + "|".join(branches) + ")")


def normalize_email(raw: str) -> str:
    """Lower-case and check an email address (one @, a dotted domain, no spaces)."""
    value = raw.strip().lower()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or " " in value
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
    ):
        raise ValueError(f"email {raw!r} is not an email address (expected name@domain.tld)")
    return value
