"""Whether every language a nation shows has all its texts (issue 15, item 4).

A language is usable when the blueprint's layered strings (see render/strings.py) have
every key, in the page strings (`i18n/`), the message scripts (`messages/`, when the
manifest declares scripts) and the call scripts (`calls/`, when any layer writes them),
and when its language switch can name the nation's other languages.
"""

from __future__ import annotations

from collections.abc import Iterator

from provisioner.errors import BlueprintError
from provisioner.render.blueprints import Catalog
from provisioner.render.strings import I18N, language_name_problem
from provisioner.spec.network import Nation, Network

MESSAGES, CALLS = "messages", "calls"
FIX = (
    "write the missing strings in the file named (a language the blueprints lack goes in "
    "the network's strings folder, network.strings), or choose another language"
)


def text_problems(network: Network, catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """(slug, message, fix) for each missing text, once per file and key: a network's
    file serves every blueprint, so its gap is reported once, not once per blueprint."""
    seen: set[str] = set()
    for nation in network:
        for lang, problem in _nation_problems(nation, network.info.country, catalog):
            if problem not in seen:
                seen.add(problem)
                yield (
                    nation.slug,
                    f"language {lang!r} of blueprint {nation.blueprint!r}: {problem}",
                    FIX,
                )


def _nation_problems(nation: Nation, country: str, catalog: Catalog) -> Iterator[tuple[str, str]]:
    folders = _text_folders(nation.blueprint, catalog)
    for lang in nation.languages:
        for folder in folders:
            try:
                strings = catalog.strings(nation.blueprint, lang, country, folder)
            except BlueprintError as exc:  # a broken YAML file: its own message says where
                yield lang, str(exc)
                continue
            yield from ((lang, problem) for problem in strings.problems)
            if folder == I18N:
                problem = language_name_problem(strings, nation.languages)
                if problem:
                    yield lang, problem


def _text_folders(name: str, catalog: Catalog) -> list[str]:
    """The text folders a build of blueprint `name` reads (as build.py decides)."""
    blueprint = catalog.get(name)
    roots = [catalog.base, blueprint.root]
    if catalog.network_strings is not None:
        roots.append(catalog.network_strings)
    folders = [I18N]
    if blueprint.manifest.messages:
        folders.append(MESSAGES)
    if any((root / CALLS).is_dir() for root in roots):
        folders.append(CALLS)
    return folders
