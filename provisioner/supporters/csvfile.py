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
from pathlib import Path
from typing import TextIO

from .errors import SupporterFileError

_DELIMITERS = (",", ";", "\t")


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
