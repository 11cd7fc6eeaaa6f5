"""Segmentation by geography in one pass through a postcode-to-nations index.

A nation gets the supporters whose postcode is in its coverage (its own postcodes and
its descendants'); siblings never share a supporter. The index is computed once per
network: postcode -> owning nation and ancestors, and nation -> covered postcodes.
One pass puts each row in its postcode's bucket (one dict lookup and one append);
a nation's rows are its covered buckets put together when asked for. Memory is one
reference per row, whatever the number of nations or the depth of the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain

from .errors import SupporterConfigError
from .records import Supporter


@dataclass(frozen=True)
class PostcodeIndex:
    """Both directions of "postcode is covered by nation"."""

    chains: dict[str, tuple[str, ...]]  # postcode -> owning nation, then its ancestors
    coverage: dict[str, tuple[str, ...]]  # nation -> covered postcodes, sorted
    slugs: tuple[str, ...]

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

    @property
    def unassigned(self) -> int:
        """Rows whose postcode no nation covers."""
        return sum(self.unassigned_by_postcode.values())

    def rows(self, slug: str) -> list[Supporter]:
        """The supporters of `slug`: by postcode, then in input order."""
        buckets = map(self.buckets.__getitem__, self.index.coverage.get(slug, ()))
        return list(chain.from_iterable(buckets))

    def count(self, slug: str) -> int:
        """How many supporters `slug` has, without building the list."""
        return sum(len(self.buckets[postcode]) for postcode in self.index.coverage.get(slug, ()))


def build_index(
    owners: Mapping[str, Iterable[str]], parents: Mapping[str, str | None]
) -> PostcodeIndex:
    """Index postcodes to nations from each nation's own postcodes and its parent.

    A postcode may be claimed by a nation and its ancestors (a candidate and its
    section), never by two unrelated nations.
    """
    slugs = tuple(dict.fromkeys([*parents, *owners]))
    lineages = {slug: _lineage(slug, parents) for slug in slugs}
    claims: dict[str, list[str]] = {}
    for slug, postcodes in owners.items():
        for postcode in postcodes:
            claims.setdefault(postcode, []).append(slug)
    chains: dict[str, tuple[str, ...]] = {}
    for postcode, claimants in claims.items():
        deepest = max(sorted(claimants), key=lambda slug: len(lineages[slug]))
        chain = lineages[deepest]
        strangers = [slug for slug in claimants if slug not in chain]
        if strangers:
            raise SupporterConfigError(
                f"postcode {postcode} is claimed by both {deepest!r} and {strangers[0]!r}, "
                "which are not ancestor and descendant; give it to one of them"
            )
        chains[postcode] = chain
    coverage: dict[str, list[str]] = {slug: [] for slug in slugs}
    for postcode in sorted(chains):
        for slug in chains[postcode]:
            coverage[slug].append(postcode)
    return PostcodeIndex(
        chains=chains, coverage={slug: tuple(pcs) for slug, pcs in coverage.items()}, slugs=slugs
    )


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
    """Put `rows` in the bucket of their postcode, in one pass."""
    buckets: dict[str, list[Supporter]] = {postcode: [] for postcode in index.chains}
    unassigned: dict[str, int] = {}
    total = 0
    for row in rows:
        total += 1
        bucket = buckets.get(row.postcode)
        if bucket is None:
            unassigned[row.postcode] = unassigned.get(row.postcode, 0) + 1
        else:
            bucket.append(row)
    return Segmentation(index, buckets, total, unassigned)
