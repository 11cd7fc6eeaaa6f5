"""Message scripts: what volunteers send their friends, and what callers say.

A blueprint declares its scripts in its manifest (`messages: [{id, kind}]`) and writes
their text per language in `messages/<lang>.yaml` (the shared `_base/messages/` first,
then the blueprint's own, merged key by key). Texts are Jinja, rendered in the
blueprint's sandboxed environment with place names, candidate, election date and links
of the nation; `[prénom]`-style fill-ins (declared in the file's `fill_ins`) are left
for the volunteer, who alone knows the friend's name. Any other `[...]` left in a text
is an error: a placeholder that was never filled must not reach a volunteer's phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import babel
import babel.dates
import jinja2
import yaml

from provisioner.errors import BlueprintError
from provisioner.render.blueprints import Blueprint
from provisioner.render.rendering import RENDER_ERRORS
from provisioner.spec.yamlsource import deep_merge

FOLDER = "messages"
BRACKETED = re.compile(r"\[([^\[\]\n]{1,40})\]")
# The geo level that names a nation's place, by kind (the HQ has none).
PLACE_LEVEL = {
    "candidate": "municipality",
    "section": "municipality",
    "province": "province",
    "region": "region",
}


@dataclass(frozen=True)
class MessageTexts:
    """One language's message file, merged over the shared one."""

    path: Path
    data: dict[str, Any]

    def section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise BlueprintError(f"{self.path}: `{key}` must be a mapping")
        return value

    @property
    def fill_ins(self) -> frozenset[str]:
        return frozenset(str(item) for item in self.data.get("fill_ins") or [])


class MessageBook:
    """The message scripts of one blueprint, compiled once, rendered for any nation."""

    def __init__(self, blueprint: Blueprint, base: Path, env: jinja2.Environment):
        self.blueprint = blueprint
        self.base = base
        self.env = env
        self._texts: dict[str, MessageTexts] = {}
        self._compiled: dict[tuple[str, str, str], jinja2.Template] = {}

    def has_folder(self, folder: str) -> bool:
        """Whether the base, the blueprint or the network writes texts in `folder`."""
        return any((root / folder).is_dir() for root in self._roots())

    def texts(self, lang: str, folder: str = FOLDER) -> MessageTexts:
        """The merged `<folder>/<lang>.yaml` of the base, the blueprint and the
        network's strings folder (cached)."""
        key = f"{folder}/{lang}"
        if key not in self._texts:
            paths = [root / folder / f"{lang}.yaml" for root in self._roots()]
            self._texts[key] = _read_texts(paths)
        return self._texts[key]

    def _roots(self) -> list[Path]:
        network = self.blueprint.network_strings
        return [self.base, self.blueprint.root, *([network] if network else [])]

    def page_data(self, nation: dict[str, Any], network: dict[str, Any], lang: str) -> dict:
        """What the messages page shows in `lang`: scripts, tips and the filled values."""
        texts = self.texts(lang)
        context = message_context(self.blueprint, nation, network, lang, texts)
        scripts = self.scripts(texts, context)
        tips = texts.section("tips")
        items = [
            self.fill(texts, f"tips.items.{i}", item, context)
            for i, item in enumerate(tips.get("items") or [])
        ]
        return {
            "scripts": scripts,
            "by_id": {script["id"]: script for script in scripts},
            "tips": {"title": str(tips.get("title", "")), "items": items},
            "fill": context,
            "fill_ins": sorted(texts.fill_ins),
        }

    def scripts(self, texts: MessageTexts, context: dict[str, Any]) -> list[dict[str, str]]:
        """Every script the manifest declares, filled from `context`."""
        scripts = texts.section("scripts")
        rendered = []
        for spec in self.blueprint.manifest.messages:
            entry = scripts.get(spec.id)
            if not isinstance(entry, dict) or not entry.get("text"):
                raise BlueprintError(
                    f"{texts.path}: no text for message {spec.id!r} declared in "
                    f"{self.blueprint.root / 'manifest.yaml'}; add scripts.{spec.id}.text"
                )
            fields = {
                name: self.fill(texts, f"scripts.{spec.id}.{name}", entry.get(name), context)
                for name in ("title", "hint", "text")
            }
            rendered.append({"id": spec.id, "kind": spec.kind, **fields})
        return rendered

    def fill(self, texts: MessageTexts, where: str, source: Any, context: dict[str, Any]) -> str:
        """Render one text of `texts` (at dotted key `where`); check what is left unfilled."""
        if source is None:
            return ""
        key = (str(texts.path), where, str(source))
        template = self._compiled.get(key)
        try:
            if template is None:
                template = self._compiled[key] = self._compile(f"{texts.path}#{where}", str(source))
            text = template.render(context).strip()
        except RENDER_ERRORS as exc:
            raise BlueprintError(f"{texts.path}: {where}: {exc}") from exc
        unfilled = [m for m in BRACKETED.findall(text) if m not in texts.fill_ins]
        if unfilled:
            raise BlueprintError(
                f"{texts.path}: {where} leaves [{unfilled[0]}] unfilled; use a placeholder "
                f"such as {{{{ place }}}} or declare it in fill_ins"
            )
        return text

    def _compile(self, key: str, source: str) -> jinja2.Template:
        """`env.from_string(source)`, through the environment's bytecode cache: a deploy
        keeps this code with its templates' (codecache.py), so a one-nation redeploy
        does not compile every script again. `key` names the text for the cache only;
        errors read as from_string's."""
        cache = self.env.bytecode_cache
        if cache is None:
            return self.env.from_string(source)
        bucket = cache.get_bucket(self.env, key, None, source)
        if bucket.code is None:
            bucket.code = self.env.compile(source)
            cache.set_bucket(bucket)
        return self.env.template_class.from_code(
            self.env, bucket.code, self.env.make_globals(None), None
        )


