"""A controller's workers turn reconcile outcomes into queue actions; no server needed."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from herd.runtime.cache import Cache
from herd.runtime.controller import Controller, Result, TerminalError
from herd.runtime.metrics import Metrics
from herd.runtime.objects import CONFIGMAP, ObjectKey
from herd.runtime.ratelimit import ItemExponentialFailureRateLimiter

KEY = ObjectKey("ns", "a")


class Script:
    """A reconciler that records calls and follows a script of outcomes."""

    def __init__(self, *outcomes: Result | Exception, gate: asyncio.Event | None = None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[ObjectKey, float]] = []
        self.gate = gate
        self.running = 0
        self.max_running = 0

    async def reconcile(self, key: ObjectKey) -> Result:
        self.calls.append((key, time.monotonic()))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            outcome = self.outcomes.pop(0) if self.outcomes else Result()
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        finally:
            self.running -= 1


async def started(reconciler: Script, workers: int = 1, base_delay: float = 0.005) -> tuple[Controller, Metrics]:
    controller = (Controller.builder("test").for_(CONFIGMAP).with_concurrency(workers)
                  .with_rate_limiter(ItemExponentialFailureRateLimiter(base_delay, 1.0)).build(reconciler))
    metrics = Metrics()
    await controller.start(Cache(client=None), metrics)  # type: ignore[arg-type]
    return controller, metrics


async def reconciled_until_idle(reconciler: Script) -> Metrics:
    """A controller handed KEY, stopped once its queue is idle (retries and requeues included); its metrics."""
    controller, metrics = await started(reconciler)
    controller.queue.add(KEY)
    assert await controller.queue.wait_idle(timeout=5)
    await controller.stop()
    return metrics


def count(metrics: Metrics, result: str) -> float:
    value = metrics.registry.get_sample_value("controller_runtime_reconcile_total",
                                              {"controller": "test", "result": result})
    return value or 0.0


async def test_success_forgets_the_key() -> None:
    reconciler = Script(Result())
    controller, metrics = await started(reconciler)
    controller.queue.add(KEY)
    assert await controller.queue.wait_idle(timeout=5)
    assert len(reconciler.calls) == 1 and controller.queue.num_requeues(KEY) == 0
    assert count(metrics, "success") == 1
    await controller.stop()


async def test_errors_are_retried_with_growing_delays_then_forgotten_on_success() -> None:
    reconciler = Script(*[RuntimeError("boom")] * 5, Result())
    controller, metrics = await started(reconciler, base_delay=0.01)
    controller.queue.add(KEY)
    async with asyncio.timeout(10):
        while len(reconciler.calls) < 6 or not controller.queue.idle:
            await asyncio.sleep(0.005)
    times = [t for _, t in reconciler.calls]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for expected, gap in zip([0.01, 0.02, 0.04, 0.08, 0.16], gaps, strict=True):
        assert gap >= expected * 0.9, gaps
    assert controller.queue.num_requeues(KEY) == 0
    assert count(metrics, "error") == 5 and count(metrics, "success") == 1
    assert metrics.registry.get_sample_value("controller_runtime_reconcile_errors_total", {"controller": "test"}) == 5
    await controller.stop()


async def test_requeue_after_looks_again_after_the_delay_without_backoff() -> None:
    reconciler = Script(Result(requeue_after=0.05), Result())
    controller, metrics = await started(reconciler)
    controller.queue.add(KEY)
    async with asyncio.timeout(5):
        while len(reconciler.calls) < 2:
            await asyncio.sleep(0.005)
    assert reconciler.calls[1][1] - reconciler.calls[0][1] >= 0.045
    assert count(metrics, "requeue_after") == 1
    await controller.stop()


async def test_requeue_is_rate_limited() -> None:
    reconciler = Script(Result(requeue=True), Result())
    metrics = await reconciled_until_idle(reconciler)
    assert len(reconciler.calls) == 2 and count(metrics, "requeue") == 1


async def test_terminal_errors_are_not_retried() -> None:
    reconciler = Script(TerminalError("cannot ever work"))
    metrics = await reconciled_until_idle(reconciler)
    assert len(reconciler.calls) == 1 and count(metrics, "error") == 1


async def test_events_arriving_during_a_reconcile_cause_exactly_one_more() -> None:
    gate = asyncio.Event()
    reconciler = Script(gate=gate)
    controller, _ = await started(reconciler, workers=4)
    controller.queue.add(KEY)
    async with asyncio.timeout(5):
        while not reconciler.calls:
            await asyncio.sleep(0.001)
    for _ in range(999):
        controller.queue.add(KEY)
    gate.set()
    assert await controller.queue.wait_idle(timeout=5)
    assert len(reconciler.calls) == 2
    assert reconciler.max_running == 1, "one key is never reconciled by two workers at once"
    await controller.stop()


async def test_workers_reconcile_different_keys_concurrently() -> None:
    gate = asyncio.Event()
    reconciler = Script(gate=gate)
    controller, metrics = await started(reconciler, workers=3)
    for name in "abcde":
        controller.queue.add(ObjectKey("ns", name))
    async with asyncio.timeout(5):
        while reconciler.running < 3:
            await asyncio.sleep(0.001)
    assert metrics.registry.get_sample_value("controller_runtime_active_workers", {"controller": "test"}) == 3
    assert metrics.registry.get_sample_value("controller_runtime_max_concurrent_reconciles",
                                             {"controller": "test"}) == 3
    gate.set()
    assert await controller.queue.wait_idle(timeout=5)
    assert len(reconciler.calls) == 5
    await controller.stop()


async def test_plain_async_functions_are_reconcilers_too() -> None:
    seen: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> None:
        seen.append(key)

    controller = Controller.builder("fn").for_(CONFIGMAP).build(reconcile)
    await controller.start(Cache(client=None))  # type: ignore[arg-type]
    controller.queue.add(KEY)
    assert await controller.queue.wait_idle(timeout=5)
    assert seen == [KEY]
    await controller.stop()


def test_the_builder_refuses_incomplete_descriptions() -> None:
    with pytest.raises(ValueError):
        Controller.builder("x").owns(CONFIGMAP)
    with pytest.raises(ValueError):
        Controller.builder("x").build(Script())
    with pytest.raises(ValueError):
        Controller.builder("x").for_(CONFIGMAP).with_concurrency(0).build(Script())
