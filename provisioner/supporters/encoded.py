"""Every supporter encoded once; each nation's lists are composed of those lines.

A supporter is in the lists of their nation and of every nation above it (section,
province, region, HQ), and in several segment and dialer files of each: writing every
list row by row encoded each supporter some twenty times (238 MB of CSV for 200,000).
All of a line but its tags cell depends on the supporter and the ledger only, so each
line is encoded once for the whole network, as the bytes before the tags cell (`head`)
and after it (`tail`), by rank (the row's place in id order). A nation's file is its
ranks' pieces joined in C, with the tags cell of each distinct tag set among its rows
made once per nation: a row's own tags, then the nation's shared tags, which differ by
level. Bytes are those the safe writer makes row by row (tests/test_supporters_compose.py).

Lines, tag keys, flags and ranks are numpy arrays (lines as objects: the bytes
themselves), so that picking a nation's rows, interleaving their pieces and selecting a
segment's rows are each one vectorised step instead of a Python-level map per row and
per file: composing the sample network's 246 MB took half the time it did with lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from ..csvsafe import (
    PHONE_COLUMNS,
    all_plain,
    csv_bytes,
    encode_column,
    exact_cell,
    quoted_cells,
    rows_with_cr,
)
from ..gcpause import gc_paused
from .columns import object_array
from .errors import SupporterConfigError
from .exportcolumns import ExportColumns
from .exports import FILES, LAYOUTS, Exports, Layout, check_names
from .records import TAG_SEPARATOR, Ledger
from .segment import Segmentation

Pieces = list[bytes | None]  # by rank; None for a row the layout never lists
Objects = npt.NDArray[np.object_]  # Pieces as an array: bytes or None
Ranks = npt.NDArray[np.intp]  # places in id order, ascending
Flags = npt.NDArray[np.bool_]  # by rank: True for a row listed


@dataclass
class _Lines:
    """One layout's lines by rank, cut around the tags cell."""

    header: bytes
    has_tags: bool
    head: Objects  # the whole line when the layout has no tags cell
    tail: Objects | None  # None: the tags cell ends the line, or there is none
    tag_keys: Ranks | None  # own keys when some rows hold a CR (quoted tags cell)


