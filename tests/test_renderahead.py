"""RenderAhead (run/renderahead.py): pages rendered ahead, in order, handed over once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from provisioner.run.renderahead import RenderAhead


class Nation:
    def __init__(self, slug: str):
        self.slug = slug


class Renders:
    """A render that records what it was asked for; `gate` holds it until set."""

    def __init__(self, fail: str = "") -> None:
        self.done: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, nation: Any, fingerprint: str) -> Any:
        self.gate.wait(5)
        if nation.slug == self.fail:
            raise ValueError(f"{nation.slug}: broken template")
        with self._lock:
            self.done.append(nation.slug)
        return ("build", nation.slug, fingerprint)


def order(count: int) -> list[tuple[Any, str]]:
    return [(Nation(f"n{i}"), f"f{i}") for i in range(count)]


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_builds_are_rendered_in_order_and_at_most_so_many_wait_to_be_taken() -> None:
    renders, items = Renders(), order(10)
    ahead = RenderAhead(renders, items, lanes=1, most=3)
    wait_until(lambda: len(renders.done) == 3)
    time.sleep(0.2)
    assert renders.done == ["n0", "n1", "n2"]  # in order, then full
    assert ahead.take(items[0][0]) == ("build", "n0", "f0")
    wait_until(lambda: len(renders.done) == 4)  # room for one more
    assert ahead.take(items[0][0]) is None  # handed over once
    ahead.stop()
    assert renders.done == ["n0", "n1", "n2", "n3"]
    assert ahead.take(items[9][0]) is None  # never rendered: the caller renders it


def test_a_nation_asked_for_before_a_lane_reached_it_is_never_rendered_ahead() -> None:
    renders, items = Renders(), order(4)
    renders.gate.clear()  # the lane is stuck on n0
    ahead = RenderAhead(renders, items, lanes=1, most=10)
    assert ahead.take(items[2][0]) is None  # not started: the engine renders it itself
    renders.gate.set()
    assert ahead.take(items[0][0]) == ("build", "n0", "f0")  # waited for, not rendered again
    wait_until(lambda: len(renders.done) == 3)
    ahead.stop()
    assert renders.done == ["n0", "n1", "n3"]


def test_an_error_of_a_render_ahead_is_raised_to_whoever_takes_it() -> None:
    renders, items = Renders(fail="n1"), order(3)
    ahead = RenderAhead(renders, items, lanes=2, most=10)
    with pytest.raises(ValueError, match="n1: broken template"):
        ahead.take(items[1][0])
    assert ahead.take(items[2][0]) == ("build", "n2", "f2")
    ahead.stop()


def test_stop_starts_no_more_renders_and_keeps_those_made() -> None:
    renders, items = Renders(), order(50)
    renders.gate.clear()
    ahead = RenderAhead(renders, items, lanes=2, most=50)
    time.sleep(0.1)
    stopper = threading.Thread(target=ahead.stop)
    stopper.start()
    wait_until(ahead._stop.is_set)
    renders.gate.set()  # the two renders under way finish; no lane starts another
    stopper.join(5)
    assert not stopper.is_alive() and sorted(renders.done) == ["n0", "n1"]
    assert ahead.take(items[1][0]) == ("build", "n1", "f1")
    assert ahead.take(items[5][0]) is None


def test_an_order_extended_later_is_rendered_once_and_the_lanes_wait_for_it() -> None:
    renders, items = Renders(), order(6)
    ahead = RenderAhead(renders, items[:2], lanes=2, most=10, more=True)
    wait_until(lambda: len(renders.done) == 2)
    time.sleep(0.2)  # the order is used up, but more may come: the lanes wait
    assert all(lane.is_alive() for lane in ahead._lanes)
    assert ahead.take(items[3][0]) is None  # the caller renders it: never added after
    ahead.extend([(items[1][0], "new"), *items[2:]])  # n1 is planned already
    wait_until(lambda: len(renders.done) == 5)
    ahead.stop()
    assert sorted(renders.done) == ["n0", "n1", "n2", "n4", "n5"]
    assert ahead.take(items[1][0]) == ("build", "n1", "f1")  # rendered once, as planned


def test_stop_ends_lanes_waiting_for_more() -> None:
    renders = Renders()
    ahead = RenderAhead(renders, [], lanes=2, most=10, more=True)
    stopper = threading.Thread(target=ahead.stop)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive() and renders.done == []
