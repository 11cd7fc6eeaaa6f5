"""One country's geography: areas in a tree, the postcodes each spans, the postcode format.

Every provider (Belgium, France, a CSV file) builds one `Geography`; the spec and the
supporter segmentation ask it questions and nothing else in the tool knows a country.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from provisioner.errors import InputError


class GeographyError(InputError):
    """A geography file is missing or broken; the message names the file, line and fix."""


@dataclass(frozen=True)
class Area:
    """A named area of a country (a region, a commune, a constituency…)."""

    code: str
    name: str
    kind: str
    parent: str | None = None
    postcodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credit:
    """Who the data come from and under which licence, shown on pages with geography."""

    source: str
    source_url: str
    licence: str
    licence_url: str


@dataclass
class Geography:
    """Areas by code, postcodes and the finest areas each postcode lies in."""

    country: str
    areas: dict[str, Area]
    credit: Credit | None = None
    postcode_format: str | None = None  # a regex; derived from the postcodes when None
    areas_of_postcode: dict[str, tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        spans: dict[str, list[str]] = {}
        for area in self.areas.values():
            for postcode in area.postcodes:
                spans.setdefault(postcode, []).append(area.code)
        self.areas_of_postcode = {pc: tuple(codes) for pc, codes in spans.items()}

    @classmethod
    def from_areas(cls, country: str, areas: Iterable[Area], **kwargs: object) -> Geography:
        return cls(country, {area.code: area for area in areas}, **kwargs)  # type: ignore[arg-type]

    @cached_property
    def postcode_pattern(self) -> re.Pattern[str]:
        """The country's postcode format, e.g. four digits in Belgium, five in France."""
        if self.postcode_format:
            return re.compile(self.postcode_format)
        shapes = sorted({_shape(code) for code in self.areas_of_postcode}) or [r"\S+"]
        return re.compile("|".join(shapes))

    @cached_property
    def postcode_example(self) -> str:
        return min(self.areas_of_postcode, default="")

    def is_postcode(self, code: str) -> bool:
        return code in self.areas_of_postcode

    def postcode_problem(self, code: str) -> str | None:
        """Why `code` is not a postcode of this country (None when it is one)."""
        if code in self.areas_of_postcode:
            return None
        if not self.postcode_pattern.fullmatch(code):
            return (
                f"invalid postcode {code!r}: {self.country} postcodes look like "
                f"{self.postcode_example!r}"
            )
        near = self.nearest(code, list(self.areas_of_postcode))
        return f"postcode {code!r} is not known in {self.country}" + (
            f"; did you mean {near!r}?" if near else ""
        )

    def area_problem(self, code: str) -> str | None:
        """Why `code` is not an area code of this country (None when it is one)."""
        if code in self.areas:
            return None
        near = self.nearest(code, list(self.areas))
        hint = ""
        if near:
            area = self.areas[near]
            hint = f"; did you mean {near!r} ({area.kind} {area.name})?"
        else:
            by_name = self.find_by_name(code)
            if by_name:
                hint = f"; {code!r} is the name of {by_name.kind} {by_name.code!r}: use the code"
        return f"unknown area code {code!r} in {self.country}{hint}"

    def find_by_name(self, name: str) -> Area | None:
        """The area named `name` (case-insensitive), the nearest one when none is exact."""
        names = self._names
        key = name.casefold()
        if key in names:
            return names[key]
        near = self.nearest(key, list(names))
        return names[near] if near else None

    @cached_property
    def _names(self) -> dict[str, Area]:
        names: dict[str, Area] = {}
        for area in self.areas.values():
            names.setdefault(area.name.casefold(), area)
        return names

    def lineage(self, code: str) -> tuple[str, ...]:
        """`code` and its ancestors up to the country, nearest first."""
        chain = [code]
        parent = self.areas[code].parent if code in self.areas else None
        while parent and parent in self.areas and parent not in chain:
            chain.append(parent)
            parent = self.areas[parent].parent
        return tuple(chain)

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        kids: dict[str, list[str]] = {}
        for area in self.areas.values():
            if area.parent:
                kids.setdefault(area.parent, []).append(area.code)
        return {code: tuple(codes) for code, codes in kids.items()}

    def postcodes_within(self, code: str) -> set[str]:
        """Postcodes of the area and of every area inside it."""
        found: set[str] = set()
        stack = [code]
        while stack:
            current = stack.pop()
            if current in self.areas:
                found.update(self.areas[current].postcodes)
            stack.extend(self.children.get(current, ()))
        return found

    @staticmethod
    def nearest(value: str, known: list[str]) -> str | None:
        matches = difflib.get_close_matches(value, known, n=1, cutoff=0.75)
        return matches[0] if matches else None


def _shape(postcode: str) -> str:
    """A regex of the postcode's shape: '1000' -> [0-9]{4}, '1011 AB' -> [0-9]{4} [A-Z]{2}."""
    parts = re.findall(r"[0-9]+|[A-Za-z]+|[^0-9A-Za-z]+", postcode)
    out = []
    for part in parts:
        if part.isdigit():
            out.append(f"[0-9]{{{len(part)}}}")
        elif part.isalpha():
            out.append(f"[A-Za-z]{{{len(part)}}}")
        else:
            out.append(re.escape(part))
    return "".join(out)
