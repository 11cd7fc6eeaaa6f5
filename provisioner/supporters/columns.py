"""Column-wise validation of a chunk of supporter records.

Why columns: a Python function per row costs about 3 µs, which capped ingestion near
150,000 rows/s; mapping a C-level lookup over a column costs about 0.05 µs per value.
So a chunk of records is transposed and validated column by column:
- low-cardinality columns (names, postcode, language, level, tags, consents, dates)
  go through memos, so each distinct value is checked once and one object is shared
  by every row that has it (which also keeps a million rows small);
- ids, phones and emails are checked with one regex call per column; only a column
  that fails goes value by value (phones and emails through the normalisers);
- other Python loops run only over a column known to hold a problem.
A record with any problem is left out and reported with all its reasons.

Columns come either from records transposed here (`validate`) or from a columnar
reader (`validate_columns`, see `arrowcsv`), whose low-cardinality columns arrive
`Encoded`: their distinct values once, and each row's index into them. The same memos
and checks serve both, so one file gives the same supporters and reasons either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import checks
from .normalize import DEFAULT_REGION, canonical_phone_pattern, normalize_email, normalize_phone
from .records import CHANNELS, COLUMNS, OPTIONAL_COLUMNS, Supporter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# numpy is imported where it is used, on first use (already loaded by then when Arrow
# reads the file): a deploy that reads no rows, and the Lambda package, which has no
# numpy, import this module without it.

_K = TypeVar("_K", bound=Hashable)


class _ColumnPattern:
    """A pattern checked against a whole column in one regex call.

    The values are joined with newlines, which no accepted value contains (the count
    of newlines proves it), so one C-level match replaces a Python-level call per value.
    """

    def __init__(self, value: str) -> None:
        self.one = re.compile(value)
        self._column = re.compile(f"(?:{value}\n)*+")  # possessive: no backtracking

    def matches_all(self, column: Sequence[str]) -> bool:
        joined = "\n".join(column) + "\n"
        return joined.count("\n") == len(column) and self._column.fullmatch(joined) is not None


# Values that the normalisers return unchanged; anything else takes the slow path.
# Phones: E.164 numbers of the network's country (see normalize.canonical_phone_pattern).
_CANONICAL_EMAIL = _ColumnPattern(r"(?:[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)?")
_REFUSED = checks.CONTROL_CHARACTERS + checks.INVISIBLE_CHARACTERS
_SAFE_ID = _ColumnPattern(f"[^{re.escape(checks.FORMULA_STARTS)}{_REFUSED}][^{_REFUSED}]*")

Problems = dict[int, list[str]]  # record index -> reasons


class Encoded(Sequence[str]):
    """A column as its distinct values and each row's index into them.

    The indices are an int32 array, so that a column is expanded or searched by numpy
    in C (`expand`, `rows_in`) rather than by a Python-level call per row: expanding
    takes a quarter of the time of mapping `list.__getitem__` over them."""

    def __init__(self, values: list[str], indices: npt.NDArray[np.int32]) -> None:
        self.values = values
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:  # a row's raw value (only bad rows ask)
        return self.values[self.indices[index]]

    def expand(self, validated: Sequence[Any]) -> list[Any]:
        """Each row's value, given the validated value of each distinct one: the very
        objects of `validated` (shared by every row that has them, never copies)."""
        return object_array(validated).take(self.indices).tolist()

    def rows_in(self, codes: Sequence[int]) -> list[int]:
        """The rows, in order, whose value is one of the distinct values at `codes`."""
        import numpy as np

        return np.flatnonzero(np.isin(self.indices, codes)).tolist()


def object_array(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """A one-dimensional array of `values` themselves (np.array would make a tuple of
    tags a row of a two-dimensional array, and a list of bytes fixed-width strings)."""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


class _Memo(dict[_K, Any], Generic[_K]):
    """Validated value by raw key; `check` runs once per distinct key."""

    def __init__(self, check: Callable[[_K], object], invalid: object = "") -> None:
        super().__init__()
        self._check = check
        self._invalid = invalid  # stands in for a bad value; its record is left out anyway
        self.problems: dict[_K, str] = {}

    def __missing__(self, key: _K) -> object:
        try:
            value = self._check(key)
        except ValueError as exc:
            self.problems[key] = str(exc)
            value = self._invalid
        self[key] = value
        return value

    def map(self, column: Sequence[_K], problems: Problems) -> list[Any]:
        if isinstance(column, Encoded):
            return _map_encoded(self, column, problems)
        values = list(map(self.__getitem__, column))
        if self.problems and not self.problems.keys().isdisjoint(column):
            for index, key in enumerate(column):
                if key in self.problems:
                    problems.setdefault(index, []).append(self.problems[key])
        return values


def _map_encoded(memo: _Memo[Any], column: Encoded, problems: Problems) -> list[Any]:
    """`_Memo.map` of an encoded column: each distinct value is looked up once."""
    values = column.expand(list(map(memo.__getitem__, column.values)))
    if memo.problems:  # else no value can be bad: skip the walk over the distinct values
        bad = [code for code, key in enumerate(column.values) if key in memo.problems]
        for index in column.rows_in(bad) if bad else ():
            problems.setdefault(index, []).append(memo.problems[column[index]])
    return values


class ChunkValidator:
    """Validates chunks of raw records of one file; remembers ids across chunks."""

    def __init__(
        self,
        positions: Sequence[int],
        width: int,
        country: str = DEFAULT_REGION,
        postcode: re.Pattern[str] | None = None,
    ) -> None:
        """`positions` of COLUMNS in the header; optional columns may be left out at the
        end. `country` reads national phone numbers; `postcode` is its postcode format."""
        # Reordering costs a tuple per record: skip it when the header is in our order.
        self._pick = None if list(positions) == list(range(width)) else itemgetter(*positions)
        self._absent = len(COLUMNS) - len(positions)  # optional columns not in the file
        assert 0 <= self._absent <= len(OPTIONAL_COLUMNS)
        self._width = width
        self._seen_ids: set[str] = set()
        phone = partial(normalize_phone, region=country)
        self._normalised: dict[str, tuple[_ColumnPattern, Callable[[str], str]]] = {
            "phone": (_ColumnPattern(f"(?:{canonical_phone_pattern(country)})?"), phone),
            "email": (_CANONICAL_EMAIL, normalize_email),
        }
        postcode_check = partial(checks.postcode, country=country)
        if postcode is not None:
            postcode_check = partial(postcode_check, pattern=postcode)
        self._memos: dict[str, _Memo[str]] = {
            "first_name": _Memo(partial(checks.text, column="first_name")),
            "last_name": _Memo(partial(checks.text, column="last_name")),
            "postcode": _Memo(postcode_check),
            "area": _Memo(checks.area),
            "language": _Memo(checks.language),
            "level": _Memo(checks.level),
            "tags": _Memo(checks.tags),
            "created_at": _Memo(partial(checks.date, column="created_at")),
        }
        for channel in CHANNELS:
            name = f"{channel}_consent"
            self._memos[name] = _Memo(partial(checks.flag, column=name), invalid=False)
            date, source = f"{name}_date", f"{name}_source"
            self._memos[date] = _Memo(partial(checks.optional_date, column=date))
            self._memos[source] = _Memo(partial(checks.text, column=source))

    def validate(self, records: list[list[str]]) -> tuple[list[Supporter], Problems]:
        """Supporters from the valid records, and the reasons of the others by index."""
        problems: Problems = {}
        kept = None
        if set(map(len, records)) != {self._width}:
            kept = [i for i, fields in enumerate(records) if len(fields) == self._width]
            for index, fields in enumerate(records):
                if fields and len(fields) != self._width:  # blank lines hold nobody
                    problems[index] = [f"expected {self._width} fields, found {len(fields)}"]
            records = [records[i] for i in kept]
        if not records:
            return [], problems
        picked = records if self._pick is None else map(self._pick, records)
        columns = list(zip(*picked, strict=True))
        columns += [("",) * len(records)] * self._absent
        rows, found = self.validate_columns(columns)
        for index, reasons in found.items():
            problems[kept[index] if kept is not None else index] = reasons
        return rows, problems

    def canonical_patterns(self) -> dict[str, str]:
        """Column -> the pattern of its values kept as they are (see `validate_columns`)."""
        return {name: pattern.one.pattern for name, (pattern, _) in self._normalised.items()}

    def validate_columns(
        self,
        columns: Sequence[Sequence[str]],
        canonical: frozenset[str] = frozenset(),
        claim_ids: bool = True,
    ) -> tuple[list[Supporter], Problems]:
        """Like `validate`, for records given as one column per COLUMNS (all present,
        all of one length); any low-cardinality column may be `Encoded`. `canonical`:
        columns whose every value the caller proved matches `canonical_patterns()`.
        `claim_ids=False` leaves duplicate ids to the caller, who then refuses every
        valid record whose id an earlier valid record has (`duplicate_id`)."""
        problems: Problems = {}
        values: dict[str, Sequence[Any]] = {}
        for name, column in zip(COLUMNS, columns, strict=True):
            if name == "id":
                values[name] = self._ids(column, problems)
            elif name in canonical and name in self._normalised:
                values[name] = column  # as `_normalised` keeps a column that all matches
            elif name in self._normalised:
                values[name] = _normalised(column, *self._normalised[name], problems)
            else:
                values[name] = self._memos[name].map(column, problems)
        raw = dict(zip(COLUMNS, columns, strict=True))
        for channel in CHANNELS:
            _check_consent_proof(channel, raw, self._memos[f"{channel}_consent"], problems)
        if claim_ids:
            self._duplicates(values["id"], problems)
        records: Any = zip(*values.values(), strict=True)
        if problems:
            records = compress(records, [i not in problems for i in range(len(columns[0]))])
        # tuple.__new__ builds each Supporter in C; the namedtuple constructor is Python.
        return list(map(tuple.__new__, repeat(Supporter), records)), problems

    def _ids(self, column: Sequence[str], problems: Problems) -> list[str]:
        """Ids trimmed (compared as the export writes them, case included) and checked."""
        ids = list(map(str.strip, column))
        if not _SAFE_ID.matches_all(ids):
            for index, value in enumerate(ids):
                try:
                    checks.identifier(value)
                except ValueError as exc:
                    problems.setdefault(index, []).append(str(exc))
        return ids

    def _duplicates(self, ids: Sequence[str], problems: Problems) -> None:
        """Refuse ids already taken, once every other check is done.

        Only valid records take an id: a broken record quarantined earlier must not
        make the valid record that carries the same id look like a duplicate.
        """
        valid = ids if not problems else [v for i, v in enumerate(ids) if i not in problems]
        unique = set(valid)
        if len(unique) != len(valid) or not self._seen_ids.isdisjoint(unique):
            in_chunk: set[str] = set()
            for index, value in enumerate(ids):
                if index in problems:
                    continue
                if value in self._seen_ids or value in in_chunk:
                    problems[index] = [duplicate_id(value)]
                in_chunk.add(value)
        self._seen_ids |= unique


def duplicate_id(value: str) -> str:
    """The reason a valid record is refused when an earlier valid record has its id."""
    return f"duplicate id {value!r} (an earlier line has it)"


def _check_consent_proof(
    channel: str, raw: dict[str, Sequence[str]], consent: _Memo[str], problems: Problems
) -> None:
    """A consent given (yes) needs its date and source.

    Checked on whole columns with numpy: an encoded column's values are judged once per
    distinct value, and only the rows that lack a proof are walked in Python."""
    import numpy as np

    given = _row_flags(raw[f"{channel}_consent"], partial(map, consent.__getitem__))
    for name in (f"{channel}_consent_date", f"{channel}_consent_source"):
        unproved = given & _row_flags(raw[name], _blanks)  # an invalid value has its own reason
        for index in np.flatnonzero(unproved).tolist():
            reason = f"{channel}_consent is yes but {name} is empty"
            problems.setdefault(index, []).append(reason)


def _blanks(values: Sequence[str]) -> Iterable[bool]:
    """True for each empty or whitespace-only value (C-level maps, no Python call each)."""
    return map(not_, map(str.strip, values))


def _row_flags(
    column: Sequence[str], judge: Callable[[Sequence[str]], Iterable[Any]]
) -> npt.NDArray[np.bool_]:
    """Each row's flag as `judge` gives it for a list of values (an invalid consent is
    False); an encoded column's distinct values are judged once each."""
    import numpy as np

    values = column.values if isinstance(column, Encoded) else column
    flags = np.fromiter(judge(values), dtype=bool, count=len(values))
    return flags[column.indices] if isinstance(column, Encoded) else flags


def _normalised(
    column: Sequence[str],
    canonical: _ColumnPattern,
    normalise: Callable[[str], str],
    problems: Problems,
) -> Sequence[str]:
    if canonical.matches_all(column):
        return column
    values = []
    for index, raw in enumerate(column):
        try:
            values.append(raw if canonical.one.fullmatch(raw) else normalise(raw))
        except ValueError as exc:
            problems.setdefault(index, []).append(str(exc))
            values.append("")
    return values
