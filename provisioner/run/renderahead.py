"""Pages rendered ahead, in the worker processes, while this process makes the lists.

When supporter lists are made in the deploying process (buildpool.py), every build
waits for the export to be read and encoded (a second or more) before its lists can be
composed; the engine's threads, each holding one build, then stood still, and so did
the worker processes. A RenderAhead keeps the workers rendering pages meanwhile, in the
engine's order, one lane per worker, and hands each build over when the engine asks for
that nation. It stops once the lists are ready (the engine's own threads keep the
workers busy from then on) and never holds more than `most` builds not yet taken.

A nation the engine asks for before its lane reached it is not rendered twice: its
slot is cancelled and the engine renders it itself. An error raised by a render ahead
is raised to the engine as if it had rendered, so retries and failures stay its own.

It may start before the engine knows its whole order (`more=True`): the nations sure to
be built are rendered while the triage reads the rows, and `extend` adds the rest.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from provisioner.render.build import Build
from provisioner.spec.network import Nation

Render = Callable[[Nation, str], Build]


class RenderAhead:
    def __init__(
        self,
        render: Render,
        order: Sequence[tuple[Nation, str]],
        lanes: int,
        most: int,
        more: bool = False,
    ):
        """`order`: (nation, fingerprint) in the order the engine will ask for them;
        `more`: `extend` will add to it (the lanes wait for that instead of ending)."""
        self._render = render
        self._slots: dict[str, Future[Build]] = {}
        self._order: deque[tuple[Nation, str]] = deque()
        self._planned: set[str] = set()  # every slug ever in the order: rendered once
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)
        self._complete = False
        self._room = threading.Semaphore(most)  # builds rendered and not yet taken
        self._stop = threading.Event()
        self.extend(order, last=not more)
        self._lanes = [
            threading.Thread(target=self._lane, name=f"render-ahead-{i}", daemon=True)
            for i in range(lanes)
        ]
        for lane in self._lanes:
            lane.start()

    def take(self, nation: Nation) -> Build | None:
        """The nation's build rendered ahead (waiting for it if it is being rendered),
        or None: not rendered ahead, so the caller renders it."""
        with self._lock:
            slot = self._slots.pop(nation.slug, None)
            self._planned.add(nation.slug)  # rendered by the caller: never added after
        if slot is None or slot.cancel():
            return None
        try:
            return slot.result()  # raises what the render raised
        finally:
            self._room.release()

    def extend(self, order: Sequence[tuple[Nation, str]], last: bool = True) -> None:
        """Add the nations of `order` not planned yet; `last`: nothing more will come."""
        with self._added:
            for nation, fingerprint in order:
                if nation.slug not in self._planned:
                    self._planned.add(nation.slug)
                    self._slots[nation.slug] = Future()
                    self._order.append((nation, fingerprint))
            self._complete = self._complete or last
            self._added.notify_all()

    def stop(self) -> None:
        """Start no more renders; wait for those under way (their builds stay takeable)."""
        self._stop.set()
        with self._added:
            self._added.notify_all()
        for lane in self._lanes:
            lane.join()

    def _next(self) -> tuple[Nation, str] | None:
        """The next nation of the order, waiting for `extend` while more may come;
        None once the order is done or the lanes are stopped."""
        with self._added:
            while not self._order and not self._complete and not self._stop.is_set():
                self._added.wait(0.05)
            return self._order.popleft() if self._order and not self._stop.is_set() else None

    def _lane(self) -> None:
        while not self._stop.is_set():
            if not self._room.acquire(timeout=0.05):  # full: wait for the engine to take
                continue
            item = self._next()
            with self._lock:
                slot = self._slots.get(item[0].slug) if item is not None else None
            if item is None or slot is None or not slot.set_running_or_notify_cancel():
                self._room.release()  # the end, or taken before this lane reached it
                if item is None:
                    return
                continue
            try:
                slot.set_result(self._render(*item))
            except BaseException as exc:  # the engine sees it as its own render's error
                slot.set_exception(exc)
