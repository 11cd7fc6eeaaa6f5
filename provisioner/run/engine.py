"""Parallel orchestration: build and publish many nations, bounded and isolated.

A nation's failure is recorded and never stops the others (unless the failure budget or
a canary wave says to stop starting new ones). Progress goes to an `Events` listener:
the engine itself never prints.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from provisioner.errors import LockError, NationError

if TYPE_CHECKING:  # kept light: the CLI reads STATUSES and Options from here
    from provisioner.render.build import Builder
    from provisioner.run.buildpool import BuildPool, LivePages, LivePrivate
    from provisioner.run.state import Deployed, State
    from provisioner.spec.network import Nation
    from provisioner.targets.base import Target

STATUSES = ("deployed", "unchanged", "failed", "skipped")


# The areas a nation's render makes (render/build.py AREAS, less the private lists).
PAGE_AREAS = ("sites", "emails")


@dataclass
class Options:
    jobs: int = 4
    retries: int = 2
    max_failures: str | int | None = None  # "5" or "10%": stop starting nations after that
    canary: int = 0  # deploy this many first; stop if any fails
    force: bool = False  # rebuild even when the fingerprint did not change
    backoff_s: float = 0.2
    keep_releases: int = 5
    processes: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class NationResult:
    slug: str
    name: str
    parent: str | None
    blueprint: str
    status: str
    url: str
    duration_s: float = 0.0
    started_s: float = 0.0  # seconds since the run started (for the timeline)
    finished_s: float = 0.0
    attempts: int = 0
    release: str | None = None
    fingerprint: str | None = None
    private_fingerprint: str | None = None
    # What the pages and emails depend on (all but shared asset bytes): when only this
    # is unchanged, the live pages are reused and the assets copied anew.
    pages_fingerprint: str | None = None
    files: dict[str, int] = field(default_factory=lambda: {"added": 0, "changed": 0, "removed": 0})
    counts: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    # True for an `unchanged` nation that was rebuilt (its inputs changed) and gave the
    # same output; False when its fingerprint said there was nothing to rebuild.
    rebuilt: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what the state and the reports store).

        Written out rather than `dataclasses.asdict`, whose recursive deep copy cost
        more than the rest of a no-op's bookkeeping (two calls per nation per run).
        """
        entry = dict(self.__dict__)
        entry["files"] = dict(self.files)
        entry["counts"] = dict(self.counts)
        entry["tags"] = list(self.tags)
        if self.error is not None:
            entry["error"] = dict(self.error)
        return entry


class Events(Protocol):
    def nation_finished(self, result: NationResult) -> None: ...


