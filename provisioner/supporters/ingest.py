"""Reading the central supporter export and the do-not-contact ledger.

Every record is validated and normalised (phones to E.164, emails lower-cased). A bad
record is quarantined with its line number and reason; it never stops the run and is
never dropped silently. Low-cardinality fields (postcodes, dates, levels, tags,
consents) are validated once per distinct value and shared between rows, which keeps
ingestion fast and the rows small.
"""

from __future__ import annotations

import gc
import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

from .csvfile import CsvTable, open_table
from .errors import SupporterFileError
from .normalize import normalize_email, normalize_phone
from .records import CHANNELS, COLUMNS, LANGUAGES, LEVELS, Consent, Ledger, Supporter

SUPPORTERS_HINT = (
    "export it from the CRM, or generate the sample with "
    "`python -m provisioner.supporters.generate --spec nations.yaml --out data`"
)
LEDGER_HINT = "create it with a `contact` column (one phone or email per line), even if empty"
LEDGER_COLUMNS = ("contact",)

_K = TypeVar("_K")
_V = TypeVar("_V")

_POSTCODE = re.compile(r"[1-9][0-9]{3}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TAG = re.compile(r"[a-z0-9][a-z0-9:_-]*")
_CONSENT_VALUES = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "": False,
}
# A cell starting with one of these runs as a formula when a nation opens the CSV
# in a spreadsheet (CSV injection), so such names are refused at the door.
_FORMULA_STARTS = "=+-@\t\r"


@dataclass(frozen=True)
class Quarantined:
    """A record that was not ingested: where it was, why, and its content."""

    line: int
    reason: str
    raw: str


