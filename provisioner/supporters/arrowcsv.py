"""The fast reader of a clean export: Arrow's CSV parser, one column at a time.

Python's csv module parses about 560,000 rows/s on the development machine, and
transposing its records into columns and looking each value up in the column memos
costs as much again: that capped ingestion near 100,000 rows/s. Arrow's parser
(pyarrow, C++) hands over columns directly, a batch at a time, and dictionary-encodes
a low-cardinality column in C, so each distinct value is checked once and rows only
carry an index (see `columns.Encoded`): 2.4 times less CPU for 200,000 rows.

Only a file that both parsers read alike takes this path: one record per physical
line (no quoted newline, no blank line, no lone carriage return), valid UTF-8, no NUL
byte, every record with the header's field count and no field over the csv module's
size limit. Anything else, or any error of Arrow's, raises NotForArrow and the file is
read by `csvfile` as before, which quarantines each such record with its line. Memory:
pyarrow's library maps about 55 MB, and at a million rows the peak RSS is about 150 MB
above the csv module's (627 MB against 461 MB). Validation is
the same `ChunkValidator` either way; tests/test_ingest_arrow.py compares both readers
on the same files.
"""

from __future__ import annotations

import contextlib
import csv
import queue
import threading
from collections import defaultdict
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from .columns import Encoded
from .records import COLUMNS

SCAN_BYTES = 1 << 24  # the byte scan reads 16 MiB at a time
# Arrow's parse block: about 10,000 records of the sample export. Arrow reads some
# twenty blocks ahead, so the block bounds memory: 36 MB at 1 MiB, 162 MB at 8 MiB;
# below 2 MiB the cost per batch shows.
BLOCK_BYTES = 1 << 21
AHEAD = 2  # batches made ahead of the one being validated (each ~10,000 rows)
# Columns whose values are nearly all distinct: dictionary-encoding them would cost
# more than it saves.
UNIQUE_COLUMNS = frozenset({"id", "phone", "email"})
DICTIONARY = pa.dictionary(pa.int32(), pa.string())
# A column's distinct values are carried from batch to batch (`_Vocabulary`) up to this
# many; a column with more (surnames in a national file) starts afresh past it, so that
# no batch costs much more than its own distinct values would.
VOCABULARY_MAX = 1 << 15
# A batch whose column holds this many distinct values or fewer (consents, languages,
# levels) hands them over as they are: each call of an Arrow kernel leaves the GIL and
# waits to take it back from the validating thread, which costs more than it saves.
FEW_VALUES = 64


class NotForArrow(Exception):
    """The file holds something that only the csv module reads as that module does."""


@dataclass(frozen=True)
class Batch:
    """Consecutive records of the file: one column per COLUMNS, and the first's index."""

    first: int  # index of the first record in the file (0 = the line after the header)
    columns: list[Sequence[str]]
    table: pa.RecordBatch  # every field as read, for the raw text of a quarantined record
    # Columns whose every value matches its `Layout.canonical` pattern, proved here.
    canonical: frozenset[str] = frozenset()

    def fields(self, index: int) -> list[str]:
        """The fields of record `index` of this batch, in the file's order."""
        return [self.table.column(i)[index].as_py() for i in range(self.table.num_columns)]


@dataclass(frozen=True)
class Layout:
    """What the header says: the delimiter, how many fields, where each column is."""

    delimiter: str
    width: int
    positions: Sequence[int]  # position in the file of each column of COLUMNS present
    # Column -> the pattern of the values its validator keeps as they are (phones and
    # emails already canonical): each batch says which columns match it whole, matched
    # by Arrow (RE2, without the GIL) instead of Python's re in the validating thread.
    canonical: Mapping[str, str] = field(default_factory=dict)


@dataclass
class DistinctIds:
    """Whether no two records of the file have the same id as the validator compares
    them (stripped), proved by Arrow in the batch thread over the whole file; set once
    every batch is read. Only a proof: False says nothing, the caller then looks."""

    proved: bool = False


