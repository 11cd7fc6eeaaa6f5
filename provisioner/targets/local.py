"""The local target: release directories on disk, switched by an atomic symlink swap.

    build/sites/<slug>    -> .releases/<slug>/<release>/   (public, kept releases)
    build/emails/<slug>   -> .releases/<slug>/<release>/   (kept releases)
    build/private/<slug>  -> .live/<slug>/<release>/       (0700 dirs, 0600 files; the
                                                             live lists only, never kept)

A new release hard-links every file that did not change from the current release and
writes only the others, so an unchanged file is never rewritten. Readers follow the
symlink, which `rename(2)` replaces atomically: nobody ever sees half a site.

Private lists are not versioned (see targets/base.py): once a publish switched them,
the previous lists are deleted, and a rollback switches the public areas only.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from provisioner.errors import PublishError
from provisioner.filestat import Stat, stat_of
from provisioner.render.build import AREAS, Build
from provisioner.render.manifest import Manifest, sha256
from provisioner.supporters import write_private_file
from provisioner.targets.base import (
    CURRENT_ONLY_AREAS,
    VERSIONED_AREAS,
    PublishResult,
    Scrubber,
    Target,
    new_release_id,
)

PRIVATE_AREAS = {"private", "emails"}
RELEASES = ".releases"
LIVE = ".live"  # where current-only areas keep their one live directory per nation

# Live files handed out by read_area: (area, name) -> (bytes, stat at reading).
Lent = dict[tuple[str, str], tuple[bytes, "Stat | None"]]


class LocalTarget(Target):
    name = "local"

    def __init__(self, out: Path, keep_releases: int = 5, create: bool = True):
        self.out = out
        self.keep = max(1, keep_releases)
        self._umask = _current_umask()
        # Live files read back for a build (read_area), until that nation is published:
        # slug -> (area, name) -> (the bytes handed out, the file's stat then).
        self._lent: dict[str, dict[tuple[str, str], tuple[bytes, Stat | None]]] = {}
        # One nation's files read or published at a time: each of their thousands of
        # small system calls hands the GIL over, and threads doing them at once mostly
        # queue for it (1.7 M futex calls in a 444-nation stylesheet fix: 2.9 s, 1.8 s
        # serialised). The engine's other threads wait on build processes meanwhile.
        self._io = threading.Lock()
        if create:  # `plan` reads a target without creating anything
            for area in AREAS:
                self._mkdir(self.out / area / _store(area), area)

    @property
    def location(self) -> str:
        return str(self.out)

    def close(self) -> None:
        self._lent.clear()  # what nations that failed before publishing were lent

    def url(self, slug: str) -> str:
        # The live path (through the symlink), not a release that a later deploy replaces.
        return f"{self._sites_uri}/{quote(slug)}/index.html"

    @functools.cached_property
    def _sites_uri(self) -> str:
        """The live sites folder as a URI, resolved once (not once per nation)."""
        return (self.out.resolve() / "sites").as_uri()

    def current_release(self, slug: str) -> str | None:
        link = self.out / "sites" / slug
        try:
            return Path(os.readlink(link)).name
        except OSError:
            return None

    def publish(self, build: Build) -> PublishResult:
        try:
            with self._io:
                return self._publish(build)
        except OSError as exc:
            raise PublishError(f"cannot write {exc.filename or self.out}: {exc.strerror}") from exc

    def read_area(self, slug: str, area: str) -> dict[str, bytes] | None:
        live = self.out / area / slug
        if not live.is_dir():
            return None
        found = {}
        lent = self._lent.setdefault(slug, {})
        with self._io:
            files = sorted(_tree_files(str(live)), key=lambda item: item[0].split("/"))
            for name, path in files:  # in the order of Path sorting
                data, before = _read_with_stat(path)
                found[name] = data
                lent[(area, name)] = (data, before)
        return found

    def scrub_private(self, scrub: Scrubber) -> dict[str, int]:
        root = self.out / "private"
        slugs = sorted(self.deployed_slugs() | self._private_slugs())
        for slug in slugs:
            self._move_legacy_lists(slug)
        shutil.rmtree(root / RELEASES, ignore_errors=True)  # kept lists of an older version
        found: dict[str, int] = {}
        for slug in slugs:
            live = (root / slug).resolve()
            for path in sorted(p for p in live.rglob("*") if p.is_file()):
                name = f"{slug}/{path.relative_to(live).as_posix()}"
                found.update(self._scrub_file(path, name, scrub))
            self._drop_old_lists("private", slug, live.name)
        for path in sorted(p for p in root.glob("*.csv") if p.is_file()):  # the quarantine
            found.update(self._scrub_file(path, path.name, scrub))
        return found

    def _move_legacy_lists(self, slug: str) -> None:
        """Lists published by a version that kept them per release: move the live one."""
        live = (self.out / "private" / slug).resolve()
        if live.parent.parent.name != RELEASES or not live.is_dir():
            return
        moved = self.out / "private" / LIVE / slug / live.name
        self._mkdir(moved.parent, "private")
        live.rename(moved)
        self._switch("private", slug, live.name)

    def _private_slugs(self) -> set[str]:
        root = self.out / "private"
        return {p.name for p in root.iterdir() if p.is_symlink()} if root.is_dir() else set()

    def _scrub_file(self, path: Path, name: str, scrub: Scrubber) -> dict[str, int]:
        data, removed = scrub(name, path.read_bytes())
        if not removed:
            return {}
        write_private_file(path, data)  # a new inode: no hard link keeps the old rows
        return {name: removed}

    def _publish(self, build: Build) -> PublishResult:
        slug = build.slug
        # Hashed once: to diff, then to link what is unchanged. A file this build took
        # from the live tree as it is (the same bytes object, the file not touched since)
        # has the build's digest: it is not read and hashed a second time.
        live = self._live_manifest(slug, build, self._lent.pop(slug, {}))
        result = PublishResult.of(live.diff(build.manifest()))
        if not result.changed_anything and self.current_release(slug) is not None:
            return result
        release = new_release_id(build.digest)
        kept = self._kept_in_place(build, live)
        staged = [area for area in AREAS if area not in kept]
        for area in staged:
            self._stage(area, build, release, live.area(area))
        for area in staged:  # public last: private data is in place before the site points at it
            if area != "sites":
                self._switch(area, slug, release)
        self._switch("sites", slug, release)
        for area in CURRENT_ONLY_AREAS:
            if area not in kept:
                self._drop_old_lists(area, slug, release)
        self._prune_releases(slug, keep_also=release)
        result.release = release
        return result

    def _kept_in_place(self, build: Build, live: Manifest) -> set[str]:
        """The current-only areas (the lists) whose live files are the build's, byte for
        byte: their live folder stays as it is, where a new one would hard-link every
        file only to delete the old one (two system calls per list per nation, a tenth
        of a stylesheet fix). They are not versioned, so no release needs its own."""
        kept = set()
        for area in CURRENT_ONLY_AREAS:
            try:
                target = os.readlink(self.out / area / build.slug)
            except OSError:  # never published: staged as usual
                continue
            if Path(target).parts[:1] == (LIVE,) and live.area(area) == build.manifest().area(area):
                kept.add(area)
        return kept

    def live_manifest(self, slug: str) -> Manifest:
        """The live tree, hashed: the files themselves are the record of what is live."""
        return self._live_manifest(slug, None, {})

    def _live_manifest(self, slug: str, build: Build | None, lent: Lent) -> Manifest:
        return Manifest(
            (f"{area}/{path}", digest)
            for area in AREAS
            for path, digest in sorted(self._live_digests(area, slug, build, lent).items())
        )

    def _live_digests(
        self, area: str, slug: str, build: Build | None, lent: Lent
    ) -> dict[str, str]:
        live = self.out / area / slug
        if not live.is_dir():
            return {}
        built = build.files[area] if build is not None else {}
        digests = {}
        for name, path in _tree_files(str(live)):
            handed = lent.get((area, name))
            same = (
                handed is not None
                and built.get(name) is handed[0]
                and handed[1] is not None
                and stat_of(Path(path)) == handed[1]
            )
            digests[name] = build.sha256(area, name) if same and build else sha256(_read(path))
        return digests

    def _stage(self, area: str, build: Build, release: str, live: dict[str, str]) -> None:
        releases = self.out / area / _store(area) / build.slug
        self._mkdir(releases, area)
        for stale in releases.glob(".*.tmp"):  # left by a killed deploy; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        staging = releases / f".{release}.tmp"
        self._mkdir(staging, area)
        # Plain strings and one mkdir per new folder: a cold deploy writes thousands of
        # files, and pathlib objects and per-file chmods cost more than the writes.
        root, previous = str(staging), str(self.out / area / build.slug)
        made: set[str] = {""}
        file_mode, dir_mode = _modes(area)
        for path, data in build.files[area].items():
            folder = path.rpartition("/")[0]
            if folder not in made:
                self._make_folders(root, folder, made, dir_mode)
            target = f"{root}/{path}"
            if live.get(path) == build.sha256(area, path):
                os.link(f"{previous}/{path}", target)  # unchanged: same inode, not rewritten
            else:
                self._write(target, data, file_mode)
        staging.rename(releases / release)

    def _make_folders(self, root: str, folder: str, made: set[str], mode: int) -> None:
        """Create `folder` and its missing parents under `root`, each once per stage."""
        parts = folder.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub in made:
                continue
            path = f"{root}/{sub}"
            os.makedirs(path, mode=mode, exist_ok=True)
            if self._umask & mode:  # the umask took bits away: give the mode back
                os.chmod(path, mode)
            made.add(sub)

    def _switch(self, area: str, slug: str, release: str) -> None:
        link = self.out / area / slug
        temp = self.out / area / f".{slug}.link.tmp"
        if temp.is_symlink() or temp.exists():
            temp.unlink()
        os.symlink(Path(_store(area)) / slug / release, temp)
        os.replace(temp, link)

    def _write(self, path: str, data: bytes, mode: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            if self._umask & mode:  # the umask took bits away: give the mode back
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

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

    def _drop_old_lists(self, area: str, slug: str, live: str) -> None:
        """Delete every directory of a current-only area but the live one.

        Also deletes what an older version kept per release under `.releases/`.
        """
        folder = self.out / area / LIVE / slug
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry.name != live:
                shutil.rmtree(entry, ignore_errors=True)
        shutil.rmtree(self.out / area / RELEASES / slug, ignore_errors=True)

    def _prune_releases(self, slug: str, keep_also: str) -> None:
        kept = self.releases(slug)
        for release in kept[: max(0, len(kept) - self.keep)]:
            if release == keep_also:
                continue
            for area in VERSIONED_AREAS:
                shutil.rmtree(self.out / area / RELEASES / slug / release, ignore_errors=True)

    def activate(self, slug: str, release: str) -> None:
        for area in VERSIONED_AREAS:  # never the private lists: they stay the current ones
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
            shutil.rmtree(self.out / area / LIVE / slug, ignore_errors=True)


def _modes(area: str) -> tuple[int, int]:
    """(file mode, folder mode) of an area: private ones are the owner's only."""
    return (0o600, 0o700) if area in PRIVATE_AREAS else (0o644, 0o755)


