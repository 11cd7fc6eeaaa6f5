"""Token buckets per AWS API, shared by every worker thread of a process.

AWS enforces some limits per account, not per connection: Route 53 answers 5 requests
per second, SES CreateTemplate/UpdateTemplate 1 per second. With 16 workers each
calling at will, most calls would be throttled and retried; a shared bucket spaces them
out instead, so the first attempt succeeds. S3 has no fixed rate (it answers 503 SlowDown
under bursts); botocore's adaptive retry mode handles that, per shared client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Requests per second allowed by AWS for one account, by API name.
DEFAULT_RATES: dict[str, float] = {"route53": 5.0, "ses": 1.0}


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `acquire` blocks until one is free.

    A caller takes its token at once, even into debt, then sleeps outside the lock until
    the debt would have been refilled: callers are served in arrival order and never
    hold the lock while sleeping.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token; return how long the caller waited, in seconds."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._updated
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimits:
    """One bucket per API name, created on first use with the configured rate."""

    def __init__(self, rates: dict[str, float] | None = None):
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, api: str) -> TokenBucket:
        with self._lock:
            if api not in self._buckets:
                if api not in self.rates:
                    raise KeyError(f"no rate configured for API {api!r}")
                self._buckets[api] = TokenBucket(self.rates[api])
            return self._buckets[api]

    def configure(self, rates: dict[str, float]) -> None:
        """Set rates of buckets not created yet (a bucket in use keeps its rate)."""
        with self._lock:
            for api, rate in rates.items():
                if api not in self._buckets:
                    self.rates[api] = rate

    def acquire(self, api: str) -> float:
        """Wait for a turn to call `api`; return the wait in seconds."""
        return self.bucket(api).acquire()


_shared = RateLimits()


def shared_limits(rates: dict[str, float] | None = None) -> RateLimits:
    """The process-wide registry: every target and worker draws from the same buckets."""
    if rates:
        _shared.configure(rates)
    return _shared
