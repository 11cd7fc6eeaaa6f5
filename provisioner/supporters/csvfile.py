"""Opening the CSV files people hand us: UTF-8 with or without BOM, `,` `;` or tab.

Belgian Excel saves "CSV" with semicolons, so the delimiter is detected from the
header line. A file-level problem (missing, unreadable, not UTF-8, no header) raises
SupporterFileError; a broken record is yielded with a reason for the caller to
quarantine, so one bad line never stops a run.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .errors import SupporterFileError

_DELIMITERS = (",", ";", "\t")


@dataclass
class Chunk:
    """Records read together, and where they are in the file."""

    records: list[list[str]]
    first_line: int
    last_line: int
    lines: list[int] | None = None  # line of each record, computed when first needed
    broken: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def line_of(self, index: int) -> int:
        """Physical line where records[index] starts."""
        if self.lines is None:
            if self.last_line - self.first_line + 1 == len(self.records):
                return self.first_line + index  # one line per record
            # Some quoted fields hold newlines: count them once for the whole chunk.
            self.lines, line = [], self.first_line
            for fields in self.records:
                self.lines.append(line)
                line += 1 + sum(value.count("\n") for value in fields)
        return self.lines[index]


class CsvTable:
    """An open CSV file: its normalised header and an iterator over its records."""

    def __init__(self, path: Path, handle: TextIO) -> None:
        self.path = path
        first_line = handle.readline()
        if not first_line.strip():
            raise SupporterFileError(f"{path}: the file is empty; expected a header line first")
        self.delimiter = max(_DELIMITERS, key=first_line.count)
        # The header goes through the reader too, so reader.line_num counts physical lines.
        self._reader = csv.reader(itertools.chain([first_line], handle), delimiter=self.delimiter)
        try:
            header = next(self._reader)
        except csv.Error as exc:
            raise SupporterFileError(
                f"{path}:1: the header line is not valid CSV ({exc})"
            ) from None
        self.header = [name.strip().lower() for name in header]

    @property
    def line_num(self) -> int:
        """Number of physical lines read so far."""
        return self._reader.line_num

    def require(self, columns: tuple[str, ...]) -> list[int]:
        """Positions of `columns` in the header; a missing column is a file error."""
        missing = [column for column in columns if column not in self.header]
        if missing:
            raise SupporterFileError(
                f"{self.path}:1: missing column(s) {', '.join(missing)}; "
                f"the header must name: {self.delimiter.join(columns)}"
            )
        return [self.header.index(column) for column in columns]

    def chunks(self, size: int, careful: bool = False) -> Iterator[Chunk]:
        """Yield the records in chunks of `size`.

        Fast mode lets the C parser fill a whole chunk and raises csv.Error when a
        record cannot be parsed (the chunk is then lost: read the file again
        carefully). Careful mode goes record by record and reports such records in
        `Chunk.broken`.
        """
        if careful:
            numbered = self.records()
            while batch := list(itertools.islice(numbered, size)):
                lines, fields, problems = (list(column) for column in zip(*batch, strict=True))
                broken = [
                    (line, problem)
                    for line, problem in zip(lines, problems, strict=True)
                    if problem
                ]
                yield Chunk(fields, lines[0], lines[-1], lines, broken)
            return
        reader = self._reader
        while True:
            first_line = reader.line_num + 1
            records = list(itertools.islice(reader, size))
            if not records:
                return
            yield Chunk(records, first_line, reader.line_num)

    def records(self) -> Iterator[tuple[int, list[str], str]]:
        """Yield (first line number, fields, "") per record, or (line, [], reason) if broken.

        Blank lines are skipped: they hold no supporter.
        """
        reader = self._reader
        line = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a NUL byte; the reader resumes at the next line
                yield line + 1, [], f"unreadable CSV record: {exc}"
                line = reader.line_num
                continue
            start, line = line + 1, reader.line_num
            if fields:
                yield start, fields, ""

    def raw(self, fields: list[str]) -> str:
        """The record as it would appear in this file, for the quarantine."""
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="").writerow(fields)
        return buffer.getvalue()


@contextmanager
def open_table(path: Path, hint: str) -> Iterator[CsvTable]:
    """Open `path` as a CsvTable; `hint` tells the user how to get the file if missing."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise SupporterFileError(f"{path}: file not found; {hint}") from None
    except IsADirectoryError:
        raise SupporterFileError(f"{path}: is a directory, expected a CSV file") from None
    except OSError as exc:
        raise SupporterFileError(
            f"{path}: cannot be read ({exc.strerror}); check the file's permissions"
        ) from None
    with handle:
        table: CsvTable | None = None
        try:
            table = CsvTable(path, handle)
            yield table
        except UnicodeDecodeError:
            where = f" after line {table.line_num}" if table else ""
            raise SupporterFileError(
                f"{path}: is not UTF-8 (undecodable bytes{where}); "
                "save it again as 'CSV UTF-8' and retry"
            ) from None
