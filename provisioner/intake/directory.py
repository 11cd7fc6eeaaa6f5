"""The network as intake sees it: what each nation's public `nation.json` says.

Intake reads no spec and no supporter file: a nation's pages, hosts, languages,
consent wording and privacy-notice version are all in its published `nation.json`
(see build.py), so the same directory works from `build/sites/` (serve) and from a
bundle of those files (the cloud).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class NationEntry:
    """One nation, as published in its nation.json."""

    slug: str
    name: str
    domain: str
    parent: str | None
    languages: tuple[str, ...]
    pages: dict[str, dict[str, str]]  # page id -> lang -> path under the site root
    consent: dict[str, dict[str, str]]  # lang -> channel -> exact wording shown
    privacy_version: dict[str, str]  # lang -> SHA-256 of the privacy notice page
    postcodes: tuple[str, ...]  # its own
    coverage: frozenset[str]  # its own and its descendants'
    sender: str  # From: of its emails, "Name <address>"
    country: str = "BE"  # region of phone numbers written in national format
    postcode_pattern: str | None = None  # the network geography's format (None: Belgium's)
    postcode_example: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NationEntry:
        intake = data.get("intake") or {}
        return cls(
            slug=data["slug"],
            name=data["name"],
            domain=data["domain"].lower(),
            parent=data.get("parent"),
            languages=tuple(data["languages"]),
            pages={pid: dict(paths) for pid, paths in data.get("pages", {}).items()},
            consent={lang: dict(t) for lang, t in intake.get("consent", {}).items()},
            privacy_version=dict(intake.get("privacy_version", {})),
            postcodes=tuple((data.get("geo") or {}).get("postcodes") or ()),
            coverage=frozenset(data.get("coverage") or ()),
            sender=intake.get("sender") or f"{data['name']} <noreply@{data['domain']}>",
            country=intake.get("country") or "BE",
            postcode_pattern=intake.get("postcode_pattern"),
            postcode_example=intake.get("postcode_example") or "",
        )

    def page_path(self, page_id: str, lang: str) -> str | None:
        """A page's path under the site root (`fr/merci.html`), in another language
        when it lacks `lang`; None when the nation has no such page."""
        paths = self.pages.get(page_id)
        if not paths:
            return None
        return paths.get(lang) or next(iter(paths.values()))


class Directory:
    """Nations by slug and by host, and which nation a postcode belongs to."""

    def __init__(self, nations: Iterable[NationEntry], extra_hosts: Iterable[str] = ()):
        self.nations = {n.slug: n for n in nations}
        self._by_host = {n.domain: n for n in self.nations.values()}
        # Hosts that are the network without being one nation: `serve`'s own address.
        self.extra_hosts = frozenset(h.lower() for h in extra_hosts)
        roots = [n.slug for n in self.nations.values() if n.parent is None]
        self.root = sorted(roots)[0] if roots else None
        self._owner = self._owners()

    @classmethod
    def from_sites(cls, sites: Path, extra_hosts: Iterable[str] = ()) -> Directory:
        """Every `<sites>/<slug>/nation.json` (a deployed local target)."""
        entries = []
        for path in sorted(sites.glob("*/nation.json")):
            if path.parent.name.startswith("."):
                continue
            entries.append(NationEntry.from_json(json.loads(path.read_text("utf-8"))))
        return cls(entries, extra_hosts)

    def get(self, slug: str) -> NationEntry | None:
        return self.nations.get(slug)

    def by_host(self, host: str) -> NationEntry | None:
        """The nation served at `host` (its domain; a port is ignored)."""
        return self._by_host.get(_hostname(host))

    def is_network_host(self, host: str) -> bool:
        """True for a nation's domain or one of the extra hosts (`host:port` or host)."""
        host = host.lower()
        return host in self.extra_hosts or _hostname(host) in self._by_host

    def route(self, nation: NationEntry, postcode: str) -> str:
        """The nation whose lists get a supporter with `postcode` who signed on `nation`:
        `nation` itself when it covers the postcode, else the nation owning it, else
        the network's root (the HQ)."""
        if postcode in nation.coverage:
            return nation.slug
        return self._owner.get(postcode) or self.root or nation.slug

    def _owners(self) -> dict[str, str]:
        """Postcode -> the deepest nation claiming it (the first by slug on a tie)."""
        depth = {slug: self._depth(slug) for slug in self.nations}
        owner: dict[str, str] = {}
        for slug in sorted(self.nations):
            for postcode in self.nations[slug].postcodes:
                known = owner.get(postcode)
                if known is None or depth[slug] > depth[known]:
                    owner[postcode] = slug
        return owner

    def _depth(self, slug: str) -> int:
        seen: set[str] = set()
        parent = self.nations[slug].parent
        while parent is not None and parent in self.nations and parent not in seen:
            seen.add(parent)
            parent = self.nations[parent].parent
        return len(seen)


def _hostname(host: str) -> str:
    host = host.lower()
    if host.startswith("["):  # [::1]:8000
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
