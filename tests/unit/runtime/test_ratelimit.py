"""Retry delays: per-key exponential backoff (5 ms → 1000 s) and an overall token bucket."""

from __future__ import annotations

import itertools

import pytest

from herd.runtime.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


def test_per_key_delay_doubles_from_5ms_and_caps_at_1000s() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(22)]
    assert delays[:5] == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert delays[-1] == 1000.0
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert limiter.num_requeues("a") == 22


def test_keys_back_off_independently_and_forget_resets_one() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000)
    for _ in range(3):
        limiter.when("a")
    assert limiter.when("b") == 0.005
    limiter.forget("a")
    assert limiter.when("a") == 0.005


def test_huge_failure_counts_do_not_overflow() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000)
    for _ in range(2000):
        delay = limiter.when("a")
    assert delay == 1000


def test_bucket_allows_a_burst_then_spaces_retries_at_qps() -> None:
    now = [100.0]
    bucket = BucketRateLimiter(qps=10, burst=3, clock=lambda: now[0])
    assert [bucket.when(i) for i in range(3)] == [0, 0, 0]
    assert bucket.when(3) == pytest.approx(0.1)
    assert bucket.when(4) == pytest.approx(0.2)
    now[0] += 10  # refills up to the burst
    assert bucket.when(5) == 0


def test_max_of_takes_the_longest_delay_and_forgets_everywhere() -> None:
    now = [0.0]
    limiter = MaxOfRateLimiter(ItemExponentialFailureRateLimiter(1, 100), BucketRateLimiter(1000, 1000,
                                                                                           clock=lambda: now[0]))
    assert limiter.when("a") == 1
    assert limiter.when("a") == 2
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_default_controller_rate_limiter_starts_at_5ms() -> None:
    limiter = default_controller_rate_limiter()
    assert limiter.when("k") == pytest.approx(0.005)
    assert limiter.when("k") == pytest.approx(0.01)