class EncodedRows:
    """Rows sorted by id, each line of each layout encoded once."""

    def __init__(self, data: ExportColumns, quote_tags: bool = False):
        """`data`: the rows sorted by id (a rank is a place in it) as columns; `quote_tags`:
        every tags cell holds a CR (a shared tag does), so such lines are quoted whole.
        Only columns are kept: the caller may let go of the rows themselves."""
        self._blocked = _flags(data.blocked)
        self._listed = {name: _flags(flags) for name, flags in data.flags.items()}
        self._tag_sets: list[tuple[tuple[str, ...], bool]] = []  # key -> (tags, quoted)
        self._known: dict[tuple[tuple[str, ...], bool], int] = {}
        self.tag_keys: Ranks = np.array(self._keys(data.columns["tags"], False), dtype=np.intp)
        self._quote_tags = quote_tags
        self._plain: dict[tuple[str, bool], bool] = {}  # (column, phone) -> all_plain
        self._lines = {name: self._encode(layout, data) for name, layout in LAYOUTS.items()}

    def compose(
        self, ranks: Ranks, tags: Sequence[str], segments: Sequence[str],
        dialers: Sequence[str],
    ) -> Exports:  # fmt: skip
        """The files of the list made of `ranks` (ascending), with the shared `tags`."""
        shared = tuple(tags)
        if any("\r" in tag for tag in shared) and not self._quote_tags:
            # Encoded for tags without one. The spec allows none (a-z, 0-9, : _ -); the
            # rows are gone by now, so refuse rather than write a cell that breaks rows.
            raise SupporterConfigError(
                f"shared tags {shared!r} hold a carriage return; fix the nation's tags"
            )
        cells = self._tag_cells(ranks, shared)
        files: dict[str, bytes] = {}
        counts: dict[str, int] = {}
        for name in ("supporters", *segments, *dialers):
            spec = FILES[name]
            listed = ranks if spec.rows is None else ranks[self._listed[spec.rows][ranks]]
            files[f"{name}.csv"] = self._file(self._lines[spec.layout], listed, cells)
            counts[name] = len(listed)
        counts["do_not_contact"] = int(np.count_nonzero(self._blocked[ranks]))
        return Exports(files=files, counts=counts)

    def _file(self, lines: _Lines, ranks: Ranks, cells: dict[bool, Objects]) -> bytes:
        """The header, then each rank's head, tags cell and tail, interleaved."""
        if not lines.has_tags:
            return lines.header + b"".join(lines.head[ranks].tolist())
        keys = self.tag_keys if lines.tag_keys is None else lines.tag_keys
        step = 2 if lines.tail is None else 3
        pieces = np.empty(step * len(ranks), dtype=object)
        pieces[0::step] = lines.head[ranks]
        pieces[1::step] = cells[lines.tail is None][keys[ranks]]
        if lines.tail is not None:
            pieces[2::step] = lines.tail[ranks]
        return lines.header + b"".join(pieces.tolist())

    def _tag_cells(self, ranks: Ranks, shared: tuple[str, ...]) -> dict[bool, Objects]:
        """Per tag key among `ranks`: the tags cell then `,` (False) or the line end (True)."""
        middle = np.full(len(self._tag_sets), None, dtype=object)
        last = np.full(len(self._tag_sets), None, dtype=object)
        present = set(np.unique(self.tag_keys[ranks]).tolist())
        for lines in self._lines.values():
            if lines.tag_keys is not None:
                present.update(np.unique(lines.tag_keys[ranks]).tolist())
        for key in present:
            tags, quoted = self._tag_sets[key]
            cell = exact_cell(TAG_SEPARATOR.join(dict.fromkeys((*tags, *shared))), quote_all=quoted)
            middle[key], last[key] = f"{cell},".encode(), f"{cell}\n".encode()
        return {False: middle, True: last}

    def _keys(self, tags: Sequence[tuple[str, ...]], quoted: bool) -> list[int]:
        return list(map(self._key, tags, repeat(quoted)))

    def _key(self, tags: tuple[str, ...], quoted: bool) -> int:
        key = self._known.get((tags, quoted))
        if key is None:
            key = self._known[(tags, quoted)] = len(self._tag_sets)
            self._tag_sets.append((tags, quoted))
        return key

    def _encode(self, layout: Layout, data: ExportColumns) -> _Lines:
        flags = None if layout.rows is None else data.flags[layout.rows]
        values = [data.columns[name] for name in layout.values]
        if flags is not None:
            values = [list(compress(column, flags)) for column in values]
        phones = [name in PHONE_COLUMNS for name in layout.header]
        if layout.tags_at is not None:
            del phones[layout.tags_at]
        cells = [
            self._cells(data, name, column, phone)
            for name, column, phone in zip(layout.values, values, phones, strict=True)
        ]
        cut = len(cells) if layout.tags_at is None else layout.tags_at
        head = _joined(cells[:cut], "\n" if layout.tags_at is None else ",")
        tail = _joined(cells[cut:], "\n") if cut < len(cells) else None
        tag_keys = None
        if layout.tags_at is not None:
            tags = data.tags(layout.rows)
            carriage = rows_with_cr([*values, list(map(TAG_SEPARATOR.join, tags))])
            if self._quote_tags:
                carriage = set(range(len(tags)))
            if carriage:
                tag_keys = self._quote_rows(
                    layout.tags_at, values, phones, carriage, head, tail, tags
                )
        else:
            carriage = rows_with_cr(values)
            for row in carriage:
                head[row] = (
                    ",".join(quoted_cells([c[row] for c in values], phones)) + "\n"
                ).encode()
        return _Lines(
            header=csv_bytes(layout.header, ())[0],
            has_tags=layout.tags_at is not None,
            head=_by_rank(head, flags),
            tail=None if tail is None else _by_rank(tail, flags),
            tag_keys=None if tag_keys is None else _keys_by_rank(tag_keys, flags, self.tag_keys),
        )

    def _cells(
        self, data: ExportColumns, name: str, values: Sequence[str], phone: bool
    ) -> Sequence[str]:
        """`encode_column(values)`, where `values` are the column `name` or some of its
        rows: a column whose every value is plain is scanned once for all the layouts
        (six of them write the same names and emails), and any part of it is plain too."""
        plain = self._plain.get((name, phone))
        if plain is None:
            plain = self._plain[(name, phone)] = all_plain(data.columns[name], phone)
        return values if plain else encode_column(values, phone)

    def _quote_rows(
        self,
        cut: int,
        values: Sequence[Sequence[str]],
        phones: Sequence[bool],
        rows: set[int],
        head: Pieces,
        tail: Pieces | None,
        tags: Sequence[tuple[str, ...]],
    ) -> list[int]:
        """Rows holding a CR are written with every cell quoted, tags cell included."""
        keys = list(map(self._key, tags, repeat(False)))
        for row in rows:
            cells = quoted_cells([c[row] for c in values], phones)
            head[row] = (",".join([*cells[:cut], ""])).encode()
            if tail is not None:
                tail[row] = (",".join(cells[cut:]) + "\n").encode()
            keys[row] = self._key(tags[row], True)
        return keys