# Ids that begin and end with an ASCII letter or digit are kept as written by the
# validator's strip(); others prove nothing (the caller compares them itself).
_TRIMMED_ID = "^[0-9A-Za-z](?:.*[0-9A-Za-z])?$"


def read_batches(path: Path, layout: Layout, ids: DistinctIds | None = None) -> Iterator[Batch]:
    """The file's records after the header as batches of columns, read as they come.

    Raises NotForArrow, possibly after some batches (the record count is known at the
    end only), when the file must be read by the csv module: the caller then drops
    what it made of the batches and reads the file that way.

    The batches are made ahead in a thread of their own: Arrow parses, dictionary-
    encodes and proves canonical columns without holding the GIL, so that work runs on
    the other core while the caller validates the previous batch in Python (ingest and
    segmentation of 1,000,000 rows on 2 cores: 2.61 s before, 1.99 s with it, median of
    3). The thread has ended when the iteration does, however it ends. `ids`, when
    given, is set at the end of a whole iteration."""
    return _ahead(_batches(path, layout, ids))


def _ahead(batches: Generator[Batch, None, None]) -> Iterator[Batch]:
    """`batches`, each made in a worker thread while the previous one is consumed."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():  # the reader left early: read no further
                    return
                ready.put(("batch", batch))
            ready.put(("end", None))
        except BaseException as error:  # raised again in the reading thread
            ready.put(("error", error))
        finally:
            batches.close()  # the file closed and Arrow's memory released, here

    worker = threading.Thread(target=produce, name="arrow-batches", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # make room for a producer waiting to put, until it ends
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        worker.join()


def _batches(path: Path, layout: Layout, ids: DistinctIds | None) -> Generator[Batch, None, None]:
    first = 0
    every_id: list[pa.Array] | None = [] if ids is not None else None  # None: unproved
    vocabularies: dict[str, _Vocabulary] = defaultdict(_Vocabulary)  # column -> its values
    # The byte scan runs beside the parser, not before it: its verdict is needed at the
    # end only, and without the GIL (numpy) it delays neither the parser nor the reader
    # of the first batch (0.1 s at a million rows, all of it waited for before).
    with ThreadPoolExecutor(1, thread_name_prefix="arrow-scan") as scanner:
        lines = scanner.submit(_plain_lines, path)
        try:
            with pa.OSFile(str(path)) as source, _reader(source, layout) as reader:
                for batch in reader:
                    if not _fields_within_limit(batch) or _scanned_not_plain(lines):
                        raise NotForArrow
                    columns = _columns(batch, layout, vocabularies)
                    every_id = _with_trimmed_ids(every_id, batch.column(layout.positions[0]))
                    yield Batch(first, columns, batch, _canonical(batch, layout))
                    first += batch.num_rows
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
            raise NotForArrow from error  # not UTF-8, a record of another width, no record...
        finally:
            pa.default_memory_pool().release_unused()  # 35 MB kept by the allocator at 1M rows
        if lines.result() is None:
            raise NotForArrow  # a NUL byte or a lone carriage return
        if first + 1 != lines.result():
            raise NotForArrow  # a record over several lines, or a blank line Arrow skipped
    if ids is not None and every_id is not None:
        ids.proved = _count_distinct(every_id) == first


def _with_trimmed_ids(
    every_id: list[pa.Array] | None, batch_ids: pa.Array
) -> list[pa.Array] | None:
    """`every_id` with this batch's ids, or None once an id might change when stripped.

    The ids are kept until the end (about 14 MB at a million rows), when one count of
    the distinct values proves them all distinct, without the GIL: the validating thread
    then never compares them (a set of a million ids took it 0.2 s)."""
    if every_id is None:
        return None
    trimmed = pc.all(pc.match_substring_regex(batch_ids, _TRIMMED_ID)).as_py()
    if trimmed is False:  # (None: a batch of no records)
        return None
    every_id.append(batch_ids)
    return every_id


def _count_distinct(arrays: list[pa.Array]) -> int:
    return int(pc.count_distinct(pa.chunked_array(arrays, pa.string())).as_py())


def _canonical(batch: pa.RecordBatch, layout: Layout) -> frozenset[str]:
    """The columns of `layout.canonical` whose every value matches its pattern whole.

    Only a proof: a column not proved here is checked value by value as before. RE2
    never matches more than Python's re with these patterns (`\\d` is ASCII in RE2,
    any digit in Python), and a pattern RE2 cannot read proves nothing."""
    where = dict(zip(COLUMNS, layout.positions, strict=False))
    proved = set()
    for name, pattern in layout.canonical.items():
        if name not in where:
            continue
        try:
            matches = pc.match_substring_regex(batch.column(where[name]), f"^(?:{pattern})$")
        except pa.ArrowInvalid:
            continue
        if pc.all(matches).as_py() is not False:  # None: an empty batch
            proved.add(name)
    return frozenset(proved)


def _scanned_not_plain(lines: Future[int | None]) -> bool:
    """True once the byte scan has ruled the file out (no batch more is made then)."""
    return lines.done() and lines.result() is None


def _plain_lines(path: Path) -> int | None:
    """Physical lines of the file, or None when a byte rules the fast path out."""
    newlines = 0
    carried = b""  # the carriage returns that ended the previous block, judged with this one
    last = b""
    with path.open("rb") as handle:
        while block := handle.read(SCAN_BYTES):
            if b"\x00" in block:
                return None
            block = carried + block
            if b"\r" in block and _lone_carriage_return(block):
                return None
            newlines += _count(_bytes_of(block) == _LF)
            carried = block[len(block.rstrip(b"\r")) :]
            last = block[-1:]
    if carried:
        return None  # the file ends with a carriage return that no newline follows
    return newlines + (1 if last not in (b"\n", b"") else 0)  # a last line without newline


def _lone_carriage_return(block: bytes) -> bool:
    """True when a \r is not followed by \n (one ending the block is judged next time)."""
    data = _bytes_of(block)
    returns = data == _CR
    ending = len(block) - len(block.rstrip(b"\r"))
    return _count(returns) - ending != _count(returns[:-1] & (data[1:] == _LF))


# The scan counts bytes with numpy, which leaves the GIL while it compares (bytes.count
# holds it: 64 ms of the validating thread's time at a million rows).
_CR, _LF = ord("\r"), ord("\n")


def _bytes_of(block: bytes) -> npt.NDArray[np.uint8]:
    return np.frombuffer(block, dtype=np.uint8)


def _count(flags: npt.NDArray[np.bool_]) -> int:
    return int(np.count_nonzero(flags))


def _reader(source: pa.NativeFile, layout: Layout) -> pcsv.CSVStreamingReader:
    # A file, not a path: Arrow would decompress a path by its name's extension.
    names = [f"f{i}" for i in range(layout.width)]
    return pcsv.open_csv(
        source,
        read_options=pcsv.ReadOptions(
            # Arrow's own threads: no faster here (measured again with the batch thread:
            # 1,000,000 rows in 1.93 s against 1.99 s, within the noise), and no pool of
            # threads left running in a process that forks its build workers next.
            skip_rows=1,
            column_names=names,
            block_size=BLOCK_BYTES,
            use_threads=False,
        ),
        # An empty line is skipped (else Arrow makes it a record of empty fields), so it
        # shows as a record count below the line count.
        parse_options=pcsv.ParseOptions(
            delimiter=layout.delimiter, newlines_in_values=True, ignore_empty_lines=True
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=_column_types(layout),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _column_types(layout: Layout) -> dict[str, pa.DataType]:
    """Every field as text; the low-cardinality columns dictionary-encoded by the parser
    itself (in C++, without the GIL: see `_ahead`), each batch with its own dictionary."""
    types = {f"f{i}": pa.string() for i in range(layout.width)}
    for position, name in zip(layout.positions, COLUMNS, strict=False):
        if name not in UNIQUE_COLUMNS:
            types[f"f{position}"] = DICTIONARY
    return types


def _fields_within_limit(batch: pa.RecordBatch) -> bool:
    """True when no field is longer than the csv module accepts (it would refuse it)."""
    limit = csv.field_size_limit()
    for array in batch.columns:
        column = array.dictionary if pa.types.is_dictionary(array.type) else array
        if _data_bytes(column) <= limit:
            continue  # no field is longer than all of its column's bytes: no kernel to call
        longest = pc.max(pc.binary_length(column)).as_py()  # bytes: at least the characters
        if longest is not None and longest > limit:
            longest = pc.max(pc.utf8_length(column)).as_py()
            if longest > limit:
                return False
    return True


def _data_bytes(array: pa.Array) -> int:
    """The size of a string array's data buffer: at least the bytes of its longest value."""
    data = array.buffers()[2]
    return 0 if data is None else int(data.size)


