"""Load and validate nations.yaml into a resolved `Network`.

Every problem is collected before anything is reported, each with its line and YAML
path, so a user fixes a broken file in one round instead of one error per run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner.errors import BlueprintError, Problem, SpecError
from provisioner.geo import Geography, GeographyError, load_geography
from provisioner.geo.claims import overlap_problems
from provisioner.langtags import is_language_tag
from provisioner.render.blueprints import Catalog
from provisioner.render.strings import network_folder_problems
from provisioner.spec.models import NationEntry, NetworkInfo, SpecFile
from provisioner.spec.network import Network, resolve
from provisioner.spec.parsememo import load_kept
from provisioner.spec.textcheck import text_problems
from provisioner.spec.yamlsource import Loc, YamlSource, deep_merge

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9:_-]*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def load_network(
    spec_path: Path,
    blueprints_dir: Path | None = None,
    tags_memo: Path | None = None,
    parse_memo: Path | None = None,
) -> Network:
    """Parse, validate and resolve nations.yaml; raise SpecError listing every problem.
    `tags_memo`: where language tags found valid are kept between runs (langtags.py);
    `parse_memo`: where the parsed file is kept between runs (parsememo.py)."""
    source = load_kept(spec_path, str(spec_path), parse_memo)
    catalog = Catalog(blueprints_dir or spec_path.parent / "blueprints")
    checker = _Checker(source, catalog, spec_path.parent, tags_memo)
    network = checker.run()
    network.source = str(spec_path)
    network.catalog = checker.catalog
    return network


class _Checker:
    """Runs every check over one parsed file and accumulates problems."""

    def __init__(
        self,
        source: YamlSource,
        catalog: Catalog,
        spec_dir: Path = Path("."),
        tags_memo: Path | None = None,
    ):
        self.source = source
        self.tags_memo = tags_memo
        self.catalog = catalog
        self.spec_dir = spec_dir
        self.geography: Geography | None = None
        self.strings_dir: Path | None = None
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, fix: str = "") -> None:
        self.problems.append(self.source.problem(loc, message, fix))

    def run(self) -> Network:
        top = self._validate_top()
        if top:
            self.geography = self._load_geography(top.network)
            self._use_network_strings(top.network)
        entries = self._validate_entries(top.nations if top else [], top.defaults if top else {})
        self._check_unique(entries, "slug", "slug")
        kinds = self._check_blueprints(entries)
        by_slug = {entry.slug: entry for entry in entries.values()}
        self._check_parents(entries, by_slug)
        if top:
            self._check_domains(entries, top.network.base_domain)
        if self.problems:
            raise SpecError(self.problems)
        lines = {e.slug: self.source.line_of(("nations", i)) or 0 for i, e in entries.items()}
        network = resolve(top.network, by_slug, kinds, lines, self.geography) if top else None
        assert network is not None
        network.geography = self.geography
        network.strings_dir = self.strings_dir
        self._check_resolved(network, entries)
        self._check_strings(network, entries)
        if self.problems:
            raise SpecError(self.problems)
        return network

    def _load_geography(self, info: NetworkInfo) -> Geography | None:
        if not COUNTRY_RE.fullmatch(info.country):
            self.add(
                ("network", "country"),
                f"invalid country {info.country!r}",
                "use an ISO 3166-1 alpha-2 code in capitals, such as BE or FR",
            )
            return None
        path = self.spec_dir / info.geography if info.geography else None
        try:
            return load_geography(info.country, path)
        except GeographyError as exc:
            self.add(("network", "geography" if path else "country"), str(exc), "")
            return None

    def _use_network_strings(self, info: NetworkInfo) -> None:
        """Layer the network's strings folder over the blueprints' texts."""
        if info.strings is None:
            return
        path = self.spec_dir / info.strings
        for problem in network_folder_problems(path):
            fix = "move it" if path.is_dir() else "create it beside nations.yaml, or remove the key"
            self.add(("network", "strings"), problem, fix)
        if path.is_dir():
            self.strings_dir = path
            self.catalog = Catalog(self.catalog.root, path)

    # -- structure -------------------------------------------------------------------------
    def _validate_top(self) -> SpecFile | None:
        data = self.source.data
        if not isinstance(data, dict):
            self.add((), "the file must be a mapping with `network` and `nations`", "")
            return None
        try:
            return SpecFile.model_validate(data)
        except ValidationError as exc:
            self._pydantic_problems((), exc)
            return None

    def _validate_entries(self, raw: list[Any], defaults: dict[str, Any]) -> dict[int, NationEntry]:
        entries: dict[int, NationEntry] = {}
        for index, item in enumerate(raw):
            loc: Loc = ("nations", index)
            if not isinstance(item, dict):
                self.add(loc, "each nation must be a mapping", "start it with `- slug: ...`")
                continue
            merged = deep_merge(defaults.get(str(item.get("blueprint")), {}), item)
            try:
                entries[index] = NationEntry.model_validate(merged)
            except ValidationError as exc:
                self._pydantic_problems(loc, exc)
                continue
            self._check_formats(loc, entries[index])
        return entries

    def _pydantic_problems(self, prefix: Loc, exc: ValidationError) -> None:
        for error in exc.errors():
            loc = (*prefix, *error["loc"])
            kind = error["type"]
            if kind == "extra_forbidden":
                self.add(loc, f"unknown key {loc[-1]!r}", "remove it or check its spelling")
            elif kind == "missing":
                self.add(loc, f"missing required field {loc[-1]!r}", "add it")
            else:
                self.add(loc, error["msg"], "")

    def _check_formats(self, loc: Loc, entry: NationEntry) -> None:
        if not SLUG_RE.fullmatch(entry.slug) or len(entry.slug) > 63:
            self.add(
                (*loc, "slug"),
                f"invalid slug {entry.slug!r}",
                "use lowercase letters, digits and single hyphens (at most 63 characters)",
            )
        if entry.domain is not None and not DOMAIN_RE.fullmatch(entry.domain):
            self.add((*loc, "domain"), f"invalid domain {entry.domain!r}", "use a lowercase FQDN")
        for i, tag in enumerate(entry.tags):
            if not TAG_RE.fullmatch(tag):
                self.add((*loc, "tags", i), f"invalid tag {tag!r}", "use lowercase a-z, 0-9, : _ -")
        for i, language in enumerate(entry.languages or ()):
            if not is_language_tag(language, self.tags_memo):
                self.add(
                    (*loc, "languages", i),
                    f"invalid language {language!r}",
                    "use a BCP 47 tag such as fr, nl, de or fr-BE",
                )
        if entry.languages is not None and not entry.languages:
            self.add((*loc, "languages"), "languages is empty", "list languages, or omit it")
        self._check_geo(loc, entry)

    def _check_geo(self, loc: Loc, entry: NationEntry) -> None:
        geography = self.geography
        if geography is None:
            return
        for i, code in enumerate(entry.geo.postcodes):
            problem = geography.postcode_problem(code)
            if problem:
                self.add((*loc, "geo", "postcodes", i), problem, "write it as a quoted string")
        for i, code in enumerate(entry.geo.areas):
            problem = geography.area_problem(code)
            if problem:
                self.add((*loc, "geo", "areas", i), problem, "")

    # -- cross-nation checks ---------------------------------------------------------------
    def _check_unique(self, entries: dict[int, NationEntry], attr: str, label: str) -> None:
        first: dict[str, int] = {}
        for index, entry in entries.items():
            value = getattr(entry, attr)
            if value is None:
                continue
            if value in first:
                line = self.source.line_of(("nations", first[value], attr))
                self.add(
                    ("nations", index, attr),
                    f"duplicate {label} {value!r} (first defined at line {line})",
                    f"choose a unique {label}",
                )
            else:
                first[value] = index

    def _check_blueprints(self, entries: dict[int, NationEntry]) -> dict[str, str]:
        kinds: dict[str, str] = {}
        broken: set[str] = set()  # a broken manifest is reported once, not once per nation
        names = self.catalog.names()
        for index, entry in entries.items():
            if entry.blueprint not in names:
                known = ", ".join(names) or "none found in " + str(self.catalog.root)
                self.add(
                    ("nations", index, "blueprint"),
                    f"unknown blueprint {entry.blueprint!r}",
                    f"use one of: {known}",
                )
                continue
            if entry.blueprint in broken:
                continue
            try:
                blueprint = self.catalog.get(entry.blueprint)
            except BlueprintError as exc:
                broken.add(entry.blueprint)
                self.add(("nations", index, "blueprint"), str(exc), "")
                continue
            kinds[entry.blueprint] = blueprint.manifest.kind
        return kinds

    def _check_parents(
        self, entries: dict[int, NationEntry], by_slug: dict[str, NationEntry]
    ) -> None:
        index_of = {entry.slug: index for index, entry in entries.items()}
        for index, entry in entries.items():
            if entry.parent is not None and entry.parent not in by_slug:
                self.add(
                    ("nations", index, "parent"),
                    f"unknown parent {entry.parent!r}",
                    "use the slug of a nation defined in this file, or remove `parent`",
                )
        reported: set[str] = set()
        for slug in by_slug:
            cycle = _cycle_from(slug, by_slug)
            if cycle and not reported & set(cycle):
                reported |= set(cycle)
                self.add(
                    ("nations", index_of[cycle[0]], "parent"),
                    "cycle in parents: " + " -> ".join([*cycle, cycle[0]]),
                    "make one of these nations a root or point it elsewhere",
                )

    def _check_domains(self, entries: dict[int, NationEntry], base_domain: str) -> None:
        explicit = {i: e for i, e in entries.items() if e.domain}
        self._check_unique(explicit, "domain", "domain")
        defaults = {f"{e.slug}.{base_domain}" for e in entries.values()}
        for index, entry in explicit.items():
            if entry.domain in defaults and entry.domain != f"{entry.slug}.{base_domain}":
                self.add(
                    ("nations", index, "domain"),
                    f"domain {entry.domain!r} is another nation's default domain",
                    "choose another domain",
                )

    def _check_resolved(self, network: Network, entries: dict[int, NationEntry]) -> None:
        index_of = {entry.slug: index for index, entry in entries.items()}
        for nation in network:
            loc: Loc = ("nations", index_of[nation.slug])
            if not nation.languages:
                self.add((*loc, "languages"), "no languages", "set languages here or on a parent")
            for field in self.catalog.get(nation.blueprint).manifest.required:
                if _lookup(nation, field) in (None, ""):  # after inheritance: parents may supply it
                    self.add(
                        loc,
                        f"missing {field!r}, required by blueprint {nation.blueprint!r}",
                        f"add {field} to this nation or to a parent",
                    )
        for slug, key, message, fix in overlap_problems(network, self.geography):
            self.add(("nations", index_of[slug], "geo", key), message, fix)

    def _check_strings(self, network: Network, entries: dict[int, NationEntry]) -> None:
        index_of = {entry.slug: index for index, entry in entries.items()}
        for slug, message, fix in text_problems(network, self.catalog):
            self.add(("nations", index_of[slug], "languages"), message, fix)


def _lineage(network: Network, slug: str) -> set[str]:
    return {slug, *(a.slug for a in network.ancestors(slug))}


def _cycle_from(start: str, by_slug: dict[str, NationEntry]) -> list[str] | None:
    path: list[str] = []
    current: str | None = start
    while current is not None and current in by_slug:
        if current in path:
            cycle = path[path.index(current) :]
            return cycle if start in cycle else None
        path.append(current)
        current = by_slug[current].parent
    return None


def _lookup(nation: Any, dotted_field: str) -> Any:
    value: Any = nation
    for part in dotted_field.split("."):
        value = getattr(value, part, None) if value is not None else None
    return value
