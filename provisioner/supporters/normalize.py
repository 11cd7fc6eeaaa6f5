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
from collections.abc import Iterator, Sequence
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
def _country_codes() -> frozenset[str]:
    """E.164 prefixes ('+32') of the countries phonenumbers knows (no metadata loaded)."""
    return frozenset(f"+{code}" for code in _phonenumbers().COUNTRY_CODE_TO_REGION_CODE)


@cache
def _mobile_pattern(prefix: str) -> re.Pattern[str] | None:
    """Regex of the national mobile numbers of the country with E.164 `prefix` ('+32'),
    all its regions; None when it has none. Only the regions of that country code are
    read: loading every region's metadata cost a tenth of a second per deploy."""
    phonenumbers = _phonenumbers()
    parts = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(prefix[1:]), ()):
        if region not in phonenumbers.SUPPORTED_REGIONS:  # "001": non-geographic numbers
            continue
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
        if metadata is not None and pattern and f"+{metadata.country_code}" == prefix:
            parts.append(f"(?:{pattern})")
    return re.compile("|".join(parts)) if parts else None


def _mobile_prefixes(phone: str) -> Iterator[tuple[str, re.Pattern[str]]]:
    """(prefix, pattern) of each country code `phone` may start with (1 to 3 digits)."""
    for length in (2, 3, 4):
        prefix = phone[:length]
        if prefix in _country_codes():
            pattern = _mobile_pattern(prefix)
            if pattern is not None:
                yield prefix, pattern


def is_mobile_number(phone: str) -> bool:
    """True for an E.164 mobile number of any country (the only ones that get SMS)."""
    return any(pattern.fullmatch(phone, len(prefix)) for prefix, pattern in _mobile_prefixes(phone))


def mobile_flags(phones: Sequence[str]) -> list[bool]:
    """`is_mobile_number` of each phone, in one regex call per phone (for whole columns).

    The regex holds the mobile patterns of the country codes the phones start with only:
    a fullmatch is then what `is_mobile_number` finds, without its Python-level steps."""
    starts = set(map(str.__getitem__, phones, repeat(slice(0, 4))))  # "+" and 3 digits
    codes = tuple(sorted({prefix for start in starts for prefix, _ in _mobile_prefixes(start)}))
    if not codes:
        return [False] * len(phones)
    return list(map(bool, map(_mobile_regex(codes).fullmatch, phones)))


@cache
def _mobile_regex(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    branches = []
    for prefix in prefixes:
        pattern = _mobile_pattern(prefix)
        assert pattern is not None  # only prefixes that have one are asked for
        branches.append(f"{prefix[1:]}(?:{pattern.pattern})")
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
