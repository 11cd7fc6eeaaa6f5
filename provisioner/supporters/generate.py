"""Deterministic sample of a central supporter export and its do-not-contact ledger.

Same seed and postcodes give byte-identical files. Faker is called only to fill small
pools of names; rows combine pool entries with one random.Random(seed), which is what
makes 200,000 rows take seconds. Phones are numbers of the network's country in
E.164, built here (Faker's locales do not give E.164): Belgian ones by hand, others
from libphonenumber's example numbers with random last digits. Emails use reserved
example domains only, about 1 % of supporters are also in the ledger (some written
in national format or upper case, as people type them) and many consents are missing,
so the export filters matter.

    python -m provisioner.supporters.generate --spec nations.yaml --out data
"""

from __future__ import annotations

import argparse
import io
import sys
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random

import phonenumbers
from faker import Faker
from faker.config import AVAILABLE_LOCALES
from phonenumbers import PhoneNumberType

from ..csvsafe import SafeCsvWriter, csv_bytes
from .errors import SupporterFileError
from .geography import load_geography
from .private import private_writer
from .records import LEVELS, REQUIRED_COLUMNS, is_mobile

SUPPORTERS_FILE = "supporters.csv"
LEDGER_FILE = "do-not-contact.csv"
LEDGER_HEADER = ("contact", "added_at", "reason")

_NAME_LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "de": "de_DE"}
_POOL_SIZE = 800
_LEVEL_WEIGHTS = (40, 25, 12, 10, 9, 4)  # in LEVELS order: most people only subscribe
_LEVEL_CUMULATIVE = [w / sum(_LEVEL_WEIGHTS) for w in accumulate(_LEVEL_WEIGHTS)][:-1]
_TAGS = (
    "newsletter",
    "volunteer",
    "petition-climat",
    "porte-a-porte",
    "jeunes",
    "seniors",
    "event-2025",
    "mobilite",
    "logement",
)
_SOURCES = ("website-form", "petition", "event-signup", "door-to-door", "crm-import-2024")
_DOMAINS = ("example.com", "example.org", "example.net")
# Mobile prefixes in use in Belgium (0456, 046x, 047x, 048x, 049x), without the 0.
_MOBILE_PREFIXES = tuple(
    str(n) for n in (456, 460, *range(465, 469), *range(470, 480), *range(483, 500))
)
# Landline area codes by the first digit of the postcode, so numbers look local.
_AREA_CODES = {
    "1": ("2", "10", "16"),
    "2": ("3", "14", "15"),
    "3": ("11", "13", "16", "89"),
    "4": ("4", "80", "85", "87"),
    "5": ("81", "82", "83", "84"),
    "6": ("60", "61", "63", "64", "65", "71"),
    "7": ("65", "67", "68", "69"),
    "8": ("50", "51", "56", "57", "58", "59"),
    "9": ("9", "52", "53", "54", "55"),
}
_LEDGER_REASONS = ("asked by phone", "unsubscribe link", "objection (GDPR art. 21)", "complaint")
_FIRST_DAY, _LAST_DAY = date(2016, 1, 1), date(2025, 12, 31)


@dataclass(frozen=True)
class GenerationResult:
    """Where the sample was written and how many supporters and ledger entries it has."""

    supporters_path: Path
    ledger_path: Path
    supporters: int
    ledger_entries: int


