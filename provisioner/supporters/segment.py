"""Segmentation by geography in one pass through a key-to-nations index.

A row's key is the finest the export has: its area code (column `area`) when the
index knows it, else its postcode. A nation gets the supporters whose key it covers
(its own postcodes and areas, and its descendants'); siblings never share a supporter.
A postcode that the geography says spans several areas may be claimed by unrelated
nations (two constituencies sharing a postcode): its supporters go to their nearest
common ancestor, never to one of the siblings, and are counted as `ambiguous`.

The index is computed once per network: key -> owning nation and ancestors, and
nation -> covered keys. One pass puts each row in its key's bucket (one dict lookup
and one append); a nation's rows are its covered buckets put together when asked
for. Memory is one reference per row, whatever the number of nations or the depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING

from .errors import SupporterConfigError
from .records import Supporter

if TYPE_CHECKING:
    from provisioner.geo import Geography


@dataclass(frozen=True)
class PostcodeIndex:
    """Both directions of "postcode is covered by nation"."""

    chains: dict[str, tuple[str, ...]]  # key -> owning nation, then its ancestors
    coverage: dict[str, tuple[str, ...]]  # nation -> covered keys, sorted
    slugs: tuple[str, ...]
    ambiguous: frozenset[str] = frozenset()  # postcodes sent to a common ancestor

    def nations_for(self, postcode: str) -> tuple[str, ...]:
        """Nations whose coverage includes `postcode` (empty when none does)."""
        return self.chains.get(postcode, ())


@dataclass
class Segmentation:
    """Supporters by postcode (references, not copies) and what nobody covers."""

    index: PostcodeIndex
    buckets: dict[str, list[Supporter]]
    total: int = 0
    unassigned_by_postcode: dict[str, int] = field(default_factory=dict)
    ambiguous: int = 0  # rows whose postcode several unrelated nations share
    released: dict[str, int] | None = None  # bucket sizes, once the rows are let go

    @property
    def unassigned(self) -> int:
        """Rows whose postcode no nation covers."""
        return sum(self.unassigned_by_postcode.values())

    def release_rows(self) -> None:
        """Let go of the rows (their lists are encoded); counts stay, `rows` refuses."""
        self.released = {key: len(rows) for key, rows in self.buckets.items()}
        self.buckets = {}

    def rows(self, slug: str) -> list[Supporter]:
        """The supporters of `slug`: by postcode, then in input order."""
        if self.released is not None:
            raise RuntimeError("the rows were released once their lists were encoded")
        buckets = map(self.buckets.__getitem__, self.index.coverage.get(slug, ()))
        return list(chain.from_iterable(buckets))

    def count(self, slug: str) -> int:
        """How many supporters `slug` has, without building the list."""
        covered = self.index.coverage.get(slug, ())
        if self.released is not None:
            return sum(map(self.released.__getitem__, covered))
        return sum(len(self.buckets[postcode]) for postcode in covered)


def build_index(
    owners: Mapping[str, Iterable[str]],
    parents: Mapping[str, str | None],
    areas: Mapping[str, Iterable[str]] | None = None,
    geography: Geography | None = None,
) -> PostcodeIndex:
    """Index keys to nations from each nation's own postcodes, own areas and parent.

    A postcode may be claimed by a nation and its ancestors (a candidate and its
    section); unrelated nations may share it only when `geography` says it spans
    several areas. Area keys are `AREA_PREFIX` + code, so they never meet a postcode.
    """
    slugs = tuple(dict.fromkeys([*parents, *owners, *(areas or {})]))
    lineages = {slug: _lineage(slug, parents) for slug in slugs}
    claims: dict[str, list[str]] = {}
    for slug, postcodes in owners.items():
        for postcode in postcodes:
            claims.setdefault(postcode, []).append(slug)
    area_owner: dict[str, str] = {}
    for slug, codes in (areas or {}).items():
        for code in codes:
            area_owner[code] = slug
            for postcode in geography.postcodes_within(code) if geography else ():
                claims.setdefault(postcode, []).append(slug)
    chains: dict[str, tuple[str, ...]] = {}
    ambiguous: set[str] = set()
    for postcode, claimants in claims.items():
        lineage, shared = _chain(postcode, claimants, lineages, geography)
        if not lineage:
            continue  # unrelated roots share it: nobody may have its supporters
        if shared:
            ambiguous.add(postcode)
        chains[postcode] = lineage
    if geography is not None and area_owner:
        chains.update(_area_chains(geography, area_owner, lineages))
    coverage: dict[str, list[str]] = {slug: [] for slug in slugs}
    for key in sorted(chains):
        for slug in chains[key]:
            coverage[slug].append(key)
    return PostcodeIndex(
        chains=chains,
        coverage={slug: tuple(keys) for slug, keys in coverage.items()},
        slugs=slugs,
        ambiguous=frozenset(ambiguous),
    )


AREA_PREFIX = "area:"


def _chain(
    postcode: str,
    claimants: list[str],
    lineages: dict[str, tuple[str, ...]],
    geography: Geography | None,
) -> tuple[tuple[str, ...], bool]:
    """The deepest claimant and its ancestors, or (when unrelated nations claim the
    postcode: True) the claimants' nearest common ancestor and its ancestors."""
    deepest = max(sorted(claimants), key=lambda slug: len(lineages[slug]))
    chain = lineages[deepest]
    strangers = [slug for slug in claimants if slug not in chain]
    if not strangers:
        return chain, False
    if geography is None or len(geography.areas_of_postcode.get(postcode, ())) < 2:
        raise SupporterConfigError(
            f"postcode {postcode} is claimed by both {deepest!r} and {strangers[0]!r}, "
            "which are not ancestor and descendant; give it to one of them"
        )
    shared = set(chain)
    for slug in strangers:
        shared &= set(lineages[slug])
    # Nearest common ancestor; none at all (two roots) leaves the rows unassigned.
    return tuple(slug for slug in chain if slug in shared), True


