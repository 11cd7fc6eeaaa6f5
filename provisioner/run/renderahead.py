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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from provisioner.render.build import Build
from provisioner.spec.network import Nation

Render = Callable[[Nation, str], Build]


class RenderAhead:
    def __init__(self, render: Render, order: Sequence[tuple[Nation, str]], lanes: int, most: int):
        """`order`: (nation, fingerprint) in the order the engine will ask for them."""
        self._render = render
        self._slots: dict[str, Future[Build]] = {nation.slug: Future() for nation, _ in order}
        self._order = iter(order)
        self._lock = threading.Lock()
        self._room = threading.Semaphore(most)  # builds rendered and not yet taken
        self._stop = threading.Event()
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
        if slot is None or slot.cancel():
            return None
        try:
            return slot.result()  # raises what the render raised
        finally:
            self._room.release()

    def stop(self) -> None:
        """Start no more renders; wait for those under way (their builds stay takeable)."""
        self._stop.set()
        for lane in self._lanes:
            lane.join()

    def _lane(self) -> None:
        while not self._stop.is_set():
            if not self._room.acquire(timeout=0.05):  # full: wait for the engine to take
                continue
            with self._lock:
                item = next(self._order, None)
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
