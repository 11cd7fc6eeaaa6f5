"""Render builds in forked worker processes, and decide where supporter lists are made.

Jinja rendering and CSV writing are CPU-bound, and threads would serialise them on the
GIL. The pool is forked before any worker thread starts (forking a multi-threaded
process can deadlock the child), from a builder whose blueprints are already loaded,
so each process compiles each template once and shares everything else copy-on-write.

The builder reaches the workers as the argument of their process: with the fork
start method it is inherited, never pickled, and this module holds no builder, so two
pools in one process (a test, a preview beside a deploy) cannot see each other's.

Each worker has its own pipe, so one that runs past its nation's deadline (a template
stuck in a long call the render budget cannot interrupt, see budgets.py) is killed
alone and replaced, while the other workers finish their builds. A replacement is
forked while the engine's threads run: it only builds (the builder's data is loaded
and its locks are free by then), and a replacement that got stuck anyway would meet
the same deadline.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import pickle
import queue
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from provisioner.errors import NationError
from provisioner.render.budgets import BudgetError
from provisioner.render.build import Build, Builder
from provisioner.spec.network import Nation

PR_SET_PDEATHSIG = 1
MIN_FOR_PROCESSES = 16  # below this many builds, forking costs more than it saves
# Supporter lists are built in the worker processes (fast: both cores) while the export
# is small. Past this size they are built in the main process only: each worker would
# otherwise end up with its own copy of every row (copy-on-write pages touched by
# reference counting), about 0.5 GB per worker at a million supporters.
LISTS_IN_WORKERS_MAX = 64 * 2**20
# A worker still rendering this long after it started a build is killed: twice the
# nation's render budget plus a margin. Its supporter lists, made after rendering, are
# not timed (the HQ's take long on a loaded machine, and no candidate code runs there).
KILL_MARGIN_S = 10.0

# A nation's live private lists and their counts, or None when they cannot be read.
LivePrivate = Callable[[], tuple[dict[str, bytes], dict[str, int]] | None]


def _serve(builder: Builder, conn: Connection) -> None:
    """A worker process: build each requested nation and send the result back."""
    _die_with_parent()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        slug, fingerprint, with_private = request
        try:
            nation = builder.network.nations[slug]
            build = builder.build(nation, fingerprint, with_private=False)
            # Rendering is over: the deadline, which is the render budget's backstop,
            # stops here. Supporter lists take as long as the export is large.
            conn.send(("rendered", None))
            if with_private:
                build.set_private(*builder.private_files(nation))
            reply: tuple[str, Any] = ("ok", build)
        except Exception as exc:  # the nation fails, the worker carries on
            reply = ("error", _portable(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # an error that cannot be pickled: send its text
            conn.send(("error", NationError(f"{type(exc).__name__}: {reply[1]}")))


def _portable(exc: Exception) -> Exception:
    """`exc`, or a NationError with its message, when it cannot be sent back whole: an
    error the parent cannot unpickle breaks the pool, and every nation still building
    in it would fail with this one."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        detail = exc.detail if isinstance(exc, NationError) else str(exc)
        location = exc.location if isinstance(exc, NationError) else None
        return UnportableError(f"{type(exc).__name__}: {detail}", location)
    return exc


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the deploy that forked it dies (even -9)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers exit when their queue closes
        pass


class UnportableError(NationError):
    """A build failed with an error that could not travel back from its worker."""


class WorkerCrashed(NationError):
    """A build process died (out of memory, killed); worth a retry."""

    transient = True