def generate(
    out_dir: Path,
    postcodes: Sequence[tuple[str, str]],
    count: int = 200_000,
    seed: int = 2026,
    country: str = "BE",
) -> GenerationResult:
    """Write `supporters.csv` and `do-not-contact.csv` (0600) into `out_dir`.

    `postcodes` are (postcode, language) pairs; supporters are spread evenly over them.
    `country` gives phone numbers and name locales.
    """
    if not postcodes:
        raise ValueError("generate needs at least one (postcode, language) pair")
    rng = Random(seed)
    factory = _RowFactory(rng, list(postcodes), seed, country)
    ledger: list[tuple[str, str, str]] = []
    supporters_path = out_dir / SUPPORTERS_FILE
    with private_writer(supporters_path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = SafeCsvWriter(text, REQUIRED_COLUMNS)
        for number in range(1, count + 1):
            row = factory.row(number)
            writer.writerow(row)
            if rng.random() < 0.01:
                ledger.extend(factory.ledger_entries(row))
        text.flush()
        text.detach()  # private_writer closes the file
    ledger_path = out_dir / LEDGER_FILE
    with private_writer(ledger_path) as raw:
        raw.write(csv_bytes(LEDGER_HEADER, ledger)[0])
    return GenerationResult(supporters_path, ledger_path, count, len(ledger))


class _RowFactory:
    def __init__(
        self, rng: Random, postcodes: list[tuple[str, str]], seed: int, country: str = "BE"
    ) -> None:
        self._rng = rng
        self._postcodes = postcodes
        self._country = country
        languages = {lang for _, lang in postcodes}
        self._names = {lang: _name_pools(_locale(lang, country), seed) for lang in languages}
        # Some supporters speak another language of the network (a Fleming in Wallonia).
        self._other = {
            lang: other if other in languages else lang for lang, other in _OTHER_LANGUAGE.items()
        }
        self._phones = None if country == "BE" else _example_phones(country)
        days = (_LAST_DAY - _FIRST_DAY).days + 1
        self._dates = [(_FIRST_DAY + timedelta(days=d)).isoformat() for d in range(days)]

    def _pick(self, items: Sequence[str]) -> str:
        return items[int(self._rng.random() * len(items))]

    def row(self, number: int) -> list[str]:
        rng = self._rng
        postcode, home_language = self._postcodes[int(rng.random() * len(self._postcodes))]
        language = (
            home_language if rng.random() < 0.9 else self._other.get(home_language, home_language)
        )
        firsts, lasts = self._names[language]
        first, first_ascii = firsts[int(rng.random() * len(firsts))]
        last, last_ascii = lasts[int(rng.random() * len(lasts))]
        phone = self._phone(postcode)
        email = ""
        if rng.random() < 0.9:
            email = f"{first_ascii}.{last_ascii}.{number}@{self._pick(_DOMAINS)}"
        created_index = int(rng.random() * len(self._dates))
        tags = ",".join(sorted({self._pick(_TAGS) for _ in range(int(rng.random() * 3))}))
        return [
            f"HZ{number:07d}",
            first,
            last,
            phone,
            email,
            postcode,
            language,
            LEVELS[bisect(_LEVEL_CUMULATIVE, rng.random())],
            tags,
            *self._consent(bool(email), 0.8, created_index),
            *self._consent(bool(phone), 0.6, created_index),
            *self._consent(is_mobile(phone), 0.45, created_index),
            self._dates[created_index],
        ]

    def _phone(self, postcode: str) -> str:
        draw = self._rng.random()
        if self._phones is not None:
            if draw >= 0.88:
                return ""
            stem = self._phones[0 if draw < 0.68 else 1]
            for _ in range(20):  # random last digits may fall in an unassigned range
                number = f"{stem}{self._rng.randrange(1_000_000):06d}"
                if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                    return number
            return ""
        if draw < 0.68:
            return f"+32{self._pick(_MOBILE_PREFIXES)}{self._rng.randrange(1_000_000):06d}"
        if draw < 0.88:
            area = self._pick(_AREA_CODES[postcode[0]])
            while True:  # some draws fall in unassigned ranges (04 9…): draw again
                digits = 8 - len(area)
                number = f"+32{area}{self._rng.randrange(10**digits):0{digits}d}"
                if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                    return number
        return ""

    def _consent(self, possible: bool, rate: float, created_index: int) -> tuple[str, str, str]:
        """(flag, date, source); a refusal is written as "no" or left empty, as CRMs do."""
        if possible and self._rng.random() < rate:
            given = created_index + int(self._rng.random() * (len(self._dates) - created_index))
            return "yes", self._dates[given], self._pick(_SOURCES)
        return ("no" if self._rng.random() < 0.5 else ""), "", ""

    def ledger_entries(self, row: list[str]) -> list[tuple[str, str, str]]:
        """Ledger lines for a supporter's phone and email, written as people type them."""
        phone, email = row[REQUIRED_COLUMNS.index("phone")], row[REQUIRED_COLUMNS.index("email")]
        added, reason = self._pick(self._dates), self._pick(_LEDGER_REASONS)
        entries = []
        if phone:
            national = phonenumbers.format_number(
                phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL
            )
            typed = phone if self._rng.random() < 0.5 else national
            entries.append((typed, added, reason))
        if email and (not phone or self._rng.random() < 0.5):
            entries.append((email.upper() if self._rng.random() < 0.3 else email, added, reason))
        return entries


_OTHER_LANGUAGE = {"fr": "nl", "nl": "fr", "de": "fr"}


def _locale(lang: str, country: str) -> str:
    """Faker's locale for names in `lang` in `country` (fr_FR, nl_BE…), else a close one."""
    candidate = f"{lang.split('-')[0]}_{country}"
    if candidate in AVAILABLE_LOCALES:
        return candidate
    return _NAME_LOCALES.get(lang, "en_US")


def _example_phones(country: str) -> tuple[str, str]:
    """E.164 stems (all but the last 6 digits) of a mobile and a fixed example number."""
    stems = []
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
        number = phonenumbers.example_number_for_type(country, kind)
        if number is None:
            raise ValueError(f"no example phone number for country {country!r}")
        stems.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[:-6])
    return stems[0], stems[1]


def _name_pools(locale: str, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Distinct first and last names of `locale`, each with its ASCII form for emails."""
    fake = Faker(locale)
    fake.seed_instance(seed)
    firsts = dict.fromkeys(fake.first_name() for _ in range(_POOL_SIZE))
    lasts = dict.fromkeys(fake.last_name() for _ in range(_POOL_SIZE))
    return [(n, _ascii(n)) for n in firsts], [(n, _ascii(n)) for n in lasts]


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in decomposed.lower() if c.isalnum()) or "x"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m provisioner.supporters.generate`."""
    parser = argparse.ArgumentParser(description="Write a sample supporter export.")
    parser.add_argument("--spec", type=Path, default=Path("nations.yaml"))
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    existing = [p for p in (args.out / SUPPORTERS_FILE, args.out / LEDGER_FILE) if p.exists()]
    if existing and not args.force:
        print(
            f"error: {existing[0]} exists; it may be real data. Use --force to overwrite.",
            file=sys.stderr,
        )
        return 2
    try:
        geography = load_geography(args.spec)
        result = generate(
            args.out, geography.postcode_languages(), args.count, args.seed, geography.country
        )
    except (SupporterFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {result.supporters} supporters to {result.supporters_path} and "
        f"{result.ledger_entries} do-not-contact entries to {result.ledger_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
