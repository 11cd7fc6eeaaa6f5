"""Reading the central supporter export and the do-not-contact ledger.

Every record is validated and normalised (phones to E.164, emails lower-cased). A bad
record is quarantined with its line number and reason; it never stops the run and is
never dropped silently. Records are validated a chunk at a time, column by column
(see `columns`), which is what makes a million rows take seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from ..gcpause import gc_paused
from .columns import ChunkValidator, Problems, duplicate_id
from .csvfile import Chunk, CsvTable, open_table
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
# A few records with bytes that are not UTF-8 (a name pasted from elsewhere) are
# quarantined; more than this share means the file was saved in another encoding,
# and importing the rest would silently drop everyone with an accent in their name.
NOT_UTF8_MAX_SHARE = 0.01
NOT_UTF8_REASON = (
    "the record holds bytes that are not UTF-8 (shown as \\xNN in raw); "
    "retype the value or save the file as 'CSV UTF-8'"
)


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


def read_supporters(
    path: Path, geography: Geography | None = None, columnar: bool = True
) -> Ingestion:
    """Read, validate and normalise a supporter CSV; bad records go to `quarantined`.

    `geography` (default: Belgium's rules) gives the postcode format and the country
    whose national phone format is read. A clean file is parsed by Arrow (`arrowcsv`);
    `columnar=False` reads it with the csv module only, as any other file is (tests
    hold the two to the same result)."""
    try:
        return _read_supporters(path, columnar, careful=False, geography=geography)
    except csv.Error:
        # The C parser gave up on a record (a field over its size limit, as after a
        # runaway quote) and took its chunk with it: read again record by record, so
        # that only that record is quarantined.
        return _read_supporters(path, columnar=False, careful=True, geography=geography)


def _read_supporters(
    path: Path, columnar: bool, careful: bool, geography: Geography | None
) -> Ingestion:
    with open_table(path, SUPPORTERS_HINT) as table, gc_paused():
        positions = _positions(table)
        ingestion = _read_with_arrow(table, positions, geography) if columnar else None
        not_utf8 = 0  # Arrow reads only files that are UTF-8 throughout
        if ingestion is None:
            ingestion = Ingestion(path=path, delimiter=table.delimiter)
            validator = _validator(table, positions, geography)
            not_utf8 = _ingest_chunks(ingestion, validator, table, careful)
    ingestion.quarantined.sort(key=attrgetter("line"))
    _refuse_if_mostly_not_utf8(ingestion, not_utf8)
    return ingestion


def _read_with_arrow(
    table: CsvTable, positions: list[int], geography: Geography | None
) -> Ingestion | None:
    """The file read by Arrow, or None when the csv module must read it (`arrowcsv`)."""
    if table.line_num != 1:
        return None  # a quoted newline in the header: record lines are not line numbers
    from .arrowcsv import DistinctIds, Layout, NotForArrow, read_batches  # 0.1 s to import

    ingestion = Ingestion(path=table.path, delimiter=table.delimiter)
    validator = _validator(table, positions, geography)
    layout = Layout(table.delimiter, len(table.header), positions, validator.canonical_patterns())
    distinct = DistinctIds()
    kept: list[_KeptRecords] = []
    try:
        for batch in read_batches(table.path, layout, distinct):
            # Ids are claimed once for the whole file, below, most often proved distinct
            # by Arrow without a look at them here.
            rows, problems = validator.validate_columns(
                batch.columns, batch.canonical, claim_ids=False
            )
            ingestion.rows.extend(rows)
            ingestion.quarantined.extend(
                # One record per line (arrowcsv's condition): the header is line 1.
                Quarantined(batch.first + i + 2, "; ".join(why), table.raw(batch.fields(i)))
                for i, why in problems.items()
            )
            kept.append(_KeptRecords(batch.first, batch.table.num_rows, frozenset(problems)))
    except NotForArrow:
        return None
    if not distinct.proved:
        _refuse_duplicate_ids(ingestion, table, kept)
    return ingestion


@dataclass(frozen=True)
class _KeptRecords:
    """Which records of one Arrow batch became rows: all but the refused ones."""

    first: int  # the batch's first record: 0 is line 2
    count: int
    refused: frozenset[int]

    def lines(self) -> Iterator[int]:
        return (self.first + i + 2 for i in range(self.count) if i not in self.refused)


def _refuse_duplicate_ids(ingestion: Ingestion, table: CsvTable, kept: list[_KeptRecords]) -> None:
    """Refuse each row whose id an earlier row has, as the csv module's path does chunk
    by chunk (`ChunkValidator`): only a valid record claims its id, so that a broken
    record never makes the valid one with the same id look like a duplicate."""
    ids = list(map(attrgetter("id"), ingestion.rows))
    seen: set[str] = set()
    later = []  # rows whose id an earlier row claimed
    for index, value in enumerate(ids):
        if value in seen:
            later.append(index)
        seen.add(value)
    if not later:
        return
    lines = list(chain.from_iterable(batch.lines() for batch in kept))  # each row's line
    assert len(lines) == len(ids)
    raw = _raw_records(table, {lines[index] for index in later})
    ingestion.quarantined.extend(
        Quarantined(lines[index], duplicate_id(ids[index]), raw[lines[index]]) for index in later
    )
    refused = set(later)
    ingestion.rows = [row for index, row in enumerate(ingestion.rows) if index not in refused]


def _raw_records(table: CsvTable, lines: set[int]) -> dict[int, str]:
    """The raw text of the records at `lines`, read again from a file of one record a
    line (arrowcsv's condition), where the csv module reads each line as Arrow did."""
    found = {}
    with table.path.open(encoding="utf-8", newline="") as handle:
        for line, text in enumerate(handle, start=1):
            if line in lines:
                found[line] = table.raw(next(csv.reader([text], delimiter=table.delimiter)))
    return found


def _ingest_chunks(
    ingestion: Ingestion, validator: ChunkValidator, table: CsvTable, careful: bool
) -> int:
    """Read the rest of `table` with the csv module; returns the records not UTF-8."""
    not_utf8 = 0
    for chunk in table.chunks(CHUNK_ROWS, careful):
        rows, problems = _validate(validator, chunk)
        not_utf8 += len(chunk.not_utf8)
        ingestion.rows.extend(rows)
        ingestion.quarantined.extend(
            Quarantined(chunk.line_of(index), "; ".join(reasons), table.raw(chunk.records[index]))
            for index, reasons in problems.items()
        )
        ingestion.quarantined.extend(Quarantined(line, why, "") for line, why in chunk.broken)
    return not_utf8


def _validate(validator: ChunkValidator, chunk: Chunk) -> tuple[list[Supporter], Problems]:
    """Validate a chunk; records that are not UTF-8 are set aside before validation.

    Set aside first, so that such a record never claims an id (a later valid record
    with the same id is then kept) and gets one reason, not one per garbled column.
    """
    if not chunk.not_utf8:
        return validator.validate(chunk.records)
    bad = set(chunk.not_utf8)
    kept = [i for i in range(len(chunk.records)) if i not in bad]
    rows, found = validator.validate([chunk.records[i] for i in kept])
    problems = {kept[i]: reasons for i, reasons in found.items()}
    problems.update((i, [NOT_UTF8_REASON]) for i in chunk.not_utf8)
    return rows, problems


def _refuse_if_mostly_not_utf8(ingestion: Ingestion, not_utf8: int) -> None:
    if not_utf8 <= 1 or not_utf8 <= NOT_UTF8_MAX_SHARE * ingestion.total:
        return
    first = next(q.line for q in ingestion.quarantined if q.reason == NOT_UTF8_REASON)
    raise SupporterFileError(
        f"{ingestion.path}: {not_utf8:,} of {ingestion.total:,} records hold bytes that are "
        f"not UTF-8 (the first at line {first}): the file was saved in another encoding "
        "(Windows-1252 or Latin-1?). Save it again as 'CSV UTF-8' and retry; nothing "
        "was imported"
    )


def _positions(table: CsvTable) -> list[int]:
    """Where each column of COLUMNS is in the file; absent optional ones at the end."""
    positions = table.require(REQUIRED_COLUMNS)
    present = [c for c in OPTIONAL_COLUMNS if c in table.header]
    if present != list(OPTIONAL_COLUMNS[: len(present)]):
        present = []  # optional columns count only in their order: none, or the first ones
    return positions + [table.header.index(column) for column in present]


def _validator(
    table: CsvTable, positions: list[int], geography: Geography | None
) -> ChunkValidator:
    if geography is None:
        return ChunkValidator(positions, len(table.header))
    return ChunkValidator(
        positions, len(table.header), geography.country, geography.postcode_pattern
    )


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
