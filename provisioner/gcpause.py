"""The cycle collector paused over a burst of long-lived allocations, then spared them.

Each allocation burst makes Python's collector rescan every object already made, and
the first collection after a pause would scan everything built during it. So, paused,
then what exists when the pause ends goes to the permanent generation (`gc.freeze`),
which the collector never scans; those objects are still freed by reference counting,
only a cycle among them would outlive its use. Used where what is made lives long and
holds no cycles:

- a command's imports (pydantic, Jinja, the renderers: 60 ms of a 0.63 s one-nation
  deploy went to scanning them, during the imports and at every later collection);
- supporter rows and their encoded lines (tuples of strings: at a million rows the
  collector took a third of the ingestion time, and 0.18 s at 200,000 for the first
  collection after).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the collector within; freeze what exists at the end (see the module doc)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