def _area_chains(
    geography: Geography, area_owner: dict[str, str], lineages: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Area key -> chain of the nation owning the area or its nearest enclosing area."""
    chains: dict[str, tuple[str, ...]] = {}
    for code in geography.areas:
        owner = next((area_owner[a] for a in geography.lineage(code) if a in area_owner), None)
        if owner is not None:
            chains[AREA_PREFIX + code] = lineages[owner]
    return chains


def _lineage(slug: str, parents: Mapping[str, str | None]) -> tuple[str, ...]:
    """`slug` followed by its ancestors up to the root."""
    lineage = [slug]
    parent = parents.get(slug)
    while parent is not None:
        if parent in lineage:
            raise SupporterConfigError(
                f"nation {slug!r}: its parents form a cycle through "
                f"{parent!r}; fix the `parent` fields"
            )
        if parent not in parents:
            raise SupporterConfigError(
                f"nation {lineage[-1]!r}: unknown parent {parent!r}; fix its `parent` field"
            )
        lineage.append(parent)
        parent = parents[parent]
    return tuple(lineage)


def segment(rows: Iterable[Supporter], index: PostcodeIndex) -> Segmentation:
    """Put `rows` in the bucket of their finest known key, in one pass."""
    buckets: dict[str, list[Supporter]] = {key: [] for key in index.chains}
    unassigned: dict[str, int] = {}
    total = ambiguous = 0
    shared = index.ambiguous
    for row in rows:
        total += 1
        bucket = buckets.get(AREA_PREFIX + row.area) if row.area else None
        if bucket is None:
            bucket = buckets.get(row.postcode)
            if bucket is None:
                unassigned[row.postcode] = unassigned.get(row.postcode, 0) + 1
                continue
            if row.postcode in shared:
                ambiguous += 1
        bucket.append(row)
    return Segmentation(index, buckets, total, unassigned, ambiguous)