class BuildPool:
    """`build(nation)` in worker processes, or in the calling thread for a few builds.

    Made in two steps around the engine's triage, which fingerprints every nation and
    so may read the supporter export (its rows' digests). `fork_before_reading`: with
    an export too large to share, fork then, so that no worker ever holds a row.
    `start(builds, read_supporters)`: how many builds the run has and whether any needs
    fresh lists decide whether to fork (if not done yet), and whether the export is read
    before forking (workers share it and build the lists) or after (only this process
    holds the rows and builds the lists).
    """

    def __init__(self, builder: Builder, processes: int):
        self.builder = builder
        self.processes = processes
        self.lists_in_workers = builder.private_input_bytes() <= LISTS_IN_WORKERS_MAX
        self._workers: _Workers | None = None

    def fork_before_reading(self, nations: int) -> None:
        """Fork now when the lists will be built here and `nations` may all need a build."""
        if not self.lists_in_workers and self._worth_forking(nations):
            self._workers = _Workers.fork(self.builder, self.processes)

    def start(self, builds: int, read_supporters: bool) -> BuildPool:
        if read_supporters and self.lists_in_workers:
            self.builder.prepare()  # read before forking: workers share the rows
        if self._workers is None and self._worth_forking(builds):
            self._workers = _Workers.fork(self.builder, self.processes)
        if read_supporters and not self.lists_in_workers:
            self.builder.prepare()  # read after forking: only this process holds the rows
            gc.freeze()  # the lists' millions of objects live to the end: never scan them
        return self

    def _worth_forking(self, builds: int) -> bool:
        return builds >= MIN_FOR_PROCESSES and self.processes > 1

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
        if self._workers is None:
            return self.builder.build(nation, fingerprint, with_private)
        limit = 2 * nation.budgets.render_seconds + KILL_MARGIN_S
        return self._workers.build(nation, (nation.slug, fingerprint, with_private), limit)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
            self._workers = None


@dataclass
class _Child:
    process: BaseProcess
    conn: Connection


class _Workers:
    """Forked build processes, each behind its own pipe; one is lent per build."""

    def __init__(self, builder: Builder, processes: int):
        self._context = multiprocessing.get_context("fork")
        self._builder = builder
        self._idle: queue.Queue[_Child] = queue.Queue()
        for _ in range(processes):
            self._idle.put(self._spawn())

    @classmethod
    def fork(cls, builder: Builder, processes: int) -> _Workers | None:
        if "fork" not in multiprocessing.get_all_start_methods():
            return None
        gc.freeze()  # keep the collector from touching (and copying) shared pages
        return cls(builder, processes)  # forked now, while single-threaded

    def _spawn(self) -> _Child:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(self._builder, theirs), daemon=True)
        process.start()
        theirs.close()
        return _Child(process, ours)

    def build(self, nation: Nation, request: tuple[str, str, bool], limit: float) -> Build:
        """The build made by a free worker; past `limit` seconds the worker is killed."""
        child = self._idle.get()
        try:
            child.conn.send(request)
            if not child.conn.poll(limit):
                child = self._replace(child)
                raise BudgetError(
                    f"the build of {nation.slug} was still running {limit:g} s after it "
                    f"started, far past its render budget of "
                    f"{nation.budgets.render_seconds:g} s (`budgets.render_seconds` in "
                    "nations.yaml); its worker process was stopped"
                )
            status, value = child.conn.recv()
            if status == "rendered":
                status, value = child.conn.recv()
        except (EOFError, OSError) as exc:
            child = self._replace(child)
            raise WorkerCrashed(f"the build process of {nation.slug} died: {exc!r}") from exc
        finally:
            self._idle.put(child)
        if status == "error":
            raise value
        assert isinstance(value, Build)
        return value

    def _replace(self, child: _Child) -> _Child:
        _stop(child, kill=True)
        return self._spawn()

    def close(self) -> None:
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                return
            _stop(child, kill=False)


def _stop(child: _Child, kill: bool) -> None:
    """End a worker: ask it to leave, or kill it (SIGKILL) when it is stuck."""
    if not kill:
        try:
            child.conn.send(None)
        except OSError:
            kill = True
        child.process.join(timeout=5)
    if kill or child.process.is_alive():
        child.process.kill()
        child.process.join()
    child.conn.close()
