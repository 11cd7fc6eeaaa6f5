"""Render builds in forked worker processes; supporter lists are made in this one.

Jinja rendering is CPU-bound, and threads would serialise it on the GIL. The pool is
forked before any worker thread starts (forking a multi-threaded process can deadlock
the child), from a builder whose blueprints are already loaded, so each process
compiles each template once and shares everything else copy-on-write.

Workers render pages and emails only. The supporter export is read, segmented and
encoded once, here, and each nation's lists are composed here from those lines (cheap:
0.55 s for the sample network's 246 MB, see encoded.py); the workers render ahead
meanwhile (renderahead.py), from the triage on for the nations it cannot settle. They
are forked before anything reads the rows: a worker forked after
would keep every row this process later lets go (copy-on-write pages touched by
reference counting), about 0.5 GB per worker at a million supporters.

The builder reaches the workers as the argument of their process: with the fork
start method it is inherited, never pickled, and this module holds no builder, so two
pools in one process (a test, a preview beside a deploy) cannot see each other's.

Each worker has its own pipe, so one that runs past its nation's deadline (a template
stuck in a long call the render budget cannot interrupt, see budgets.py) is killed
alone and replaced, while the other workers finish their builds. A replacement is
forked while the engine's threads run: it only renders (the builder's data is loaded
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
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from provisioner.errors import NationError
from provisioner.render.budgets import BudgetError
from provisioner.render.build import Build, Builder
from provisioner.run.renderahead import RenderAhead
from provisioner.spec.network import Nation

PR_SET_PDEATHSIG = 1
MIN_FOR_PROCESSES = 16  # below this many builds, forking costs more than it saves
# A worker still rendering this long after it started a build is killed: twice the
# nation's render budget plus a margin.
KILL_MARGIN_S = 10.0
# Builds rendered ahead and not yet taken, at most (pages only: ~0.2 MB each).
AHEAD_MOST = 128
# The fingerprint a build rendered before the triage carries until it is taken (a
# build's fingerprint is a label: nothing rendered depends on it).
UNTRIAGED = "untriaged"

# A nation's live private lists and their counts, or None when they cannot be read.
LivePrivate = Callable[[], tuple[dict[str, bytes], dict[str, int]] | None]
# A nation's live pages and emails by area, or None when they cannot be read.
LivePages = Callable[[], dict[str, dict[str, bytes]] | None]


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
        slug, fingerprint = request
        try:
            nation = builder.network.nations[slug]
            reply: tuple[str, Any] = ("ok", builder.build(nation, fingerprint, with_private=False))
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
    so may read the supporter export (its rows' digests, unless the state has them).
    `fork_before_reading`: when the triage will read the rows and may find every nation
    to build, fork then. `start(order, read_supporters)`: how many builds the run has
    decides whether to fork (if not done yet); when some need fresh lists, the export is
    read (in a thread while the workers render ahead, or at once without workers).
    """

    def __init__(self, builder: Builder, processes: int):
        self.builder = builder
        self.processes = processes
        self._workers: _Workers | None = None
        self._lists: threading.Thread | None = None  # reads the export, here, meanwhile
        self._lists_error: Exception | None = None
        self._ahead: RenderAhead | None = None

    def fork_before_reading(self, nations: int, certain: Sequence[Nation] = ()) -> None:
        """Fork now when the triage will read the rows and `nations` may all need a build.

        `certain`: the nations sure to be built whatever the triage finds (never
        published, or forced), in the engine's order. Their pages do not depend on the
        rows, so the workers render them while the triage reads the rows (a second or
        more in which they stood idle); their fingerprints are set when taken."""
        if self._worth_forking(nations) and not self.builder.private_digests_known():
            self._workers = _Workers.fork(self.builder, self.processes)
            if self._workers is not None and certain:
                order = [(nation, UNTRIAGED) for nation in certain]
                self._ahead = RenderAhead(
                    self._render, order, self.processes, AHEAD_MOST, more=True
                )

    def start(self, order: Sequence[tuple[Nation, str]], read_supporters: bool) -> BuildPool:
        """`order`: the builds to come, (nation, fingerprint) in the engine's order."""
        if self._workers is None and self._worth_forking(len(order)):
            self._workers = _Workers.fork(self.builder, self.processes)
        reading = read_supporters and self.builder.has_private_source
        if self._ahead is not None:  # rendering since the fork: the rest of the order
            self._ahead.extend(order if reading else ())
            if not reading:  # no lists to wait for: the engine's threads render the rest
                self._ahead.stop()
        if not reading:
            return self
        if self._workers is None:
            self._prepare_lists()
        else:  # read in a thread, while the workers render pages ahead
            if self._ahead is None:
                self._ahead = RenderAhead(self._render, order, self.processes, AHEAD_MOST)
            self._lists = threading.Thread(target=self._prepare_lists, name="lists")
            self._lists.start()
        return self

    def _prepare_lists(self) -> None:
        try:
            self.builder.prepare()  # rows and lines made under gcpause: never scanned
        except Exception as exc:  # every build that needs the lists fails with it
            self._lists_error = exc
        finally:
            if self._ahead is not None:
                self._ahead.stop()  # the engine's threads keep the workers busy now

    def _lists_ready(self) -> None:
        if self._lists is not None:
            self._lists.join()
        if self._lists_error is not None:
            raise self._lists_error

    def _worth_forking(self, builds: int) -> bool:
        return builds >= MIN_FOR_PROCESSES and self.processes > 1

    def build(
        self,
        nation: Nation,
        fingerprint: str,
        live: LivePrivate | None = None,
        pages: LivePages | None = None,
    ) -> Build:
        """The nation's build with its private lists: `live` ones (when only its pages
        changed), else lists composed here. With `pages` too (only shared asset bytes
        changed), the live pages and emails with the new assets, rendered nothing."""
        reused = live() if live is not None else None
        current = pages() if pages is not None and reused is not None else None
        if reused is not None and current is not None:
            build = self.builder.reassemble(nation, fingerprint, current)
        else:
            ahead = self._ahead.take(nation) if self._ahead is not None else None
            if ahead is not None:
                ahead.fingerprint = fingerprint  # rendered ahead, maybe before the triage
            build = ahead or self._render(nation, fingerprint)
        if reused is None:
            self._lists_ready()
        build.set_private(*(reused or self.builder.private_files(nation)))
        return build

    def _render(self, nation: Nation, fingerprint: str) -> Build:
        """Pages and emails, in a worker when there are workers."""
        if self._workers is None:
            return self.builder.build(nation, fingerprint, with_private=False)
        limit = 2 * nation.budgets.render_seconds + KILL_MARGIN_S
        return self._workers.build(nation, (nation.slug, fingerprint), limit)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.stop()
        if self._lists is not None:
            self._lists.join()  # a run stopped early still lets the reading finish
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
        # Replacements are forked by this one thread, which lives as long as the pool:
        # the kernel kills a worker when the thread that forked it ends (PDEATHSIG is
        # per thread), and the engine's and render-ahead's threads end before the pool.
        self._forker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forker")

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

    def build(self, nation: Nation, request: tuple[str, str], limit: float) -> Build:
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
        return self._forker.submit(self._spawn).result()

    def close(self) -> None:
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                break
            _stop(child, kill=False)
        self._forker.shutdown()


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
