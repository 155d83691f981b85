"""Rate limiters deciding how long a key waits before it is retried (client-go's workqueue limiters)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Protocol


class RateLimiter(Protocol):
    """How long to wait before handing out an item again."""

    def when(self, item: Hashable) -> float:
        """The delay (seconds) for this retry of `item`; each call counts as a retry."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking `item`: its next failure starts from the smallest delay again."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times `item` was retried since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter:
    """Per item: base * 2^failures, capped (client-go's default: 5 ms doubling up to 1000 s)."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        exponent = self._failures.get(item, 0)
        self._failures[item] = exponent + 1
        if exponent > 64:  # 2**64 * base is beyond any cap; avoid float overflow
            return self.max_delay
        return float(min(self.base_delay * 2**exponent, self.max_delay))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket over all items (client-go's default: 10 per second, bursts of 100)."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, item: Hashable) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1  # reserve a token now, even if it is only available later
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay of several limiters."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter() -> RateLimiter:
    """controller-runtime's default: per-item exponential 5 ms → 1000 s, and 10 qps / 100 burst overall."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0), BucketRateLimiter(10.0, 100))
