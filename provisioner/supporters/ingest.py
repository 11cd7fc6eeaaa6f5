"""Reading the central supporter export and the do-not-contact ledger.

Every record is validated and normalised (phones to E.164, emails lower-cased). A bad
record is quarantined with its line number and reason; it never stops the run and is
never dropped silently. Records are validated a chunk at a time, column by column
(see `columns`), which is what makes a million rows take seconds.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from .columns import ChunkValidator
from .csvfile import CsvTable, open_table
from .errors import SupporterFileError
from .normalize import DEFAULT_REGION, normalize_email, normalize_phone
from .records import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, Ledger, Supporter

if TYPE_CHECKING:
    from provisioner.geo import Geography

SUPPORTERS_HINT = (
    "export it from the CRM, or generate the sample with "
    "`python -m provisioner.supporters.generate --spec nations.yaml --out data`"
)
LEDGER_HINT = "create it with a `contact` column (one phone or email per line), even if empty"
LEDGER_COLUMNS = ("contact",)
CHUNK_ROWS = 2_000  # small enough for a chunk's columns to stay in the CPU cache


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


def read_supporters(path: Path, geography: Geography | None = None) -> Ingestion:
    """Read, validate and normalise a supporter CSV; bad records go to `quarantined`.

    `geography` (default: Belgium's rules) gives the postcode format and the country
    whose national phone format is read."""
    try:
        return _read_supporters(path, careful=False, geography=geography)
    except csv.Error:
        # The C parser gave up on a record (a field over its size limit, as after a
        # runaway quote) and took its chunk with it: read again record by record, so
        # that only that record is quarantined.
        return _read_supporters(path, careful=True, geography=geography)


def _read_supporters(path: Path, careful: bool, geography: Geography | None) -> Ingestion:
    with open_table(path, SUPPORTERS_HINT) as table, _gc_paused():
        validator = _validator(table, geography)
        ingestion = Ingestion(path=path, delimiter=table.delimiter)
        for chunk in table.chunks(CHUNK_ROWS, careful):
            rows, problems = validator.validate(chunk.records)
            ingestion.rows.extend(rows)
            ingestion.quarantined.extend(
                Quarantined(
                    chunk.line_of(index), "; ".join(reasons), table.raw(chunk.records[index])
                )
                for index, reasons in problems.items()
            )
            ingestion.quarantined.extend(Quarantined(line, why, "") for line, why in chunk.broken)
    ingestion.quarantined.sort(key=attrgetter("line"))
    return ingestion


def _validator(table: CsvTable, geography: Geography | None) -> ChunkValidator:
    positions = table.require(REQUIRED_COLUMNS)
    present = [c for c in OPTIONAL_COLUMNS if c in table.header]
    if present != list(OPTIONAL_COLUMNS[: len(present)]):
        present = []  # optional columns count only in their order: none, or the first ones
    positions += [table.header.index(column) for column in present]
    if geography is None:
        return ChunkValidator(positions, len(table.header))
    return ChunkValidator(
        positions, len(table.header), geography.country, geography.postcode_pattern
    )


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


def read_ledger(path: Path, country: str = DEFAULT_REGION) -> Ledger:
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
                    phones.add(normalize_phone(value, country))
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
