"""Normalisation of contact points: phones to E.164, emails to lower case.

Both functions return "" for an empty value and raise ValueError with a reason a
user can act on for a value that cannot be normalised. Ingestion and the
do-not-contact ledger share them, so a ledger entry and a supporter's phone written
differently ("0470 12.34.56" and "+32470123456") still match.
"""

from __future__ import annotations

# Separators people type in phone numbers; "(0)" as in "+32 (0)470 ..." is handled by
# dropping the parentheses and then the trunk zero.
_PHONE_SEPARATORS = str.maketrans("", "", " .-/()\u00a0\t")


def normalize_phone(raw: str) -> str:
    """Normalise a phone number to E.164; Belgian numbers are checked strictly."""
    # Fast path for numbers already in E.164, as in the central export.
    if (
        raw.startswith("+32")
        and raw.isascii()
        and raw[1:].isdigit()
        and ((len(raw) == 12 and raw[3] == "4") or (len(raw) == 11 and raw[3] != "0"))
    ):
        return raw
    value = raw.strip()
    if not value:
        return ""
    cleaned = value.translate(_PHONE_SEPARATORS)
    if cleaned.startswith("+"):
        international = cleaned[1:]
    elif cleaned.startswith("00"):
        international = cleaned[2:]
    elif cleaned.startswith("0"):
        international = "32" + cleaned[1:]
    elif cleaned.startswith("32"):
        international = cleaned
    else:
        raise ValueError(
            f"phone {raw!r} is not a phone number: use 04xx xx xx xx, 0x xxx xx xx or +32…"
        )
    if not (international.isascii() and international.isdigit()):
        raise ValueError(f"phone {raw!r} contains characters other than digits and separators")
    if international.startswith("32"):
        return "+32" + _belgian_subscriber_number(raw, international[2:])
    if 8 <= len(international) <= 15 and not international.startswith("0"):
        return "+" + international
    raise ValueError(f"phone {raw!r} has {len(international)} digits; E.164 allows 8 to 15")


def _belgian_subscriber_number(raw: str, digits: str) -> str:
    if digits.startswith("0"):  # "+32 (0)4..." written with the trunk zero
        digits = digits[1:]
    if (len(digits) == 9 and digits.startswith("4")) or (
        len(digits) == 8 and not digits.startswith("0")
    ):
        return digits
    raise ValueError(
        f"phone {raw!r} is not a Belgian number: after +32 a mobile has 9 digits "
        "starting with 4, a landline 8 digits"
    )


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
