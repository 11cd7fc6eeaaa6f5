"""Which postcodes and areas each nation claims, and the claims that collide.

Nations that are not ancestor and descendant of each other may not claim the same area
(nor one inside the other), nor the same postcode, except a postcode that the geography
says spans several areas: in France a postcode often covers several communes, which may
lie in different constituencies. Supporters from such a postcode go to the nearest
common ancestor of its nations (see `supporters.segment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Geography

if TYPE_CHECKING:
    from provisioner.spec.models import Geo
    from provisioner.spec.network import Network

OverlapProblem = tuple[str, str, str, str]  # slug, geo field, message, fix


def claimed_postcodes(geo: Geo, geography: Geography | None) -> set[str]:
    """Own postcodes plus those of the nation's own areas (and of the areas inside them)."""
    codes = set(geo.postcodes)
    if geography is not None:
        for area in geo.areas:
            codes |= geography.postcodes_within(area)
    return codes


def overlap_problems(network: Network, geography: Geography | None) -> list[OverlapProblem]:
    """Every claim of a nation that collides with an unrelated nation's claim."""
    lineages = {n.slug: {n.slug, *(a.slug for a in network.ancestors(n.slug))} for n in network}

    def related(a: str, b: str) -> bool:
        return a in lineages[b] or b in lineages[a]

    problems: list[OverlapProblem] = []
    if geography is not None:
        problems += _area_overlaps(network, geography, related)
    owner: dict[str, str] = {}
    for nation in network:
        for code in sorted(claimed_postcodes(nation.geo, geography)):
            other = owner.setdefault(code, nation.slug)
            if other == nation.slug or related(nation.slug, other):
                continue
            if geography is not None and len(geography.areas_of_postcode.get(code, ())) > 1:
                continue  # legal: the postcode spans several areas
            problems.append((
                nation.slug,
                "postcodes",
                f"postcode {code} is also covered by unrelated nation {other!r}, and "
                f"{_country(geography)} has it in one area only",
                "give each postcode to one branch of the tree",
            ))  # fmt: skip
    return problems


def _area_overlaps(network: Network, geography: Geography, related: object) -> list[OverlapProblem]:
    assert callable(related)
    owner: dict[str, str] = {}
    for nation in network:
        for code in nation.geo.areas:
            owner.setdefault(code, nation.slug)
    problems: list[OverlapProblem] = []
    for nation in network:
        for code in nation.geo.areas:
            for enclosing in geography.lineage(code):
                other = owner.get(enclosing, nation.slug)
                if not related(nation.slug, other):
                    inside = "" if enclosing == code else f" lies in {enclosing}, which"
                    problems.append((
                        nation.slug,
                        "areas",
                        f"area {code}{inside} is also claimed by unrelated nation {other!r}",
                        "give each area to one branch of the tree",
                    ))  # fmt: skip
                    break
    return problems


def _country(geography: Geography | None) -> str:
    return geography.country if geography is not None else "the geography"
