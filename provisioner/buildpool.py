"""Render builds in forked worker processes.

Jinja rendering and CSV writing are CPU-bound, and threads would serialise them on the
GIL. The pool is forked before any worker thread starts (forking a multi-threaded
process can deadlock the child), from a builder whose blueprints are already loaded,
so each process compiles each template once and shares everything else copy-on-write.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from provisioner.build import Build, Builder
from provisioner.errors import NationError
from provisioner.network import Nation

_BUILDER: Builder | None = None  # set in the parent just before forking
PR_SET_PDEATHSIG = 1


def _build_in_child(slug: str, fingerprint: str, with_private: bool) -> Build:
    assert _BUILDER is not None
    return _BUILDER.build(_BUILDER.network.nations[slug], fingerprint, with_private)


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
    """`build(nation)` in a process pool, or in the calling thread when `processes` <= 1."""

    def __init__(self, builder: Builder, processes: int):
        global _BUILDER
        self.builder = builder
        self._pool: ProcessPoolExecutor | None = None
        if processes > 1 and "fork" in multiprocessing.get_all_start_methods():
            _BUILDER = builder
            gc.freeze()  # keep the collector from touching (and copying) shared pages
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=context, initializer=_die_with_parent
            )
            self._pool.submit(_ready).result()  # fork every worker now, while single-threaded

    def build(self, nation: Nation, fingerprint: str, with_private: bool = True) -> Build:
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
