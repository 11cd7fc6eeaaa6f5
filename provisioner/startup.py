"""Start-up of a command: its modules imported without the cycle collector.

Importing the modules a deploy uses (pydantic, Jinja, the renderers...) allocates
hundreds of thousands of objects that live as long as the process; the collector scans
them during the imports and again at every later full collection, which cost a
one-nation deploy about 60 ms of its 0.63 s. Paused while importing, then frozen into
the permanent generation (`gc.freeze`), they are never scanned; garbage made later is
collected as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def importing() -> Iterator[None]:
    """Wrap a command's imports: the collector pauses, then skips what they made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
