"""A 409 Conflict from a reconcile is a quiet requeue in the runtime: retried with backoff, logged without a
traceback, counted as a requeue rather than an error."""

from __future__ import annotations

import logging

import pytest

from herd.runtime.cache import Cache
from herd.runtime.controller import Controller, Result
from herd.runtime.errors import Conflict
from herd.runtime.metrics import Metrics
from herd.runtime.objects import CONFIGMAP, ObjectKey
from herd.runtime.ratelimit import ItemExponentialFailureRateLimiter

KEY = ObjectKey("ns", "a")


async def test_a_conflict_is_retried_quietly_and_not_counted_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> Result:
        calls.append(key)
        if len(calls) == 1:
            raise Conflict(409, "Conflict", "the object has been modified; please apply your changes to the latest "
                           "version and try again")
        return Result()

    controller = (Controller.builder("test").for_(CONFIGMAP)
                  .with_rate_limiter(ItemExponentialFailureRateLimiter(0.005, 1.0)).build(reconcile))
    metrics = Metrics()
    await controller.start(Cache(client=None), metrics)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="herd.runtime"):
        controller.queue.add(KEY)
        assert await controller.queue.wait_idle(timeout=5)
    await controller.stop()

    assert calls == [KEY, KEY]

    def total(result: str) -> float:
        return metrics.registry.get_sample_value("controller_runtime_reconcile_total",
                                                 {"controller": "test", "result": result}) or 0.0

    assert total("requeue") == 1 and total("error") == 0 and total("success") == 1
    conflict_records = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert len(conflict_records) == 1
    assert conflict_records[0].levelno == logging.INFO and conflict_records[0].exc_info is None
