"""The manager's /healthz, /readyz and Prometheus /metrics, with controller-runtime's metric names."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from support.waiting import eventually

from herd.runtime import CONFIGMAP, Client, Controller, Manager, ObjectKey, Result

NS = "default"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_reconciles_as_objects_change(client: Client) -> None:
    async def reconcile(key: ObjectKey) -> Result:
        if key.name.startswith("fail") and "fixed" not in key.name:
            raise RuntimeError("failing on purpose")
        return Result(requeue_after=60) if key.name.startswith("later") else Result()

    manager = Manager(client, health_port=0)
    manager.add(Controller.builder("configmaps").for_(CONFIGMAP).with_concurrency(2).build(reconcile))
    task = asyncio.create_task(manager.run())
    assert manager.health is not None
    try:
        assert await manager.wait_leading(timeout=30)
        async with aiohttp.ClientSession(base_url=manager.health.url) as http:
            async def get(path: str) -> tuple[int, str]:
                async with http.get(path) as response:
                    return response.status, await response.text()

            assert await get("/healthz") == (200, "ok")
            assert await get("/readyz") == (200, "ok")
            status, verbose = await get("/readyz?verbose")
            assert status == 200 and "[+]informers-synced ok" in verbose

            async def value(metric: str, **labels: str) -> float:
                _, text = await get("/metrics")
                return samples(text).get((metric, tuple(sorted(labels.items()))), 0.0)

            success = ("controller_runtime_reconcile_total", {"controller": "configmaps", "result": "success"})
            before = await value(success[0], **success[1])
            for name in ("a", "b", "c"):
                await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": name, "namespace": NS}})

            async def moved_by(count: int) -> bool:
                return await value(success[0], **success[1]) >= before + count

            await eventually(lambda: moved_by(3), what="reconcile_total moved by the creations")
            await client.patch(CONFIGMAP, "a", {"data": {"x": "1"}}, namespace=NS)
            await eventually(lambda: moved_by(4), what="reconcile_total moved by the update")
            for name in ("fail", "later"):
                await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": name, "namespace": NS}})

            async def errors_and_requeues_counted() -> bool:
                return (await value("controller_runtime_reconcile_errors_total", controller="configmaps") >= 2
                        and await value("controller_runtime_reconcile_total", controller="configmaps",
                                        result="requeue_after") >= 1
                        and await value("workqueue_retries_total", name="configmaps") >= 2)

            await eventually(errors_and_requeues_counted, what="errors and requeues counted")
            _, text = await get("/metrics")
            found = samples(text)
            names = {name for name, _ in found}
            for expected in ("controller_runtime_reconcile_time_seconds_bucket", "controller_runtime_active_workers",
                             "workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds_bucket",
                             "workqueue_work_duration_seconds_bucket"):
                assert expected in names, expected
            assert found[("controller_runtime_max_concurrent_reconciles", (("controller", "configmaps"),))] == 2
            assert found[("workqueue_adds_total", (("name", "configmaps"),))] >= 5
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
