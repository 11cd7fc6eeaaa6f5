"""Translated strings of a blueprint, for any BCP 47 language, and what is missing.

Strings are YAML files layered in this order, later ones winning key by key:

    blueprints/_base/i18n/<lang>.yaml                    shared by every blueprint
    blueprints/_base/i18n/countries/<CC>/<lang>.yaml     true in one country only
    blueprints/<blueprint>/i18n/<lang>.yaml              the blueprint's own
    <network.strings>/i18n/<lang>.yaml                   the network's own (optional)

The message and call scripts (`messages/`, `calls/`) are layered the same way, without
the country folder. Within one shipped folder every language file must have the keys
the others have, unless the network's file for that language supplies them; so a
network can add a language the blueprints do not ship (`it`, `lb`) by writing it in
its own folder, or reword a shipped language with a file of only the keys it changes.
A language is complete or reported, file and key, by `provisioner validate`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - libyaml missing
    from yaml import SafeLoader  # type: ignore[assignment]

from provisioner.errors import BlueprintError
from provisioner.filestat import RACY_NS
from provisioner.spec.yamlsource import deep_merge

SHOWN_KEYS = 5
I18N = "i18n"
# The folders a network's strings folder may hold, as in a blueprint.
TEXT_FOLDERS = (I18N, "messages", "calls")


@dataclass
class Strings:
    """Merged strings of one blueprint in one language, and the problems found."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # The file a user edits to add a string in this language: the network's own when
    # the network has a strings folder, else the first (most shared) shipped file.
    edit_path: Path | None = None


def load_strings(folders: list[Path], lang: str, network: Path | None = None) -> Strings:
    """Merge `<folder>/<lang>.yaml` of the shipped `folders`, then of the `network`
    folder; report the keys that sibling languages have and this one has nowhere."""
    own_path = network / f"{lang}.yaml" if network is not None else None
    own = read_strings(own_path) if own_path is not None and own_path.is_file() else None
    own_keys = key_paths(own) if own is not None else set()
    result = Strings(edit_path=own_path)
    uncovered: dict[str, Path] = {}  # key -> a sibling file that has it
    absent: list[tuple[Path, list[Path]]] = []  # shipped files this language lacks
    for folder in folders:
        siblings = language_files(folder)
        if not siblings:
            continue
        path = folder / f"{lang}.yaml"
        reference = sibling_keys(siblings, path)
        if path.is_file():
            data = read_strings(path)
            _report_missing(result, path, reference - key_paths(data) - own_keys)
            result.values = deep_merge(result.values, data)
            result.edit_path = result.edit_path or path  # the network's, else the shared one
        elif own is None:
            absent.append((path, siblings))
        else:
            sample = next(p for p in siblings if p != path)
            uncovered.update(dict.fromkeys(sorted(reference - own_keys), sample))
    _report_absent(result, absent, own_path if own is None else None)
    if own is not None and own_path is not None:
        missing = sorted(uncovered)
        hint = f" (as in {uncovered[missing[0]]})" if missing else ""
        _report_missing(result, own_path, set(missing), hint)
        result.values = deep_merge(result.values, own)
    return result


def _report_absent(
    result: Strings, absent: list[tuple[Path, list[Path]]], own_path: Path | None
) -> None:
    """Shipped files of the language that do not exist: with a network strings folder
    the user writes the language there (`own_path`), not in the blueprints."""
    if own_path is not None and absent:
        path, siblings = absent[0]
        where = f"{path.parent} has {_names(siblings)}"
        result.problems.append(f"{own_path}: missing ({where}, but no {path.name})")
        return
    for path, siblings in absent:
        result.problems.append(f"{path}: missing ({_names(siblings)} exist beside it)")


def language_name_problem(strings: Strings, languages: Iterable[str]) -> str | None:
    """The language switch names each language of a page in the page's language
    (`t.lang_names.<tag>`): which of `languages` these strings cannot name, if any."""
    names = strings.values.get("lang_names")
    if not isinstance(names, dict):
        return None  # a blueprint without a language switch
    missing = sorted({f"lang_names.{lang}" for lang in languages if lang not in names})
    if not missing:
        return None
    return f"{strings.edit_path}: missing key(s) {', '.join(missing)} (the language switch)"


def _report_missing(result: Strings, path: Path, missing: set[str], hint: str = "") -> None:
    if not missing:
        return
    keys = sorted(missing)
    shown = ", ".join(keys[:SHOWN_KEYS])
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    result.problems.append(f"{path}: missing key(s) {shown}{more}{hint}")


def language_files(folder: Path) -> list[Path]:
    """The `<lang>.yaml` files of a strings folder, sorted."""
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def sibling_keys(siblings: list[Path], path: Path) -> set[str]:
    """Every key that a language file beside `path` has."""
    return set().union(*(_keys_of(p) for p in siblings if p != path))


def _keys_of(path: Path) -> frozenset[str]:
    """The keys of one file, parsed once per version of it: each language asks for its
    siblings' keys, so a folder of n languages was parsed n times over. A file written
    within the last second is parsed again (its next edit could keep size and mtime)."""
    stat = path.stat()
    if time.time_ns() - stat.st_mtime_ns < RACY_NS:
        return _parsed_keys(path)
    return _kept_keys(path, (stat.st_ino, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=1024)
def _kept_keys(path: Path, version: tuple[int, int, int]) -> frozenset[str]:
    """`_parsed_keys`, memoised per `version` of the file (inode, size, mtime)."""
    return _parsed_keys(path)


def _parsed_keys(path: Path) -> frozenset[str]:
    return frozenset(key_paths(read_strings(path)))


def network_folder_problems(root: Path) -> list[str]:
    """What is wrong with the layout of a network's strings folder (empty when fine)."""
    if not root.is_dir():
        return [f"{root}: no such folder"]
    problems = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or (entry.is_dir() and entry.name in TEXT_FOLDERS):
            continue
        if entry.suffix == ".yaml":
            problems.append(f"{entry}: not read; page strings go in {root / I18N / entry.name}")
        else:
            folders = ", ".join(f"{name}/" for name in TEXT_FOLDERS)
            problems.append(f"{entry}: not read; a strings folder holds only {folders}")
    return problems


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


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)
