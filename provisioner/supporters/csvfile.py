"""Opening the CSV files people hand us: UTF-8 with or without BOM, `,` `;` or tab.

Belgian Excel saves "CSV" with semicolons, so the delimiter is detected from the
header line. A file-level problem (missing, unreadable, no header, a header that is
not UTF-8) raises SupporterFileError; a broken record is yielded with a reason for
the caller to quarantine, so one bad line never stops a run.

Bytes that are not UTF-8 do not stop the reading either: they are decoded with
`surrogateescape` (each such byte becomes one lone surrogate, U+DC80-U+DCFF), and the
records holding them are reported with their exact line. Scanning every record for
surrogates would cost ingestion speed, so the decoder's error handler counts the
bytes it replaced, and chunks are scanned only while fewer were found than replaced.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .errors import SupporterFileError

_DELIMITERS = (",", ";", "\t")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
NOT_UTF8 = "holds bytes that are not UTF-8"
_ERRORS = "provisioner-count-surrogateescape"
_replaced = threading.local()  # per thread: decoding happens in the reading thread


def _count_and_escape(error: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(error, UnicodeDecodeError):
        _replaced.count = getattr(_replaced, "count", 0) + error.end - error.start
    return codecs.lookup_error("surrogateescape")(error)


codecs.register_error(_ERRORS, _count_and_escape)


def _replacements() -> int:
    """How many undecodable bytes the decoder replaced so far in this thread."""
    return int(getattr(_replaced, "count", 0))


def undecodable(fields: list[str]) -> bool:
    """True when a record holds bytes that were not UTF-8."""
    return any(map(_UNDECODABLE.search, fields))


def _undecodable_bytes(fields: list[str]) -> int:
    return sum(len(_UNDECODABLE.findall(value)) for value in fields)


@dataclass
class Chunk:
    """Records read together, and where they are in the file."""

    records: list[list[str]]
    first_line: int
    last_line: int
    lines: list[int] | None = None  # line of each record, computed when first needed
    broken: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    not_utf8: list[int] = field(default_factory=list)  # indexes of records not UTF-8

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
        before = _replacements()
        first_line = handle.readline()
        # Bytes of later lines the decoder replaced while reading ahead of the header.
        self._replaced = _replacements() - before
        if not first_line.strip():
            raise SupporterFileError(f"{path}: the file is empty; expected a header line first")
        if _UNDECODABLE.search(first_line):
            raise SupporterFileError(
                f"{path}:1: the header line {NOT_UTF8}; save the file again as "
                "'CSV UTF-8' and retry"
            )
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
        `Chunk.broken`. Both list records that are not UTF-8 in `Chunk.not_utf8`.
        """
        if careful:
            numbered = self.records(check_utf8=False)
            while batch := list(itertools.islice(numbered, size)):
                lines, fields, problems = (list(column) for column in zip(*batch, strict=True))
                broken = [
                    (line, problem)
                    for line, problem in zip(lines, problems, strict=True)
                    if problem
                ]
                chunk = Chunk(fields, lines[0], lines[-1], lines, broken)
                chunk.not_utf8 = [i for i, record in enumerate(fields) if undecodable(record)]
                yield chunk
            return
        reader = self._reader
        found = 0  # undecodable bytes found in records so far
        while True:
            first_line = reader.line_num + 1
            before = _replacements()
            records = list(itertools.islice(reader, size))
            # Only this reader decoded in this thread meanwhile; the decoder reads ahead,
            # so bytes replaced now may lie in a later chunk: scan until all are found.
            self._replaced += _replacements() - before
            if not records:
                return
            chunk = Chunk(records, first_line, reader.line_num)
            if found < self._replaced:
                chunk.not_utf8 = [i for i, record in enumerate(records) if undecodable(record)]
                found += sum(_undecodable_bytes(records[i]) for i in chunk.not_utf8)
            yield chunk

    def records(self, check_utf8: bool = True) -> Iterator[tuple[int, list[str], str]]:
        """Yield (first line number, fields, "") per record, or (line, [], reason) if broken.

        Blank lines are skipped: they hold no supporter. With `check_utf8`, a record
        holding bytes that are not UTF-8 is broken too.
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
            if check_utf8 and undecodable(fields):
                yield start, [], f"the record {NOT_UTF8}"
            elif fields:
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
        handle = path.open(encoding="utf-8-sig", errors=_ERRORS, newline="")
    except FileNotFoundError:
        raise SupporterFileError(f"{path}: file not found; {hint}") from None
    except IsADirectoryError:
        raise SupporterFileError(f"{path}: is a directory, expected a CSV file") from None
    except OSError as exc:
        raise SupporterFileError(
            f"{path}: cannot be read ({exc.strerror}); check the file's permissions"
        ) from None
    with handle:
        yield CsvTable(path, handle)
