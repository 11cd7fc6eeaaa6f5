"""Segmentation by geography in one pass through a postcode-to-nations index.

A nation gets the supporters whose postcode is in its coverage (its own postcodes and
its descendants'); siblings never share a supporter. The index maps each postcode to
the owning nation and all its ancestors, computed once, so a row costs one dict
lookup plus one list append per level of the tree. Memory is one reference per row
and level, whatever the number of nations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import SupporterConfigError
from .records import Supporter


@dataclass(frozen=True)
class PostcodeIndex:
    """For each covered postcode: its owning nation first, then every ancestor."""

    chains: dict[str, tuple[str, ...]]
    slugs: tuple[str, ...]

    def nations_for(self, postcode: str) -> tuple[str, ...]:
        """Nations whose coverage includes `postcode` (empty when none does)."""
        return self.chains.get(postcode, ())


@dataclass
class Segmentation:
    """Supporters per nation (references, not copies) and what nobody covers."""

    by_nation: dict[str, list[Supporter]]
    total: int = 0
    unassigned_by_postcode: dict[str, int] = field(default_factory=dict)

    @property
    def unassigned(self) -> int:
        """Rows whose postcode no nation covers."""
        return sum(self.unassigned_by_postcode.values())

    def rows(self, slug: str) -> list[Supporter]:
        """The supporters of `slug`, in input order."""
        return self.by_nation.get(slug, [])


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
    return PostcodeIndex(chains=chains, slugs=slugs)


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
    """Distribute `rows` to every nation covering their postcode, in one pass."""
    by_nation: dict[str, list[Supporter]] = {slug: [] for slug in index.slugs}
    # Bound `append` methods per postcode: the loop does no lookup per nation.
    appenders = {
        postcode: tuple(by_nation[slug].append for slug in chain)
        for postcode, chain in index.chains.items()
    }
    unassigned: dict[str, int] = {}
    total = 0
    for total, row in enumerate(rows, start=1):  # noqa: B007 (total is read after the loop)
        targets = appenders.get(row.postcode)
        if targets is None:
            unassigned[row.postcode] = unassigned.get(row.postcode, 0) + 1
            continue
        for append in targets:
            append(row)
    return Segmentation(by_nation=by_nation, total=total, unassigned_by_postcode=unassigned)
