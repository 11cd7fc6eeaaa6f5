"""Which distribution serves which domain: pure decisions, unit-tested without Pulumi.

The main distribution carries two aliases, `*.<base>` and `<base>`: every nation's
default domain `<slug>.<base>` (and any custom domain one label under the base) is
served by the wildcard, whatever the size of the network. Custom domains elsewhere
need their own alias, and CloudFront takes at most 100 per distribution, so they are
spread over shard distributions in spec order: appending nations never moves a domain
from one shard to another (moving an alias between distributions is a two-step change).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from provisioner.targets.layout import kvs_domain_key

T = TypeVar("T")
MAX_ALIASES = 100  # CloudFront's quota of alternate domain names per distribution


@dataclass(frozen=True)
class Site:
    slug: str
    domain: str


@dataclass(frozen=True)
class Routing:
    base_domain: str
    covered: tuple[Site, ...]  # custom domains the wildcard alias already serves
    shards: tuple[tuple[Site, ...], ...]  # the others, at most MAX_ALIASES per shard

    @property
    def custom(self) -> tuple[Site, ...]:
        return self.covered + tuple(site for shard in self.shards for site in shard)

    @property
    def main_aliases(self) -> list[str]:
        return [f"*.{self.base_domain}", self.base_domain]

    def kvs_entries(self) -> dict[str, str]:
        """KeyValueStore keys the viewer function reads: custom domain -> slug."""
        return {kvs_domain_key(site.domain): site.slug for site in self.custom}


def under_wildcard(domain: str, base_domain: str) -> bool:
    """True when `*.<base>` or `<base>` matches `domain` (a wildcard spans one label)."""
    if domain == base_domain:
        return True
    label, _, rest = domain.partition(".")
    return rest == base_domain and bool(label)


def plan_routing(
    nations: Iterable[tuple[str, str]], base_domain: str, max_aliases: int = MAX_ALIASES
) -> Routing:
    """Place every custom domain of `(slug, domain)` pairs, in spec order."""
    covered: list[Site] = []
    outside: list[Site] = []
    for slug, domain in nations:
        if domain == f"{slug}.{base_domain}":
            continue  # the default domain: the function reads the slug from the host
        site = Site(slug, domain)
        (covered if under_wildcard(domain, base_domain) else outside).append(site)
    return Routing(base_domain, tuple(covered), tuple(chunks(outside, max_aliases)))


def chunks(items: Sequence[Site], size: int) -> list[tuple[Site, ...]]:
    return [tuple(items[start : start + size]) for start in range(0, len(items), size)]


def zone_for(domain: str, zones: Mapping[str, T]) -> T | None:
    """The hosted zone of the longest zone name `domain` ends with, if any."""
    matches = [name for name in zones if domain == name or domain.endswith(f".{name}")]
    return zones[max(matches, key=len)] if matches else None