def message_context(
    blueprint: Blueprint,
    nation: dict[str, Any],
    network: dict[str, Any],
    lang: str,
    texts: MessageTexts,
) -> dict[str, Any]:
    """What a message text may use; all of it is public spec data."""
    candidate = nation.get("candidate")
    place, in_place = _place(nation, texts)
    election = network.get("election_date")
    return {
        "lang": lang,
        "network": network["name"],
        "nation": nation["name"],
        "place": place,
        "in_place": in_place,
        "candidate": f"{candidate['first_name']} {candidate['last_name']}" if candidate else None,
        "list_name": (candidate or {}).get("list_name") or nation["name"],
        "list_position": (candidate or {}).get("list_position"),
        "election_date": format_date(election, lang)
        if election
        else texts.data.get("election_unknown", ""),
        "links": page_links(blueprint, nation["url"], lang),
    }


def page_links(blueprint: Blueprint, url: str, lang: str) -> dict[str, str]:
    """Absolute URL of each page of the nation in `lang` (messages leave the site)."""
    root = url.rstrip("/")
    pages = blueprint.manifest.pages
    return {page: f"{root}/{lang}/{blueprint.page_path(page, lang)}" for page in pages}


def format_date(value: date | str, lang: str) -> str:
    """The long date in `lang`, from CLDR (babel): `11 octobre 2026`, `11. Oktober 2026`,
    `11 ottobre 2026`, so a language a network adds gets its own month names."""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    try:
        locale = babel.Locale.parse(lang, sep="-")
    except (ValueError, babel.UnknownLocaleError):
        return day.isoformat()  # a valid tag CLDR has no data for: unambiguous everywhere
    return babel.dates.format_date(day, format="long", locale=locale)


def _place(nation: dict[str, Any], texts: MessageTexts) -> tuple[str | None, str]:
    """The nation's place name and the phrase "à Anderlecht" / "in Gent" for it."""
    patterns = texts.section("places")
    level = PLACE_LEVEL.get(nation["kind"])
    name = nation["geo"].get(level) if level else None
    if not level or not name:
        return None, str(patterns.get("none", ""))
    return name, str(patterns.get(level, "{name}")).replace("{name}", name)


def _read_texts(paths: list[Path]) -> MessageTexts:
    merged: dict[str, Any] = {}
    found = [path for path in paths if path.is_file()]
    if not found:
        raise BlueprintError(
            f"{paths[-1]}: no message scripts for this language; write {paths[0]} or {paths[-1]}"
        )
    for path in found:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise BlueprintError(f"{path}: invalid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise BlueprintError(f"{path}: must be a mapping (fill_ins, places, scripts)")
        merged = deep_merge(merged, data)
    return MessageTexts(found[-1], merged)
