"""Translated strings of a blueprint, for any BCP 47 language, and what is missing.

Strings are YAML files layered in this order, later ones winning key by key:

    blueprints/_base/i18n/<lang>.yaml                    shared by every blueprint
    blueprints/_base/i18n/countries/<CC>/<lang>.yaml     true in one country only
    blueprints/<blueprint>/i18n/<lang>.yaml              the blueprint's own

Within one folder every language file must have the keys the others have, so a
language is complete or reported, file and key, by `provisioner validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import langcodes
import yaml

try:  # the C loader is several times faster
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader  # type: ignore[assignment]

from provisioner.errors import BlueprintError
from provisioner.spec.yamlsource import deep_merge

SHOWN_KEYS = 5


def is_language_tag(tag: str) -> bool:
    """A well-formed BCP 47 tag (fr, de, fr-BE, zh-Hant)."""
    return "_" not in tag and langcodes.tag_is_valid(tag)


@dataclass
class Strings:
    """Merged strings of one blueprint in one language, and the problems found."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_strings(folders: list[Path], lang: str) -> Strings:
    """Merge `<folder>/<lang>.yaml` over each other; report what siblings have and it lacks."""
    result = Strings()
    for folder in folders:
        siblings = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        if not siblings:
            continue
        path = folder / f"{lang}.yaml"
        reference = set().union(*(key_paths(read_strings(p)) for p in siblings if p != path))
        if not path.is_file():
            result.problems.append(
                f"{path}: missing ({', '.join(p.name for p in siblings)} exist beside it)"
            )
            continue
        data = read_strings(path)
        missing = sorted(reference - key_paths(data))
        if missing:
            shown = ", ".join(missing[:SHOWN_KEYS])
            more = f" and {len(missing) - SHOWN_KEYS} more" if len(missing) > SHOWN_KEYS else ""
            result.problems.append(f"{path}: missing key(s) {shown}{more}")
        result.values = deep_merge(result.values, data)
    return result


def key_paths(data: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of a mapping (a list counts as one leaf)."""
    paths: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            paths |= key_paths(value, path + ".")
        else:
            paths.add(path)
    return paths


def read_strings(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader) or {}
    except yaml.YAMLError as exc:
        raise BlueprintError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BlueprintError(f"{path}: must be a mapping of strings")
    return data
