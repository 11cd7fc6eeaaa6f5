"""What templates see: plain data about a nation, its network and the page being rendered.

Only spec data goes in here. Supporter rows never do, so no template, blueprint or
candidate override can leak a supporter onto a public page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.blueprints import Blueprint
from provisioner.candidates.site_content import load_site_content, merge_site_content
from provisioner.network import Nation, Network

RECIPIENT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "unsubscribe_url",
    "event_name",
    "event_date",
    "event_place",
)


def nation_data(network: Network, nation: Nation, folder: Path | None = None) -> dict[str, Any]:
    """The `nation` variable of templates (also what a nation's fingerprint hashes).

    With `folder` (the nation's own folder), its site.yaml is laid over `content` and
    `contact`: candidates edit their content there, not in the shared nations.yaml.
    """
    parent = network.nations[nation.parent] if nation.parent else None
    data = {
        "slug": nation.slug,
        "name": nation.name,
        "kind": nation.kind,
        "blueprint": nation.blueprint,
        "languages": list(nation.languages),
        "domain": nation.domain,
        "url": nation.url,
        "geo": nation.geo.model_dump(),
        "coverage": list(nation.coverage),
        "tags": list(nation.tags),
        "inherited_tags": list(nation.inherited_tags),
        "all_tags": list(nation.all_tags),
        "contact": nation.contact.model_dump(),
        "candidate": nation.candidate.model_dump() if nation.candidate else None,
        "content": _content(nation),
        "parent": _link(parent) if parent else None,
        "children": [_link(network.nations[c]) for c in nation.children],
    }
    site = load_site_content(folder) if folder is not None else None
    if site is not None:
        merge_site_content(data, site)
    return data


def _content(nation: Nation) -> dict[str, Any]:
    content = nation.content.model_dump()
    if content["colors"] is None:
        content["colors"] = {"primary": None, "accent": None}
    return content


def _link(nation: Nation) -> dict[str, str]:
    return {"slug": nation.slug, "name": nation.name, "url": nation.url}


def network_data(network: Network) -> dict[str, Any]:
    return network.info.model_dump(mode="json")  # JSON-safe: fingerprints hash it


def page_context(
    base: dict[str, Any], blueprint: Blueprint, page_id: str, lang: str, at_root: bool
) -> dict[str, Any]:
    """Context for one page; hrefs are relative so a site works from disk and any host."""
    rel = "" if at_root else "../"
    languages = base["nation"]["languages"]

    def link(target: str, target_lang: str | None = None) -> str:
        chosen = target_lang or lang
        return f"{rel}{chosen}/{blueprint.page_path(target, chosen)}"

    def asset(path: str) -> str:
        return f"{rel}assets/{path}"

    nav = [
        {"id": pid, "href": link(pid), "current": pid == page_id}
        for pid in blueprint.manifest.pages
    ]
    alternates = [
        {"lang": other, "href": link(page_id, other)} for other in languages if other != lang
    ]
    return {
        **base,
        "lang": lang,
        "t": base["strings"][lang],
        "page": {"id": page_id, "lang": lang, "path": blueprint.page_path(page_id, lang)},
        "nav": nav,
        "alternates": alternates,
        "rel": rel,
        "link": link,
        "asset": asset,
    }


def email_context(base: dict[str, Any], email_id: str, lang: str) -> dict[str, Any]:
    return {
        **base,
        "lang": lang,
        "t": base["strings"][lang],
        "email": {"id": email_id, "lang": lang},
        "recipient": {name: "{{" + name + "}}" for name in RECIPIENT_FIELDS},
    }