class NoEvents:
    def nation_finished(self, result: NationResult) -> None:
        pass


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Engine:
    """Decides what changed (in the calling thread), then builds and publishes in parallel."""

    def __init__(
        self,
        builder: Builder,
        target: Target,
        state: State,
        options: Options,
        events: Events | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.builder = builder
        self.target = target
        self.state = state
        self.options = options
        self.events = events or NoEvents()
        self.sleep = sleep
        self._failures = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool: BuildPool | None = None
        self._known: dict[str, Deployed] = {}
        self._reuse_private: set[str] = set()
        self._reuse_pages: set[str] = set()

    def run(self, nations: Sequence[Nation], run_id: str) -> list[NationResult]:
        """Deploy `nations`; return one result per nation, in input order."""
        from provisioner.run.buildpool import BuildPool  # the render stack: only now

        self._t0 = time.monotonic()
        self._run_id = run_id
        budget = self.options.max_failures
        self._budget = None if budget is None else budget_from(str(budget), len(nations))
        self._pool = BuildPool(self.builder, self.options.processes)
        try:
            self._known = self.state.deployed()
            # Forked before the triage reads rows, rendering what it is sure to build.
            self._pool.fork_before_reading(len(nations), self._in_order(self._certain(nations)))
            results = self._triage_all(nations)
            pending = [n for n in nations if results[n.slug].status == "pending"]
            must_read = any(n.slug not in self._reuse_private for n in pending)
            canary, rest = self._waves(pending)
            order = [  # what the workers may render ahead: not what is reassembled
                (n, results[n.slug].fingerprint or "")
                for n in (*canary, *rest)
                if n.slug not in self._reuse_pages
            ]
            self._pool.start(order, must_read)
            for wave in (canary, rest):
                self._wave(wave, results)
                if any(results[n.slug].status == "failed" for n in canary):
                    self._stop.set()  # a failed canary stops everything after it
        finally:
            self._pool.close()
        return [results[n.slug] for n in nations]

    def _waves(self, nations: Sequence[Nation]) -> tuple[list[Nation], list[Nation]]:
        """The canary wave, then the rest, biggest first (HQ, regions, provinces carry
        the most supporters): the long builds start early instead of finishing last on
        an otherwise idle machine."""
        canary = list(nations[: self.options.canary])
        rest = sorted(nations[self.options.canary :], key=lambda n: len(n.coverage), reverse=True)
        return canary, rest

    def _in_order(self, nations: Sequence[Nation]) -> list[Nation]:
        canary, rest = self._waves(nations)
        return [*canary, *rest]

    def _certain(self, nations: Sequence[Nation]) -> list[Nation]:
        """The nations the triage cannot settle: never published here, or all (--force).
        Only a triage failure (which the build would meet too) keeps one from a build."""
        if self.options.force:
            return list(nations)
        return [n for n in nations if n.slug not in self._known]

    def _triage_all(self, nations: Sequence[Nation]) -> dict[str, NationResult]:
        """Every nation's result so far: those settled (unchanged, failed) recorded."""
        known = self._known
        results = {n.slug: self._triage(n, known.get(n.slug)) for n in nations}
        settled = [r for r in results.values() if r.status != "pending"]
        for _ in (r for r in settled if r.status == "failed"):
            self._count_failure()
        self.state.record_nations(self._run_id, now_iso(), [r.as_dict() for r in settled])
        for result in settled:
            self.events.nation_finished(result)
        return results

    def _triage(self, nation: Nation, known: Deployed | None) -> NationResult:
        """Unchanged (inputs and live release as last time), failed, or pending a build."""
        result = NationResult(
            slug=nation.slug,
            name=nation.name,
            parent=nation.parent,
            blueprint=nation.blueprint,
            status="pending",
            url=self.target.url(nation.slug),
            tags=list(nation.all_tags),
        )
        try:
            last = (known.fingerprint, known.pages_fingerprint) if known else (None, None)
            result.fingerprint, result.pages_fingerprint = self.builder.fingerprints(nation, last)
            result.private_fingerprint = self.builder.private_fingerprint(nation)
            live = self.target.current_release(nation.slug)
        except Exception as exc:  # a broken nation fails alone, even here
            result.status, result.error = "failed", _error(exc)
            _keep_live_fingerprints(result, known)
            return result
        if (
            not self.options.force
            and known is not None
            and known.fingerprint == result.fingerprint
            and known.release is not None
            and known.release == live
        ):
            result.status, result.release, result.counts = "unchanged", live, known.counts
        elif (
            not self.options.force
            and known is not None
            and live is not None
            and known.release == live
            and known.private_fingerprint == result.private_fingerprint
        ):
            self._reuse_private.add(nation.slug)  # only pages changed: keep the live lists
            if known.pages_fingerprint == result.pages_fingerprint:
                self._reuse_pages.add(nation.slug)  # only shared asset bytes changed
        return result

    def _wave(self, nations: list[Nation], results: dict[str, NationResult]) -> None:
        if not nations:
            return
        workers = max(1, min(self.options.jobs, len(nations)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nation") as pool:
            list(pool.map(lambda n: self._one(n, results[n.slug]), nations))

    def _one(self, nation: Nation, result: NationResult) -> None:
        result.status = "skipped"
        result.started_s = time.monotonic() - self._t0
        if not self._stop.is_set():
            self._deploy(nation, result)
        result.finished_s = time.monotonic() - self._t0
        result.duration_s = round(result.finished_s - result.started_s, 4)
        if result.status == "failed":
            self._count_failure()
        if result.status not in ("deployed", "unchanged"):
            # The live lists and pages still come from the last good publish: never claim
            # otherwise, or a later run would reuse stale lists (think withdrawn consent).
            _keep_live_fingerprints(result, self._known.get(nation.slug))
        self.state.record_nations(self._run_id, now_iso(), [result.as_dict()])
        self.events.nation_finished(result)

    def _deploy(self, nation: Nation, result: NationResult) -> None:
        for attempt in range(1, self.options.retries + 2):
            result.attempts = attempt
            try:
                self._attempt(nation, result)
                return
            except LockError:  # the target refused this run: stop it, not just this nation
                self._stop.set()
                raise
            except Exception as exc:  # isolate every failure to its nation
                result.status, result.error = "failed", _error(exc)
                if not _transient(exc) or attempt > self.options.retries:
                    return
                delay = self.options.backoff_s * 2 ** (attempt - 1)
                self.sleep(delay + random.uniform(0, delay))  # jitter spreads retries out

    def _attempt(self, nation: Nation, result: NationResult) -> None:
        assert self._pool is not None and result.fingerprint is not None
        live = self._live_lists(nation)
        build = self._pool.build(nation, result.fingerprint, live, self._live_pages(nation))
        published = self.target.publish(build)
        result.counts = build.counts
        result.files = {
            "added": len(published.added),
            "changed": len(published.changed),
            "removed": len(published.removed),
        }
        result.error = None
        if published.release is None:  # same content as live: nothing new to serve
            result.status, result.rebuilt = "unchanged", True
            result.release = self.target.current_release(nation.slug)
            return
        result.status, result.release = "deployed", published.release
        self.state.record_release(
            nation.slug,
            published.release,
            self._run_id,
            result.fingerprint,
            build.digest,
            now_iso(),
            build.manifest(),
        )

    def _live_lists(self, nation: Nation) -> LivePrivate | None:
        """When only the nation's pages changed: how to read its live lists, to reuse."""
        if nation.slug not in self._reuse_private:
            return None

        def read() -> tuple[dict[str, bytes], dict[str, int]] | None:
            files = self.target.read_private(nation.slug)
            return None if files is None else (files, self._known[nation.slug].counts)

        return read

    def _live_pages(self, nation: Nation) -> LivePages | None:
        """When only shared asset bytes changed: how to read its live pages, to reuse."""
        if nation.slug not in self._reuse_pages:
            return None

        def read() -> dict[str, dict[str, bytes]] | None:
            areas = {area: self.target.read_area(nation.slug, area) for area in PAGE_AREAS}
            found = {area: files for area, files in areas.items() if files is not None}
            return found if len(found) == len(PAGE_AREAS) else None

        return read

    def _count_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._budget is not None and self._failures >= self._budget:
                self._stop.set()


def _keep_live_fingerprints(result: NationResult, known: Deployed | None) -> None:
    """A nation not published this run keeps the fingerprints of what it serves."""
    result.private_fingerprint = known.private_fingerprint if known else None
    result.pages_fingerprint = known.pages_fingerprint if known else None


def budget_from(value: str, total: int) -> int:
    """Failures allowed before stopping: "5" is a count, "10%" a share of `total` (min 1)."""
    if value.endswith("%"):
        share = float(value[:-1])
        if not 0 < share <= 100:
            raise ValueError(value)
        return max(1, int(total * share / 100))
    count = int(value)
    if count < 1:
        raise ValueError(value)
    return count


def _transient(exc: Exception) -> bool:
    if isinstance(exc, NationError):
        return exc.transient
    return isinstance(exc, (OSError, TimeoutError, ConnectionError))


def _error(exc: Exception) -> dict[str, Any]:
    location = getattr(exc, "location", None)
    message = str(exc)
    if location and message.startswith(f"{location}: "):
        message = message[len(location) + 2 :]
    return {"type": type(exc).__name__, "message": message, "location": location}
