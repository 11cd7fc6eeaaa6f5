"""Render builds in forked worker processes, and decide where supporter lists are made.

Jinja rendering and CSV writing are CPU-bound, and threads would serialise them on the
GIL. The pool is forked before any worker thread starts (forking a multi-threaded
process can deadlock the child), from a builder whose blueprints are already loaded,
so each process compiles each template once and shares everything else copy-on-write.

The builder reaches the workers as the argument of their initializer: with the fork
start method it is inherited, never pickled, and this module holds no builder, so two
pools in one process (a test, a preview beside a deploy) cannot see each other's.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from provisioner.build import Build, Builder
from provisioner.errors import NationError
from provisioner.network import Nation

PR_SET_PDEATHSIG = 1
MIN_FOR_PROCESSES = 16  # below this many builds, forking costs more than it saves
# Supporter lists are built in the worker processes (fast: both cores) while the export
# is small. Past this size they are built in the main process only: each worker would
# otherwise end up with its own copy of every row (copy-on-write pages touched by
# reference counting), about 0.5 GB per worker at a million supporters.
LISTS_IN_WORKERS_MAX = 64 * 2**20

# A nation's live private lists and their counts, or None when they cannot be read.
LivePrivate = Callable[[], tuple[dict[str, bytes], dict[str, int]] | None]


class _Worker:
    """What one worker process holds: the builder it inherited when it was forked."""

    builder: Builder | None = None


def _start_worker(builder: Builder) -> None:
    _Worker.builder = builder
    _die_with_parent()


def _build_in_child(slug: str, fingerprint: str, with_private: bool) -> Build:
    builder = _Worker.builder
    assert builder is not None, "called outside a build worker"
    return builder.build(builder.network.nations[slug], fingerprint, with_private)


def _ready() -> int:
    return os.getpid()


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the deploy that forked it dies (even -9)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers exit when their queue closes
        pass


class WorkerCrashed(NationError):
    """A build process died (out of memory, killed); worth a retry."""

    transient = True


class BuildPool:
    """`build(nation)` in a process pool, or in the calling thread for a few builds.

    `builds` is how many builds the run expects, `read_supporters` whether any of them
    needs fresh supporter lists; together they decide whether to fork, and whether the
    supporter export is read before forking (workers share it and build the lists) or
    after (only this process holds the rows and builds the lists).
    """

    def __init__(self, builder: Builder, processes: int, builds: int, read_supporters: bool):
        self.builder = builder
        self.lists_in_workers = builder.private_input_bytes() <= LISTS_IN_WORKERS_MAX
        self._pool: ProcessPoolExecutor | None = None
        if read_supporters and self.lists_in_workers:
            builder.prepare()  # read before forking: workers share the rows
        if builds >= MIN_FOR_PROCESSES and processes > 1:
            self._pool = _fork(builder, processes)
        if read_supporters and not self.lists_in_workers:
            builder.prepare()  # read after forking: only this process holds the rows

    def build(self, nation: Nation, fingerprint: str, live: LivePrivate | None = None) -> Build:
        """The nation's build with its private lists: `live` ones (when only its pages
        changed), else lists built in a worker or here, as decided above."""
        in_worker = self.lists_in_workers and live is None
        build = self._render(nation, fingerprint, in_worker)
        if not in_worker:
            reused = live() if live is not None else None
            build.set_private(*(reused or self.builder.private_files(nation)))
        return build

    def _render(self, nation: Nation, fingerprint: str, with_private: bool) -> Build:
        if self._pool is None:
            return self.builder.build(nation, fingerprint, with_private)
        try:
            job = self._pool.submit(_build_in_child, nation.slug, fingerprint, with_private)
            return job.result()
        except BrokenProcessPool as exc:
            raise WorkerCrashed(f"the build process of {nation.slug} died: {exc}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _fork(builder: Builder, processes: int) -> ProcessPoolExecutor | None:
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    gc.freeze()  # keep the collector from touching (and copying) shared pages
    pool = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(builder,),
    )
    pool.submit(_ready).result()  # fork every worker now, while single-threaded
    return pool