def _joined(columns: Sequence[Sequence[str]], end: str) -> Pieces:
    """Each row's cells joined with commas, then `end` (`,` or a newline), as UTF-8."""
    if end == ",":  # an empty last cell gives the trailing comma
        return list(map(str.encode, map(",".join, zip(*columns, repeat(""), strict=False))))
    joined = map(",".join, zip(*columns, strict=True))
    return list(map(str.encode, map(str.__add__, joined, repeat(end))))


def _flags(flags: bytes) -> Flags:
    """One 0/1 byte per row (ExportColumns' flags) as booleans, without a copy."""
    return np.frombuffer(flags, dtype=np.uint8).view(np.bool_)


def _by_rank(compact: Pieces, flags: bytes | None) -> Objects:
    """Lines of the flagged rows placed at their ranks, None elsewhere."""
    if flags is None:
        return object_array(compact)
    lines = np.full(len(flags), None, dtype=object)
    lines[_flags(flags)] = object_array(compact)
    return lines


def _keys_by_rank(compact: list[int], flags: bytes | None, default: Ranks) -> Ranks:
    """The flagged rows' own tag keys at their ranks, `default`'s elsewhere."""
    if flags is None:
        return np.array(compact, dtype=np.intp)
    keys = default.copy()
    keys[_flags(flags)] = compact
    return keys


class NetworkLists:
    """Every nation's lists of a segmented network, from rows encoded once."""

    def __init__(self, segmentation: Segmentation, ledger: Ledger, release: bool = False):
        """`release`: empty the segmentation's buckets once read (see `release_rows`), so
        that the rows are freed as soon as their columns are taken, before encoding."""
        with gc_paused():  # rows cannot form cycles; see gcpause.py
            self._encode(segmentation, ledger, release)

    def _encode(self, segmentation: Segmentation, ledger: Ledger, release: bool) -> None:
        # Buckets in key order, rows in input order: ties between equal ids (which
        # ingestion refuses) then fall as they did when each list was sorted alone.
        keys = sorted(segmentation.buckets)
        flat = list(chain.from_iterable(map(segmentation.buckets.__getitem__, keys)))
        ids = list(map(itemgetter(0), flat))
        order = sorted(range(len(flat)), key=ids.__getitem__)
        rank = np.empty(len(flat), dtype=np.intp)
        rank[order] = np.arange(len(flat))
        sizes = [len(segmentation.buckets[key]) for key in keys]
        data = ExportColumns(list(map(flat.__getitem__, order)), ledger)
        del flat, ids, order
        if release:
            segmentation.release_rows()
        self.encoded = EncodedRows(data)
        del data
        self._ranks: dict[str, Ranks] = {}
        start = 0
        for key, size in zip(keys, sizes, strict=True):
            self._ranks[key] = np.sort(rank[start : start + size])
            start += size
        self._coverage = segmentation.index.coverage

    def ranks(self, slug: str) -> Ranks:
        """Ranks of the nation's rows, ascending: its buckets' sorted runs, merged."""
        buckets = [self._ranks[key] for key in self._coverage.get(slug, ())]
        if not buckets:
            return np.empty(0, dtype=np.intp)
        return np.sort(np.concatenate(buckets), kind="stable")  # a merge of sorted runs

    def exports(
        self, slug: str, tags: Sequence[str], segments: Sequence[str], dialers: Sequence[str]
    ) -> Exports:
        """The nation's files (as `render_exports` of its rows would make them)."""
        check_names(slug, segments, dialers)
        return self.encoded.compose(self.ranks(slug), tags, segments, dialers)
