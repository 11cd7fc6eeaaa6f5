"""The local target: release directories on disk, switched by an atomic symlink swap.

    build/sites/<slug>    -> .releases/<slug>/<release>/   (public)
    build/private/<slug>  -> .releases/<slug>/<release>/   (0700 dirs, 0600 files)
    build/emails/<slug>   -> .releases/<slug>/<release>/

A new release hard-links every file that did not change from the current release and
writes only the others, so an unchanged file is never rewritten. Readers follow the
symlink, which `rename(2)` replaces atomically: nobody ever sees half a site.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from provisioner.build import AREAS, Build
from provisioner.errors import PublishError
from provisioner.targets.base import PublishResult, Target, new_release_id

PRIVATE_AREAS = {"private", "emails"}
RELEASES = ".releases"


class LocalTarget(Target):
    name = "local"

    def __init__(self, out: Path, keep_releases: int = 5, create: bool = True):
        self.out = out
        self.keep = max(1, keep_releases)
        if create:  # `plan` reads a target without creating anything
            for area in AREAS:
                self._mkdir(self.out / area / RELEASES, area)

    def url(self, slug: str) -> str:
        # The live path (through the symlink), not a release that a later deploy replaces.
        return (self.out.resolve() / "sites" / slug / "index.html").as_uri()

    def current_release(self, slug: str) -> str | None:
        link = self.out / "sites" / slug
        try:
            return Path(os.readlink(link)).name
        except OSError:
            return None

    def publish(self, build: Build) -> PublishResult:
        try:
            return self._publish(build)
        except OSError as exc:
            raise PublishError(f"cannot write {exc.filename or self.out}: {exc.strerror}") from exc

    def read_private(self, slug: str) -> dict[str, bytes] | None:
        live = self.out / "private" / slug
        if not live.is_dir():
            return None
        return {
            path.relative_to(live).as_posix(): path.read_bytes()
            for path in sorted(live.rglob("*"))
            if path.is_file()
        }

    def diff(self, build: Build) -> PublishResult:
        return self._diff(build, self._live(build.slug))

    def _diff(self, build: Build, live: dict[str, dict[str, str]]) -> PublishResult:
        result = PublishResult(release=None)
        for area in AREAS:
            old, new = live[area], build.files[area]
            for path in new:
                if path not in old:
                    result.added.append(f"{area}/{path}")
                elif old[path] != build.sha256(area, path):
                    result.changed.append(f"{area}/{path}")
            result.removed.extend(f"{area}/{p}" for p in old if p not in new)
        return result

    def _publish(self, build: Build) -> PublishResult:
        slug = build.slug
        live = self._live(slug)  # hashed once: used to diff, then to link what is unchanged
        result = self._diff(build, live)
        if not result.changed_anything and self.current_release(slug) is not None:
            return result
        release = new_release_id(build.digest)
        for area in AREAS:
            self._stage(area, build, release, live[area])
        for area in AREAS:  # public last: private data is in place before the site points at it
            if area != "sites":
                self._switch(area, slug, release)
        self._switch("sites", slug, release)
        self._prune_releases(slug, keep_also=release)
        result.release = release
        return result

    def _live(self, slug: str) -> dict[str, dict[str, str]]:
        """area -> path -> sha256 of what each area of the nation serves now."""
        return {area: self._live_digests(area, slug) for area in AREAS}

    def _live_digests(self, area: str, slug: str) -> dict[str, str]:
        live = self.out / area / slug
        if not live.is_dir():
            return {}
        return {
            path.relative_to(live).as_posix(): _sha256(path)
            for path in live.rglob("*")
            if path.is_file()
        }

    def _stage(self, area: str, build: Build, release: str, live: dict[str, str]) -> None:
        releases = self.out / area / RELEASES / build.slug
        self._mkdir(releases, area)
        for stale in releases.glob(".*.tmp"):  # left by a killed deploy; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        staging = releases / f".{release}.tmp"
        self._mkdir(staging, area)
        previous = self.out / area / build.slug
        for path, data in build.files[area].items():
            target = staging / path
            self._mkdir(target.parent, area)
            if live.get(path) == build.sha256(area, path):
                os.link(previous / path, target)  # unchanged: same inode, nothing rewritten
            else:
                self._write(target, data, area)
        staging.rename(releases / release)

    def _switch(self, area: str, slug: str, release: str) -> None:
        link = self.out / area / slug
        temp = self.out / area / f".{slug}.link.tmp"
        if temp.is_symlink() or temp.exists():
            temp.unlink()
        os.symlink(Path(RELEASES) / slug / release, temp)
        os.replace(temp, link)

    def _write(self, path: Path, data: bytes, area: str) -> None:
        mode = 0o600 if area in PRIVATE_AREAS else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)

    def _mkdir(self, path: Path, area: str) -> None:
        mode = 0o700 if area in PRIVATE_AREAS else 0o755
        path.mkdir(parents=True, exist_ok=True, mode=mode)
        if area in PRIVATE_AREAS:  # the area itself too: its listing names the nations
            top = self.out / area
            for folder in (path, *path.parents):
                if not folder.is_relative_to(top):
                    break
                os.chmod(folder, mode)

    def releases(self, slug: str) -> list[str]:
        folder = self.out / "sites" / RELEASES / slug
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    def _prune_releases(self, slug: str, keep_also: str) -> None:
        kept = self.releases(slug)
        for release in kept[: max(0, len(kept) - self.keep)]:
            if release == keep_also:
                continue
            for area in AREAS:
                shutil.rmtree(self.out / area / RELEASES / slug / release, ignore_errors=True)

    def activate(self, slug: str, release: str) -> None:
        for area in AREAS:
            if (self.out / area / RELEASES / slug / release).is_dir():
                self._switch(area, slug, release)

    def deployed_slugs(self) -> set[str]:
        sites = self.out / "sites"
        if not sites.is_dir():
            return set()
        return {p.name for p in sites.iterdir() if p.is_symlink() and not p.name.startswith(".")}

    def remove(self, slug: str) -> None:
        for area in AREAS:
            link = self.out / area / slug
            if link.is_symlink():
                link.unlink()
            shutil.rmtree(self.out / area / RELEASES / slug, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
