"""A rate-limited work queue of keys, with client-go's guarantees.

- dedup: a key added many times before a worker takes it is handed out once;
- a key is never handed to two workers at once: added while being processed, it is handed out
  again after `done()`;
- `add_after(key, delay)` (requeue-after) keeps the earliest pending time per key;
- `add_rate_limited(key)` waits as the rate limiter says (per-key exponential backoff), `forget`
  resets it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

from .ratelimit import RateLimiter, default_controller_rate_limiter

K = TypeVar("K", bound=Hashable)


PACE_FACTOR = 40.0  # add_paced: a key waits at least 40 times the CPU its last processing took …
PACE_CAP = 5.0  # … but never more than this many seconds
_BUSY_KEYS_KEPT = 100_000


class ShutDown(Exception):
    """The queue was shut down and is empty: the worker should exit."""


class QueueMetrics(Protocol):
    """Hooks the queue calls; `herd.runtime.metrics` implements them with Prometheus."""

    def added(self) -> None: ...

    def depth(self, depth: int) -> None: ...

    def queued_for(self, seconds: float) -> None: ...

    def worked_for(self, seconds: float) -> None: ...

    def retried(self) -> None: ...


class NoMetrics:
    """Metrics hooks that record nothing."""

    def added(self) -> None:
        pass

    def depth(self, depth: int) -> None:
        pass

    def queued_for(self, seconds: float) -> None:
        pass

    def worked_for(self, seconds: float) -> None:
        pass

    def retried(self) -> None:
        pass


class WorkQueue(Generic[K]):
    """Keys waiting for a worker; see the module docstring for the guarantees."""

    def __init__(self, name: str = "", *, rate_limiter: RateLimiter | None = None,
                 metrics: QueueMetrics | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.rate_limiter = rate_limiter or default_controller_rate_limiter()
        self.metrics: QueueMetrics = metrics or NoMetrics()
        self._clock = clock
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()  # queued, or re-added while processing
        self._processing: dict[K, float] = {}  # key -> when a worker took it
        self._enqueued_at: dict[K, float] = {}
        self._waiting: dict[K, tuple[float, asyncio.TimerHandle]] = {}  # add_after: when ready, timer
        self._busy: dict[K, float] = {}  # key -> CPU seconds its last processing took (for add_paced)
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys ready for a worker (not counting those being processed or waiting for a delay)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def processing(self) -> int:
        return len(self._processing)

    @property
    def waiting(self) -> int:
        """Keys scheduled by add_after / add_rate_limited, not yet ready."""
        return len(self._waiting)

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing being processed, nothing scheduled."""
        return not self._queue and not self._processing and not self._waiting

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the queue is idle; False if `timeout` seconds pass first."""
        try:
            async with asyncio.timeout(timeout):
                while not self.idle:
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    # ----- adding -----

    def add(self, item: K) -> None:
        """Queue a key now (no-op if it is already queued, or after shutdown)."""
        if self._shutting_down or item in self._dirty:
            return
        self.metrics.added()
        self._dirty.add(item)
        self._idle.clear()
        if item in self._processing:
            return  # done() queues it again
        self._enqueue(item)

    def _enqueue(self, item: K) -> None:
        self._queue.append(item)
        self._enqueued_at.setdefault(item, self._clock())
        self.metrics.depth(len(self._queue))
        self._ready.set()

    def add_after(self, item: K, delay: float) -> None:
        """Queue a key once `delay` seconds have passed (the earliest pending time wins)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self._clock() + delay
        pending = self._waiting.get(item)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        handle = asyncio.get_running_loop().call_later(delay, self._delay_over, item)
        self._waiting[item] = (ready_at, handle)
        self._idle.clear()

    def add_paced(self, item: K, delay: float) -> None:
        """Queue a key after `delay`, or after PACE_FACTOR times the CPU its last processing took (at most
        PACE_CAP seconds) if that is longer: for coalescing the many child events of a key whose processing
        grows with its children (a deployment of a thousand Machines), so that it takes a bounded share of
        the process however large it grows, while a small one keeps the short delay."""
        paced = min(self._busy.get(item, 0.0) * PACE_FACTOR, PACE_CAP)
        self.add_after(item, max(delay, paced))

    def record_busy(self, item: K, seconds: float) -> None:
        """How much CPU the key's processing just took (see `add_paced`)."""
        if len(self._busy) > _BUSY_KEYS_KEPT:
            self._busy.clear()  # mostly keys of objects long gone; a fresh start only shortens delays once
        self._busy[item] = seconds

    def _delay_over(self, item: K) -> None:
        self._waiting.pop(item, None)
        self.add(item)
        self._update_idle()

    def add_rate_limited(self, item: K) -> None:
        """Queue a key after the rate limiter's delay for it (a retry)."""
        self.metrics.retried()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: K) -> None:
        """The key succeeded: its next failure is retried after the smallest delay again."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: K) -> int:
        """Rate-limited retries of the key since it was last forgotten."""
        return self.rate_limiter.num_requeues(item)

    # ----- working -----

    async def get(self) -> K:
        """The next key; the caller must call `done(key)` after processing. Raises ShutDown."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown()
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        now = self._clock()
        self._dirty.discard(item)
        self._processing[item] = now
        self.metrics.depth(len(self._queue))
        enqueued = self._enqueued_at.pop(item, None)
        if enqueued is not None:
            self.metrics.queued_for(now - enqueued)
        return item

    def done(self, item: K) -> None:
        """Processing of the key finished; if it was added meanwhile, it is queued again."""
        started = self._processing.pop(item, None)
        if started is not None:
            self.metrics.worked_for(self._clock() - started)
        if item in self._dirty:
            self._enqueue(item)
        self._update_idle()

    def shutdown(self) -> None:
        """Refuse new keys, drop scheduled ones, and wake idle workers (they get ShutDown)."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._ready.set()
        self._update_idle()

    def _update_idle(self) -> None:
        if self.idle:
            self._idle.set()
