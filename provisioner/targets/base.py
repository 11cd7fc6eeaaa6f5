"""The Target interface: what the engine needs from a place that serves nations."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.render.build import AREAS, Build
from provisioner.render.manifest import Changes, Manifest
from provisioner.run.shard import RunScope

# What a release is, for every target. A release versions a nation's public face only:
# its pages and its email templates, kept per release and switched together by publish
# and by rollback. Private lists are not versioned: each publish replaces them in place
# with the lists computed from the current export, intake and ledgers; no kept release
# holds a supporter row, and a rollback never touches them. Otherwise a rollback would
# bring back people who were erased or withdrew consent since (GDPR art. 9 data).
VERSIONED_AREAS: tuple[str, ...] = ("sites", "emails")
CURRENT_ONLY_AREAS: tuple[str, ...] = tuple(a for a in AREAS if a not in VERSIONED_AREAS)


def after_rollback(chosen: Manifest, live: Manifest) -> Manifest:
    """What a nation serves once switched back to the release of manifest `chosen`.

    The versioned areas as they were in that release, the current-only areas as they
    are live now: the one definition of a rollback, which every target must serve.
    """
    return chosen.areas(VERSIONED_AREAS).with_entries(live.areas(CURRENT_ONLY_AREAS))


# (path, content) -> (new content, rows removed); erasure rewrites what it changes.
Scrubber = Callable[[str, bytes], tuple[bytes, int]]


@dataclass
class PublishResult(Changes):
    """What a publish changed. `release` is None when nothing changed (no new release)."""

    release: str | None = None

    @classmethod
    def of(cls, changes: Changes, release: str | None = None) -> PublishResult:
        return cls(changes.added, changes.changed, changes.removed, release)


def new_release_id(digest: str) -> str:
    """Sortable and unique enough: UTC time to the microsecond plus the build digest."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}{int(now % 1 * 1e6):06d}-{digest[:8]}"


class Target(ABC):
    """A place builds are published to. Implementations must be thread-safe per nation."""

    name: str

    @abstractmethod
    def current_release(self, slug: str) -> str | None:
        """The release a nation serves now, or None when it was never published."""

    @abstractmethod
    def publish(self, build: Build) -> PublishResult:
        """Publish only what changed, and switch the nation to it atomically."""

    def read_private(self, slug: str) -> dict[str, bytes] | None:
        """The live private files of a nation, when the target can read them back cheaply.

        Lets a page-only change skip regenerating supporter lists; None means "rebuild".
        """
        return self.read_area(slug, "private")

    def read_area(self, slug: str, area: str) -> dict[str, bytes] | None:
        """The live files of one area of a nation (sites, private, emails), when the
        target can read them back cheaply; None means "build them"."""
        return None

    def scrub_private(self, scrub: Scrubber) -> dict[str, int]:
        """Rewrite every live private file `scrub` removes rows from (erasure).

        Returns "<slug>/<path>" -> rows removed, for the files that changed. After it,
        no copy of the removed rows is left on the target (old versions included).
        """
        raise NotImplementedError(f"the {self.name} target cannot erase yet")

    @abstractmethod
    def live_manifest(self, slug: str) -> Manifest:
        """What the nation serves now, every area; empty when it was never published."""

    def diff(self, build: Build) -> Changes:
        """What `publish(build)` would change, without writing anything (for `plan`)."""
        return self.live_manifest(build.slug).diff(build.manifest())

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the target is, for messages: a folder, a bucket."""

    @abstractmethod
    def url(self, slug: str) -> str:
        """Where a person can look at the nation's published site."""

    @abstractmethod
    def deployed_slugs(self) -> set[str]:
        """Every nation that has something published."""

    @abstractmethod
    def releases(self, slug: str) -> list[str]:
        """Kept releases of a nation, oldest first."""

    @abstractmethod
    def activate(self, slug: str, release: str) -> None:
        """Switch a nation's VERSIONED_AREAS to one of its kept releases (rollback).

        The private lists stay the current ones (see VERSIONED_AREAS): afterwards the
        nation serves `after_rollback(manifest of release, manifest live before)`.
        """

    @abstractmethod
    def remove(self, slug: str) -> None:
        """Delete everything of a nation (prune)."""

    def start(self, scope: RunScope) -> None:  # noqa: B027 - optional hook
        """Join the run `scope` before reading; a shared target locks for it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""