def _current_umask() -> int:
    """The process umask (reading it means setting it: done once, before any thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _store(area: str) -> str:
    """The folder under `build/<area>/` holding its directories: kept releases or live only."""
    return LIVE if area in CURRENT_ONLY_AREAS else RELEASES


def _tree_files(root: str, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path relative to `root` with `/`, full path) of every file under `root`, as
    `Path.rglob` finds them (symlinked folders are not entered), in plain strings:
    pathlib's objects cost more than the reads on a 444-nation network."""
    with os.scandir(root) as entries:
        for entry in entries:
            name = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from _tree_files(entry.path, name + "/")
            elif entry.is_file():
                yield name, entry.path


def _read(path: str) -> bytes:
    return _read_with_stat(path)[0]


def _read_with_stat(path: str) -> tuple[bytes, Stat]:
    """The file's bytes and its stat, in four system calls for a file that does not
    grow meanwhile: `open().read()` makes seven (a tty check, seeks, a second read),
    each a hand-over of the GIL that the publishing threads queue on. (A regular file's
    read is short at its end only, so fewer bytes than asked for is the whole file.)"""
    fd = os.open(path, os.O_RDONLY)
    try:
        found = os.fstat(fd)
        data = os.read(fd, found.st_size + 1)
        if len(data) > found.st_size:  # it grew since the stat: read to its end
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
    finally:
        os.close(fd)
    return data, (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino)
