"""A key whose reconciles cost much CPU waits longer between them: Metered counts a coroutine's own CPU, and
`WorkQueue.add_paced` stretches the coalescing delay to PACE_FACTOR times that, at most PACE_CAP seconds."""

from __future__ import annotations

import asyncio
import time

import pytest

from herd.runtime.controller import Controller, Result
from herd.runtime.metering import Metered
from herd.runtime.metrics import Metrics
from herd.runtime.objects import ObjectKey
from herd.runtime.workqueue import PACE_CAP, PACE_FACTOR, WorkQueue

KEY = ObjectKey("ns", "md")


def spin(seconds: float) -> None:
    """Burn this much thread CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


async def test_metered_counts_the_coroutines_own_cpu_not_the_time_it_awaits() -> None:
    async def work() -> str:
        spin(0.02)
        await asyncio.sleep(0.1)
        spin(0.02)
        return "done"

    async def neighbour() -> None:
        await asyncio.sleep(0.01)
        spin(0.05)  # runs while `work` sleeps: not `work`'s CPU

    metered = Metered(work())
    results = await asyncio.gather(metered, neighbour())
    assert results[0] == "done"
    assert 0.04 <= metered.busy < 0.07


async def test_metered_passes_exceptions_and_cancellation_through() -> None:
    async def fails() -> None:
        spin(0.01)
        raise ValueError("boom")

    metered = Metered(fails())
    with pytest.raises(ValueError, match="boom"):
        await metered
    assert metered.busy >= 0.01

    cancelled = []

    async def sleeps() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = asyncio.ensure_future(Metered(sleeps()))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True]


async def test_a_cheap_key_keeps_the_short_delay() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    queue.record_busy(KEY, 0.001)
    started = time.monotonic()
    queue.add_paced(KEY, 0.05)
    assert await asyncio.wait_for(queue.get(), 1) == KEY
    assert 0.04 <= time.monotonic() - started < 0.2


async def test_a_costly_key_waits_pace_factor_times_its_cpu() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    queue.record_busy(KEY, 0.3 / PACE_FACTOR)
    started = time.monotonic()
    queue.add_paced(KEY, 0.05)
    queue.add_paced(KEY, 0.05)  # a second event joins the pending one
    assert await asyncio.wait_for(queue.get(), 2) == KEY
    assert 0.28 <= time.monotonic() - started < 0.6
    assert queue.waiting == 0 and len(queue) == 0


async def test_the_pace_is_capped() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    queue.record_busy(KEY, 1000.0)
    queue.add_paced(KEY, 0.05)
    ready_at, _ = queue._waiting[KEY]
    assert ready_at - time.monotonic() == pytest.approx(PACE_CAP, abs=0.1)
    queue.shutdown()


async def spinning_reconcile(key: ObjectKey) -> Result:
    """20 ms of CPU around 50 ms asleep."""
    spin(0.02)
    await asyncio.sleep(0.05)
    return Result()


async def test_the_controller_records_each_reconciles_cpu_for_its_key() -> None:
    controller = Controller("paced", spinning_reconcile, [])
    await controller.reconcile_handler(KEY)
    busy = controller.queue._busy[KEY]
    assert 0.02 <= busy < 0.04


async def test_the_controllers_cpu_is_reported_as_a_metric() -> None:
    controller = Controller("paced", spinning_reconcile, [])
    metrics = Metrics()
    controller._metrics = metrics
    await controller.reconcile_handler(KEY)
    await controller.reconcile_handler(KEY)
    used = metrics.registry.get_sample_value("herd_reconcile_cpu_seconds_total", {"controller": "paced"})
    assert used is not None and 0.04 <= used < 0.08, "two reconciles' CPU, not the 0.1 s they slept"
