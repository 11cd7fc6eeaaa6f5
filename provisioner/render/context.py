"""What templates see: plain data about a nation, its network and the page being rendered.

Only spec data goes in here. Supporter rows never do, so no template, blueprint or
candidate override can leak a supporter onto a public page. Pure: this module reads no
file; the Builder loads a nation's site.yaml and hands its fields in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from provisioner.geo import Geography
from provisioner.render.blueprints import Blueprint
from provisioner.spec.network import Nation, Network

RECIPIENT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "unsubscribe_url",
    "confirm_url",
    "event_name",
    "event_date",
    "event_place",
)
# Send-time placeholders ({{first_name}}), the same object in every email: a partial
# imported with context is then shared by a nation's emails (see sharing.py). Templates
# cannot change it (immutable sandbox; in-place methods refused at compile time).
RECIPIENT = MappingProxyType({name: "{{" + name + "}}" for name in RECIPIENT_FIELDS})


def nation_data(
    network: Network, nation: Nation, site: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The `nation` variable of templates.

    `site` holds the fields set in the nation's site.yaml, laid over `content` and
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
    if site:
        _lay_site_over(data, site)
    return data


def _lay_site_over(nation: dict[str, Any], site: Mapping[str, Any]) -> None:
    """site.yaml's fields over `content` (colours and social links key by key) and
    `contact`, in place."""
    fields = {k: v for k, v in site.items() if k not in ("colors", "social", "contact")}
    content = {**nation["content"], **fields}
    if site.get("colors") is not None:
        content["colors"] = {**(content.get("colors") or {}), **site["colors"]}
    content["social"] = {**(content.get("social") or {}), **(site.get("social") or {})}
    nation["content"] = content
    if site.get("contact") is not None:
        nation["contact"] = {**nation["contact"], **site["contact"]}


def _content(nation: Nation) -> dict[str, Any]:
    content = nation.content.model_dump()
    if content["colors"] is None:
        content["colors"] = {"primary": None, "accent": None}
    return content


def _link(nation: Nation) -> dict[str, str]:
    return {"slug": nation.slug, "name": nation.name, "url": nation.url}


def network_data(network: Network) -> dict[str, Any]:
    """The `network` variable: nations.yaml's `network`, plus what its geography says."""
    return {**network.info.model_dump(mode="json"), "geo": geo_facts(network.geography)}


Helpers = tuple[Callable[..., str], Callable[[str], str]]  # link(), asset()


def page_context(
    base: Mapping[str, Any],
    blueprint: Blueprint,
    page_id: str,
    lang: str,
    at_root: bool,
    helpers: dict[tuple[str, bool], Helpers],
) -> dict[str, Any]:
    """Context for one page; hrefs are relative so a site works from disk and any host.

    `helpers`: the link() and asset() functions made so far, by language and depth (this
    adds what is missing), reused so that every page of a nation in one language sees
    the very same ones: a partial imported with context (macros.html.j2 reads `link`)
    is then built once for them all (sharing.py compares what it reads by identity)."""
    rel = "" if at_root else "../"
    languages = base["nation"]["languages"]
    if (lang, at_root) not in helpers:
        helpers[lang, at_root] = _helpers(blueprint, lang, rel)
    link, asset = helpers[lang, at_root]
    nav = [
        {"id": pid, "href": link(pid), "current": pid == page_id}
        for pid, spec in blueprint.manifest.pages.items()
        if spec.nav
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


def _helpers(blueprint: Blueprint, lang: str, rel: str) -> Helpers:
    def link(target: str, target_lang: str | None = None) -> str:
        chosen = target_lang or lang
        return f"{rel}{chosen}/{blueprint.page_path(target, chosen)}"

    def asset(path: str) -> str:
        return f"{rel}assets/{path}"

    return link, asset


def email_context(base: Mapping[str, Any], email_id: str, lang: str) -> dict[str, Any]:
    return {
        **base,
        "lang": lang,
        "t": base["strings"][lang],
        "email": {"id": email_id, "lang": lang},
        "recipient": RECIPIENT,
    }


def geo_facts(geography: Geography | None) -> dict[str, Any]:
    """Postcode format (for forms) and the data credit (for pages showing geography)."""
    if geography is None:
        return {"postcode_pattern": None, "postcode_example": "", "credit": None}
    credit = geography.credit
    return {
        "postcode_pattern": geography.postcode_pattern.pattern,
        "postcode_example": geography.postcode_example,
        "credit": credit.__dict__ if credit else None,
    }
