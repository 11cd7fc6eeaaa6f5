"""Token buckets shared by workers: the spacing AWS requires, across threads."""

from __future__ import annotations

import threading
import time

import pytest

from provisioner.targets.aws import resolve_settings
from provisioner.targets.ratelimit import RateLimits, TokenBucket, shared_limits


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_calls_beyond_the_burst_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=5.0, burst=1, clock=clock, sleep=lambda s: None)
    waits = [bucket.acquire() for _ in range(6)]
    # Nobody sleeps here, so each caller owes 0.2 s more than the one before it.
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2, clock=clock, sleep=clock.sleep)
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    clock.now += 100  # a long pause saves up no more than `burst` tokens
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


def test_threads_share_one_bucket_per_api() -> None:
    limits = RateLimits({"ses": 50.0})
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limits.acquire("ses")
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 20 calls at 50/s with a burst of 1: at least 19 intervals of 20 ms, whatever the threads.
    assert time.monotonic() - start >= 19 / 50 * 0.95
    stamps.sort()
    assert len(stamps) == 20


def test_default_rates_are_the_aws_limits_and_unknown_apis_are_refused() -> None:
    # Through the settings an S3 deploy resolves when nothing sets a rate: AWS's limits
    # (Route 53 5/s, SES 1/s per account), not whatever a constant happens to say.
    buckets = {"site_bucket": "s", "private_bucket": "p"}
    limits = RateLimits(resolve_settings(buckets, env={}).rates)
    assert limits.bucket("route53").rate == 5.0 and limits.bucket("ses").rate == 1.0
    with pytest.raises(KeyError, match="no rate configured"):
        limits.bucket("dynamodb")
    paced = RateLimits(resolve_settings(buckets, env={"PROVISIONER_SES_RATE": "20"}).rates)
    assert paced.bucket("ses").rate == 20.0 and paced.bucket("route53").rate == 5.0


def test_configure_never_changes_a_bucket_in_use() -> None:
    limits = RateLimits()
    limits.bucket("ses")
    limits.configure({"ses": 100.0, "route53": 2.0})
    assert limits.bucket("ses").rate == 1.0
    assert limits.bucket("route53").rate == 2.0


def test_shared_limits_is_one_registry_per_process() -> None:
    assert shared_limits() is shared_limits()


def test_invalid_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)
