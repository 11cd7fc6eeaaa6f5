"""The resolved network: nations with inherited values, tags and geography filled in.

Built by `spec.load_network` from a valid nations.yaml; everything downstream (build,
supporters, infra) reads these objects, never the raw YAML.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.geo import Geography
from provisioner.geo.claims import claimed_postcodes
from provisioner.spec.models import (
    Budgets,
    Candidate,
    Contact,
    Content,
    Geo,
    NationEntry,
    NetworkInfo,
)

if TYPE_CHECKING:
    from provisioner.render.blueprints import Catalog


@dataclass(frozen=True)
class Nation:
    slug: str
    name: str
    blueprint: str
    kind: str
    parent: str | None
    languages: tuple[str, ...]
    domain: str
    geo: Geo
    tags: tuple[str, ...]
    inherited_tags: tuple[str, ...]
    contact: Contact
    candidate: Candidate | None
    content: Content
    children: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    line: int | None = None
    budgets: Budgets = field(default_factory=Budgets)

    @property
    def url(self) -> str:
        return f"https://{self.domain}/"

    @property
    def all_tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.tags, *self.inherited_tags)))


@dataclass
class Network:
    info: NetworkInfo
    nations: dict[str, Nation]
    source: str = "nations.yaml"
    extra: dict[str, Any] = field(default_factory=dict)
    geography: Geography | None = None  # set by the spec loader
    strings_dir: Path | None = None  # network.strings, resolved by the spec loader
    # The blueprints as the spec loader read them (manifests, strings): a builder of
    # this network reuses them instead of reading and parsing every file again.
    catalog: Catalog | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[Nation]:
        return iter(self.nations.values())

    def __len__(self) -> int:
        return len(self.nations)

    def ancestors(self, slug: str) -> list[Nation]:
        """Parents of `slug`, nearest first."""
        chain = []
        parent = self.nations[slug].parent
        while parent is not None:
            chain.append(self.nations[parent])
            parent = self.nations[parent].parent
        return chain


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphenated: 'Région wallonne' -> 'region-wallonne'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def geo_tags(geo: Geo) -> list[str]:
    tags = []
    for level in ("region", "province", "municipality"):
        value = getattr(geo, level)
        if value:
            tags.append(f"{level}:{slugify(value)}")
    tags.extend(f"postcode:{code}" for code in geo.postcodes)
    tags.extend(f"area:{code.lower()}" for code in geo.areas)
    return tags


def resolve(
    info: NetworkInfo,
    entries: dict[str, NationEntry],
    kinds: dict[str, str],
    lines: dict[str, int],
    geography: Geography | None = None,
) -> Network:
    """Fill inherited values, in an order where every parent comes before its children.

    `entries` must be free of unknown parents and cycles (the spec loader checks that).
    """
    resolved: dict[str, Nation] = {}
    for slug in _parents_first(entries):
        entry = entries[slug]
        parent = resolved.get(entry.parent) if entry.parent else None
        resolved[slug] = _resolve_one(info, entry, parent, kinds[entry.blueprint], lines.get(slug))
    children = _children(entries)
    coverage = _coverage(entries, children, geography)
    ordered = {slug: _with_tree(resolved[slug], children[slug], coverage[slug]) for slug in entries}
    return Network(info=info, nations=ordered, geography=geography)


def _resolve_one(
    info: NetworkInfo, entry: NationEntry, parent: Nation | None, kind: str, line: int | None
) -> Nation:
    languages = tuple(entry.languages or (parent.languages if parent else ()))
    colors = entry.content.colors or (parent.content.colors if parent else None)
    content = entry.content.model_copy(update={"colors": colors})
    inherited = parent.all_tags if parent else ()
    return Nation(
        slug=entry.slug,
        name=entry.name,
        blueprint=entry.blueprint,
        kind=entry.kind or kind,
        parent=entry.parent,
        languages=languages,
        domain=entry.domain or f"{entry.slug}.{info.base_domain}",
        geo=entry.geo,
        tags=tuple(dict.fromkeys([*entry.tags, *geo_tags(entry.geo)])),
        inherited_tags=tuple(t for t in inherited if t not in entry.tags),
        contact=entry.contact or (parent.contact if parent else Contact()),
        candidate=entry.candidate,
        content=content,
        line=line,
        budgets=_budgets(info, entry),
    )


def _budgets(info: NetworkInfo, entry: NationEntry) -> Budgets:
    """The network's budgets with the nation's own keys laid over them."""
    if entry.budgets is None:
        return info.budgets
    return info.budgets.model_copy(update=entry.budgets.model_dump(exclude_none=True))


def _with_tree(nation: Nation, children: list[str], coverage: set[str]) -> Nation:
    return Nation(
        **{**nation.__dict__, "children": tuple(children), "coverage": tuple(sorted(coverage))}
    )


def _parents_first(entries: dict[str, NationEntry]) -> list[str]:
    order: list[str] = []
    placed: set[str] = set()

    def place(slug: str) -> None:
        if slug in placed:
            return
        parent = entries[slug].parent
        if parent is not None:
            place(parent)
        placed.add(slug)
        order.append(slug)

    for slug in entries:
        place(slug)
    return order


def _children(entries: dict[str, NationEntry]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {slug: [] for slug in entries}
    for slug, entry in entries.items():
        if entry.parent is not None:
            children[entry.parent].append(slug)
    return children


def _coverage(
    entries: dict[str, NationEntry],
    children: dict[str, list[str]],
    geography: Geography | None,
) -> dict[str, set[str]]:
    """Own postcodes (named, or spanned by own areas) plus every descendant's, bottom-up."""
    coverage: dict[str, set[str]] = {}

    def cover(slug: str) -> set[str]:
        if slug not in coverage:
            codes = claimed_postcodes(entries[slug].geo, geography)
            for child in children[slug]:
                codes |= cover(child)
            coverage[slug] = codes
        return coverage[slug]

    for slug in entries:
        cover(slug)
    return coverage
