"""The work queue hands out keys the way client-go's rate-limited queue does."""

from __future__ import annotations

import asyncio
import time

import pytest

from herd.runtime.ratelimit import ItemExponentialFailureRateLimiter
from herd.runtime.workqueue import ShutDown, WorkQueue


class RecordingMetrics:
    def __init__(self) -> None:
        self.adds = 0
        self.retries = 0
        self.depths: list[int] = []
        self.queued: list[float] = []
        self.worked: list[float] = []

    def added(self) -> None:
        self.adds += 1

    def depth(self, depth: int) -> None:
        self.depths.append(depth)

    def queued_for(self, seconds: float) -> None:
        self.queued.append(seconds)

    def worked_for(self, seconds: float) -> None:
        self.worked.append(seconds)

    def retried(self) -> None:
        self.retries += 1


async def test_a_key_added_many_times_before_a_worker_takes_it_is_handed_out_once() -> None:
    queue: WorkQueue[str] = WorkQueue("q")
    for _ in range(1000):
        queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    assert len(queue) == 0


async def test_keys_are_handed_out_in_the_order_they_were_first_added() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ["c", "a", "b", "a", "c"]:
        queue.add(key)
    assert [await queue.get() for _ in range(3)] == ["c", "a", "b"]


async def test_a_key_added_while_processing_is_handed_out_again_only_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    for _ in range(10):
        queue.add("a")  # while a worker holds it
    assert len(queue) == 0, "never handed to a second worker while the first one processes it"
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"
    queue.done("a")
    assert queue.idle


async def test_two_workers_never_hold_the_same_key() -> None:
    queue: WorkQueue[int] = WorkQueue()
    holding: set[int] = set()
    overlaps = 0

    async def worker() -> None:
        nonlocal overlaps
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            if key in holding:
                overlaps += 1
            holding.add(key)
            await asyncio.sleep(0.001)
            holding.discard(key)
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(8)]
    for round_ in range(50):
        for key in range(5):
            queue.add(key)
        if round_ % 5 == 0:
            await asyncio.sleep(0.002)
    assert await queue.wait_idle(timeout=5)
    queue.shutdown()
    await asyncio.gather(*workers)
    assert overlaps == 0


async def test_add_after_hands_the_key_out_once_the_delay_passed() -> None:
    queue: WorkQueue[str] = WorkQueue()
    started = time.monotonic()
    queue.add_after("a", 0.05)
    assert len(queue) == 0 and queue.waiting == 1 and not queue.idle
    assert await asyncio.wait_for(queue.get(), timeout=2) == "a"
    assert time.monotonic() - started >= 0.045


async def test_add_after_keeps_the_earliest_time_for_a_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 10)
    queue.add_after("a", 0.01)
    queue.add_after("a", 5)  # later than pending: ignored
    assert await asyncio.wait_for(queue.get(), timeout=2) == "a"
    assert queue.waiting == 0


async def test_add_rate_limited_waits_longer_after_each_failure_until_forgotten() -> None:
    queue: WorkQueue[str] = WorkQueue(rate_limiter=ItemExponentialFailureRateLimiter(0.01, 1.0))
    gaps = []
    for _ in range(4):
        started = time.monotonic()
        queue.add_rate_limited("a")
        key = await asyncio.wait_for(queue.get(), timeout=5)
        gaps.append(time.monotonic() - started)
        queue.done(key)
    assert queue.num_requeues("a") == 4
    for expected, gap in zip([0.01, 0.02, 0.04, 0.08], gaps, strict=True):
        assert gap >= expected * 0.9
    queue.forget("a")
    assert queue.num_requeues("a") == 0


async def test_shutdown_wakes_waiting_workers_and_refuses_new_keys() -> None:
    queue: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shutdown()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(getter, timeout=2)
    queue.add("a")
    queue.add_after("b", 0.01)
    assert len(queue) == 0 and queue.waiting == 0


async def test_metrics_hooks_see_adds_depth_latency_work_and_retries() -> None:
    metrics = RecordingMetrics()
    queue: WorkQueue[str] = WorkQueue("q", metrics=metrics,
                                      rate_limiter=ItemExponentialFailureRateLimiter(0.001, 0.01))
    queue.add("a")
    queue.add("a")
    queue.add("b")
    key = await queue.get()
    queue.done(key)
    queue.add_rate_limited("b")
    assert metrics.adds == 2
    assert metrics.retries == 1
    assert metrics.depths[:3] == [1, 2, 1]
    assert len(metrics.queued) == 1 and metrics.queued[0] >= 0
    assert len(metrics.worked) == 1


async def test_wait_idle_returns_when_nothing_is_queued_processing_or_scheduled() -> None:
    queue: WorkQueue[str] = WorkQueue()
    assert await queue.wait_idle(timeout=0.1)
    queue.add_after("a", 0.02)
    assert not await queue.wait_idle(timeout=0.001)

    async def work() -> None:
        key = await queue.get()
        queue.done(key)

    worker = asyncio.create_task(work())
    assert await queue.wait_idle(timeout=2)
    await worker