@dataclass
class Ingestion:
    """Result of reading a supporter file."""

    path: Path
    delimiter: str
    rows: list[Supporter] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Records read (ingested + quarantined)."""
        return len(self.rows) + len(self.quarantined)


def read_supporters(path: Path) -> Ingestion:
    """Read, validate and normalise a supporter CSV; bad records go to `quarantined`."""
    with open_table(path, SUPPORTERS_HINT) as table, _gc_paused():
        parse = _row_parser(table)
        ingestion = Ingestion(path=path, delimiter=table.delimiter)
        append_row = ingestion.rows.append
        for line, fields, problem in table.records():
            if not problem:
                try:
                    append_row(parse(fields))
                    continue
                except ValueError as exc:
                    problem = str(exc)
            ingestion.quarantined.append(Quarantined(line, problem, table.raw(fields)))
    return ingestion


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building rows.

    Rows are tuples of strings and cannot form cycles, but each allocation burst makes
    the collector rescan every row already read: at a million rows that is a third of
    the ingestion time. Collection resumes as before afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_ledger(path: Path) -> Ledger:
    """Read the do-not-contact ledger; any unreadable entry is a file error.

    Unlike supporters, a broken ledger line stops the run: skipping it could export
    someone who asked never to be contacted.
    """
    phones: set[str] = set()
    emails: set[str] = set()
    problems: list[str] = []
    with open_table(path, LEDGER_HINT) as table:
        (position,) = table.require(LEDGER_COLUMNS)
        for line, fields, problem in table.records():
            value = fields[position] if position < len(fields) else ""
            try:
                if problem:
                    raise ValueError(problem)
                if "@" in value:
                    emails.add(normalize_email(value))
                elif value.strip():
                    phones.add(normalize_phone(value))
            except ValueError as exc:
                problems.append(f"{path}:{line}: {exc}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise SupporterFileError(
            f"{path}: {len(problems)} do-not-contact entries cannot be read; fix them "
            f"so nobody on the ledger is exported:\n  {shown}{more}"
        )
    return Ledger(phones=frozenset(phones), emails=frozenset(emails))


class _Memo(dict[_K, _V]):
    """Validated values by raw key; `check` runs once per distinct key.

    A hit is a plain dict lookup in C, and rows share one object per distinct value,
    which is what keeps a million rows fast and small.
    """

    def __init__(self, check: Callable[[_K], _V]) -> None:
        super().__init__()
        self._check = check

    def __missing__(self, key: _K) -> _V:
        value = self[key] = self._check(key)
        return value


# The generated namedtuple constructor adds a Python call per row; tuple.__new__ does not.
_new_supporter = tuple.__new__


def _row_parser(table: CsvTable) -> Callable[[list[str]], Supporter]:
    """A function turning one record into a Supporter, or raising ValueError(reason).

    Memos are closure variables rather than attributes: at a million rows, attribute
    lookups alone cost a tenth of the ingestion time.
    """
    pick = operator.itemgetter(*table.require(COLUMNS))
    width = len(table.header)
    ids: set[str] = set()
    first_names = _Memo(partial(_check_text, column="first_name"))
    last_names = _Memo(partial(_check_text, column="last_name"))
    postcodes = _Memo(_check_postcode)
    languages = _Memo(_check_language)
    levels = _Memo(_check_level)
    tag_sets = _Memo(_check_tags)
    created_dates = _Memo(partial(_check_date, column="created_at"))
    email_flag, phone_flag, sms_flag = (_Memo(partial(_check_flag, channel=c)) for c in CHANNELS)
    email_consents, phone_consents, sms_consents = (_ConsentMemo(c) for c in CHANNELS)

    def parse(fields: list[str]) -> Supporter:
        if len(fields) != width:
            raise ValueError(f"expected {width} fields, found {len(fields)}")
        (sid, first, last, phone, email, postcode, language, level, tags,
         e_yes, e_date, e_source, p_yes, p_date, p_source, s_yes, s_date, s_source,
         created) = pick(fields)  # fmt: skip
        sid = sid.strip()
        if not sid or sid in ids or sid[0] in _FORMULA_STARTS:
            _reject_id(sid, ids)
        row: Supporter = _new_supporter(Supporter, (
            sid,
            first_names[first],
            last_names[last],
            normalize_phone(phone),
            normalize_email(email),
            postcodes[postcode],
            languages[language],
            levels[level],
            tag_sets[tags],
            email_consents[e_date][e_source] if email_flag[e_yes] else None,
            phone_consents[p_date][p_source] if phone_flag[p_yes] else None,
            sms_consents[s_date][s_source] if sms_flag[s_yes] else None,
            created_dates[created],
        ))  # fmt: skip
        ids.add(sid)
        return row

    return parse


def _reject_id(sid: str, seen: set[str]) -> None:
    if not sid:
        raise ValueError("id is empty")
    if sid in seen:
        raise ValueError(f"duplicate id {sid!r} (an earlier line has it)")
    _check_text(sid, "id")


def _check_text(raw: str, column: str) -> str:
    value = raw.strip()
    if value and value[0] in _FORMULA_STARTS:
        raise ValueError(
            f"{column} {raw!r} starts with {value[0]!r}, which spreadsheets run as a formula"
        )
    return value


def _check_date(raw: str, column: str) -> str:
    value = raw.strip()
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} {raw!r} is not a date (YYYY-MM-DD)") from None
    return value


def _check_flag(raw: str, channel: str) -> bool:
    flag = _CONSENT_VALUES.get(raw.strip().lower())
    if flag is None:
        raise ValueError(f"{channel}_consent {raw!r} must be yes or no")
    return flag


class _ConsentMemo(dict[str, _Memo[str, Consent]]):
    """Consents given on a channel, by date then source.

    Two lookups of plain strings per row; a (date, source) tuple key costs twice as
    much. A refusal's date and source are not looked at: they are not needed downstream.
    """

    def __init__(self, channel: str) -> None:
        super().__init__()
        self._channel = channel

    def __missing__(self, when: str) -> _Memo[str, Consent]:
        day = _check_date(when, f"{self._channel}_consent_date")
        sources = self[when] = _Memo(partial(_consent_from, day=day, channel=self._channel))
        return sources


def _consent_from(source: str, day: str, channel: str) -> Consent:
    if not source.strip():
        raise ValueError(f"{channel}_consent is yes but {channel}_consent_source is empty")
    return Consent(day, _check_text(source, f"{channel}_consent_source"))


def _check_postcode(raw: str) -> str:
    value = raw.strip()
    if not _POSTCODE.fullmatch(value):
        raise ValueError(f"postcode {raw!r} is not a Belgian postcode (4 digits, 1000-9999)")
    return value


def _check_language(raw: str) -> str:
    value = raw.strip().lower()
    if value not in LANGUAGES:
        raise ValueError(f"language {raw!r} must be one of {', '.join(sorted(LANGUAGES))}")
    return value


def _check_level(raw: str) -> str:
    value = raw.strip().lower()
    if value not in LEVELS:
        raise ValueError(f"level {raw!r} must be one of {', '.join(LEVELS)}")
    return LEVELS[LEVELS.index(value)]  # the shared constant, not a per-row copy


def _check_tags(raw: str) -> tuple[str, ...]:
    names = (name.strip().lower() for name in raw.replace("|", ",").split(","))
    tags = tuple(dict.fromkeys(name for name in names if name))
    for tag in tags:
        if not _TAG.fullmatch(tag):
            raise ValueError(
                f"tag {tag!r} is not a tag: use lower-case letters, digits, ':', '_' and '-'"
            )
    return tags
