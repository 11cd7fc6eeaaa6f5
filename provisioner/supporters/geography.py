"""The network's geography read straight from nations.yaml with plain YAML.

Used by the sample generator and the benchmark so that they work without the spec
module. It trusts the file's structure: `provisioner validate` is what checks it.
A nation's own areas (`geo.areas`) count with the postcodes they span, as the
country's geography (`provisioner.geo`) says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SupporterFileError


@dataclass(frozen=True)
class Geography:
    """Own postcodes and parent of every nation, and the language of each postcode."""

    owners: dict[str, tuple[str, ...]]
    parents: dict[str, str | None]
    languages: dict[str, str]
    country: str = "BE"

    def postcode_languages(self) -> list[tuple[str, str]]:
        """(postcode, language) pairs sorted by postcode, as `generate` takes them."""
        return sorted(self.languages.items())


def load_geography(spec_path: Path) -> Geography:
    """Read slugs, parents, own postcodes and languages from nations.yaml."""
    network, nations = _read_nations(spec_path)
    country = str(network.get("country") or "BE")
    csv_path = network.get("geography")
    geography = _geography(country, spec_path.parent / csv_path if csv_path else None)
    parents = {str(n["slug"]): n.get("parent") for n in nations}
    owners = {str(n["slug"]): _own_postcodes(n.get("geo") or {}, geography) for n in nations}
    own_languages = {str(n["slug"]): list(n.get("languages") or ()) for n in nations}
    languages: dict[str, str] = {}
    # Deepest owner first: a candidate's languages say more about a postcode than its
    # province's.
    for slug in sorted(owners, key=lambda s: -_depth(s, parents)):
        language = _first_language(slug, parents, own_languages)
        for postcode in owners[slug]:
            languages.setdefault(postcode, language)
    return Geography(owners=owners, parents=parents, languages=languages, country=country)


def _geography(country: str, csv_path: Path | None) -> Any:
    from provisioner.geo import GeographyError, load_geography

    try:
        return load_geography(country, csv_path)
    except GeographyError as exc:
        raise SupporterFileError(str(exc)) from None


def _own_postcodes(geo: dict[str, Any], geography: Any) -> tuple[str, ...]:
    codes = [str(p) for p in geo.get("postcodes") or ()]
    for area in geo.get("areas") or ():
        codes += sorted(geography.postcodes_within(str(area)))
    return tuple(dict.fromkeys(codes))


def _read_nations(spec_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SupporterFileError(
            f"{spec_path}: file not found; pass --spec with the path to nations.yaml"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SupporterFileError(
            f"{spec_path}: cannot be read ({exc}); run `provisioner validate` for details"
        ) from None
    nations = document.get("nations") if isinstance(document, dict) else None
    network = document.get("network") if isinstance(document, dict) else None
    if not isinstance(nations, list) or not all(
        isinstance(n, dict) and "slug" in n for n in nations
    ):
        raise SupporterFileError(
            f"{spec_path}: `nations` must be a list of nations with a slug; "
            "run `provisioner validate` for details"
        )
    return (network if isinstance(network, dict) else {}), nations


def _depth(slug: str, parents: dict[str, str | None]) -> int:
    depth, seen = 0, {slug}
    parent = parents.get(slug)
    while parent is not None and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = parents.get(parent)
    return depth


def _first_language(slug: str, parents: dict[str, str | None], own: dict[str, list[str]]) -> str:
    """The first of the nation's languages, inherited from the nearest ancestor setting any."""
    seen: set[str] = set()
    current: str | None = slug
    while current is not None and current not in seen:
        if own.get(current):
            return str(own[current][0])
        seen.add(current)
        current = parents.get(current)
    return "fr"  # nations.yaml requires languages to resolve; this only guards a bad file
