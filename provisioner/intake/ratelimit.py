"""Per-client token buckets: `rate` submissions per minute, bursts up to `rate`.

In memory, per process: behind `serve` that is the whole server; in the cloud, each
Lambda instance limits on its own (API Gateway throttling caps the total). Idle
clients are forgotten once the table is large, so memory stays bounded whatever the
number of addresses.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 100_000


class RateLimiter:
    """`allow(client)` -> (allowed, seconds to wait). `rate=0` allows everything."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._refill = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, client: str) -> tuple[bool, int]:
        if self.per_minute <= 0:
            return True, 0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self._refill)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._forget_idle(now)
                return True, 0
            self._buckets[client] = (tokens, now)
            return False, max(1, math.ceil((1.0 - tokens) / self._refill))

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled: forgetting them changes nothing."""
        full = self.per_minute / self._refill
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < full}