def _columns(
    batch: pa.RecordBatch, layout: Layout, vocabularies: dict[str, _Vocabulary]
) -> list[Sequence[str]]:
    # Positions name the columns present: absent optional ones end COLUMNS.
    columns: list[Sequence[str]] = []
    for position, name in zip(layout.positions, COLUMNS, strict=False):
        array = batch.column(position)
        if name in UNIQUE_COLUMNS:
            columns.append(list(array.to_pylist()))
        elif len(array.dictionary) <= FEW_VALUES:  # as cheap as it is: no kernel to call
            columns.append(Encoded(array.dictionary.to_pylist(), _int32s(array.indices)))
        else:
            columns.append(vocabularies[name].encode(array))
    absent = Encoded([""], np.zeros(batch.num_rows, dtype=np.int32))
    columns += [absent] * (len(COLUMNS) - len(columns))
    return columns


class _Vocabulary:
    """One column's distinct values across batches: each keeps its code, and its Python
    string, from one batch to the next.

    Arrow gives each batch a dictionary of its own: each batch's distinct values used to
    be made into new Python strings and looked up again in the validator's memos, about
    as many values as rows in all (a batch of 13,500 rows holds some 2,500 dates in each
    date column). Carried over, a batch brings only the values never seen before, found
    by Arrow (`index_in`, without the GIL); the validator's lookups of the others find
    the very string objects of its memos' keys, hashed already."""

    def __init__(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._known = pa.array([], pa.string())  # the values, as Arrow strings
        self.values: list[str] = []  # the same values, as Python strings

    def encode(self, array: pa.DictionaryArray) -> Encoded:
        """The column of one batch, its indices now into `values` (as grown by it)."""
        if len(self.values) > VOCABULARY_MAX:
            self._forget()  # so many values that carrying them would cost each batch more
        dictionary = array.dictionary
        codes = pc.fill_null(pc.index_in(dictionary, value_set=self._known), -1)
        codes = codes.to_numpy(zero_copy_only=False, writable=True)  # dictionary -> values
        new = np.flatnonzero(codes < 0)
        if len(new):
            added = dictionary.take(pa.array(new))
            codes[new] = np.arange(len(self.values), len(self.values) + len(new))
            self._known = pa.concat_arrays([self._known, added])
            # A new list, never this one grown: the batch handed out before reads it.
            self.values = self.values + added.to_pylist()
        return Encoded(self.values, codes.take(_int32s(array.indices)))


def _int32s(array: pa.Array) -> npt.NDArray[np.int32]:
    """The values of an int32 array without nulls, read in place (no copy)."""
    assert array.type == pa.int32() and array.null_count == 0
    return array.to_numpy(zero_copy_only=True)
