"""Controllers on a manager against `herd serve`: dedup, retries with backoff, Owns/Watches, patch helper."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

import pytest
from support.manager import running
from support.waiting import eventually
from support.widgets import GROUP, WIDGET_CRD, widget

from herd.runtime import (
    CONFIGMAP,
    CRD,
    SECRET,
    Client,
    Controller,
    FuncHandler,
    Kind,
    Manager,
    NotFound,
    ObjectKey,
    Result,
    conditions,
    owner_reference,
    patch_helper,
)

NS = "default"


async def install_widgets(client: Client) -> Kind:
    await client.create(WIDGET_CRD, kind=CRD)

    async def served() -> bool:
        with contextlib.suppress(NotFound):
            await client.mapper.kind_for(f"{GROUP}/v1", "Widget")
            return True
        return False

    await eventually(served, what="Widget served")
    return await client.mapper.kind_for(f"{GROUP}/v1", "Widget")


async def test_a_burst_of_1000_events_on_one_key_leads_to_at_most_2_reconciles(client: Client) -> None:
    busy = asyncio.Event()
    release = asyncio.Event()
    reconciles: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> Result:
        reconciles.append(key)
        if len(reconciles) == 2:  # the first reconcile the burst causes is still running when the burst ends
            busy.set()
            await release.wait()
        return Result()

    manager = Manager(client, health_port=None)
    manager.add(Controller.builder("burst").for_(CONFIGMAP).with_concurrency(4).build(reconcile))
    notifications = 0

    def count(old: dict[str, Any], new: dict[str, Any]) -> None:
        nonlocal notifications
        notifications += 1

    manager.cache.informer(CONFIGMAP).add_handler(FuncHandler(update=count))
    async with running(manager, timeout=30):
        created = await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "hot", "namespace": NS}, "data": {"n": "0"}})
        await eventually(lambda: len(reconciles) == 1 and manager.controllers[0].queue.idle)
        last_rv = int(created["metadata"]["resourceVersion"])
        for i in range(1, 1001):
            patched = await client.patch(CONFIGMAP, "hot", {"data": {"n": str(i)}}, namespace=NS)
            last_rv = int(patched["metadata"]["resourceVersion"])
        informer = manager.cache.informer(CONFIGMAP)
        await eventually(lambda: int(informer.resource_version or 0) >= last_rv, what="burst delivered")
        assert notifications == 1000 and busy.is_set()
        release.set()
        assert await manager.controllers[0].queue.wait_idle(timeout=10)
        assert len(reconciles) - 1 <= 2, f"{len(reconciles) - 1} reconciles for a burst of 1000 events"
        assert set(reconciles) == {ObjectKey(NS, "hot")}


async def test_a_failing_reconcile_is_retried_with_growing_delays(client: Client) -> None:
    attempts: list[float] = []

    async def reconcile(key: ObjectKey) -> Result:
        attempts.append(time.monotonic())
        if len(attempts) <= 7:
            raise RuntimeError(f"failure {len(attempts)}")
        return Result()

    manager = Manager(client, health_port=None)
    controller = Controller.builder("flaky").for_(CONFIGMAP).build(reconcile)
    manager.add(controller)
    async with running(manager, timeout=30):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flaky", "namespace": NS}})
        await eventually(lambda: len(attempts) == 8 and controller.queue.idle, timeout=20)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    expected = [0.005 * 2**i for i in range(7)]  # 5 ms doubling: 5, 10, 20, 40, 80, 160, 320 ms
    for want, got in zip(expected, gaps, strict=True):
        assert got >= want * 0.9, f"gaps {gaps}"
    assert gaps[-1] > gaps[-3] > gaps[-5], f"gaps grow: {gaps}"
    assert controller.queue.num_requeues(ObjectKey(NS, "flaky")) == 0, "success forgets the failures"


async def test_owned_and_watched_objects_enqueue_their_owner_and_mapped_keys(client: Client) -> None:
    widgets = await install_widgets(client)
    seen: list[ObjectKey] = []

    async def reconcile(key: ObjectKey) -> Result:
        seen.append(key)
        return Result()

    def secret_to_widget(obj: dict[str, Any]) -> list[ObjectKey]:
        name = (obj["metadata"].get("labels") or {}).get("widget")
        return [ObjectKey(obj["metadata"]["namespace"], name)] if name else []

    manager = Manager(client, health_port=None)
    controller = (Controller.builder("widget").for_(widgets).owns(CONFIGMAP)
                  .watches(SECRET, secret_to_widget).build(reconcile))
    manager.add(controller)
    async with running(manager, timeout=30):
        owner = await client.create(widget("w1", size=1))
        await eventually(lambda: seen.count(ObjectKey(NS, "w1")) == 1 and controller.queue.idle)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "w1-data", "namespace": NS, "ownerReferences": [owner_reference(owner)]}})
        await eventually(lambda: seen.count(ObjectKey(NS, "w1")) == 2 and controller.queue.idle)
        await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "w1-secret", "namespace": NS, "labels": {"widget": "w1"}}})
        await eventually(lambda: seen.count(ObjectKey(NS, "w1")) == 3 and controller.queue.idle)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "orphan", "namespace": NS}})
        await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": NS}})
        await client.patch(widgets, "w1", {"spec": {"size": 2}}, namespace=NS)
        await eventually(lambda: seen.count(ObjectKey(NS, "w1")) == 4 and controller.queue.idle)
    assert set(seen) == {ObjectKey(NS, "w1")}, "unowned and unlabelled objects enqueue nothing"


async def test_a_reconciler_reads_the_cache_and_writes_through_the_patch_helper(client: Client) -> None:
    widgets = await install_widgets(client)

    class WidgetReconciler:
        def __init__(self, manager: Manager) -> None:
            self.manager = manager

        async def reconcile(self, key: ObjectKey) -> Result:
            obj = self.manager.cache.get(widgets, key.namespace, key.name)
            if obj is None:
                return Result()
            async with patch_helper(client, obj, kind=widgets) as w:
                w["metadata"].setdefault("labels", {})["size"] = str(w["spec"].get("size", 0))
                ready = w["spec"].get("color") == "green"
                conditions.set_condition(w, "Ready", ready, "Green" if ready else "NotGreen")
            return Result()

    manager = Manager(client, health_port=None)
    manager.add(Controller.builder("widget").for_(widgets).build(WidgetReconciler(manager)))
    async with running(manager, timeout=30):
        await client.create(widget("w", size=3, color="red"))

        async def reconciled(generation: int, ready: str) -> bool:
            current = await client.get(widgets, "w", NS)
            status = current.get("status") or {}
            return (current["metadata"]["generation"] == generation and status.get("observedGeneration") == generation
                    and (conditions.get_condition(current, "Ready") or {}).get("status") == ready)

        await eventually(lambda: reconciled(1, "False"), what="first reconcile written")
        first = await client.get(widgets, "w", NS)
        assert first["metadata"]["labels"] == {"size": "3"}
        transition = conditions.get_condition(first, "Ready")["lastTransitionTime"]  # type: ignore[index]
        await client.patch(widgets, "w", {"spec": {"color": "green", "size": 4}}, namespace=NS)
        await eventually(lambda: reconciled(2, "True"), what="spec change observed")
        second = await client.get(widgets, "w", NS)
        assert second["metadata"]["labels"] == {"size": "4"}
        assert conditions.get_condition(second, "Ready")["reason"] == "Green"  # type: ignore[index]
        assert transition  # the first transition was recorded


@pytest.mark.parametrize("workers", [1, 8])
async def test_every_object_is_reconciled_once_its_events_are_processed(client: Client, workers: int) -> None:
    seen: set[str] = set()

    async def reconcile(key: ObjectKey) -> Result:
        seen.add(key.name)
        return Result()

    manager = Manager(client, health_port=None)
    controller = Controller.builder("all").for_(CONFIGMAP).with_concurrency(workers).build(reconcile)
    manager.add(controller)
    for i in range(20):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": f"pre-{i}", "namespace": NS}})
    async with running(manager, timeout=30):
        for i in range(20):
            await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": f"post-{i}", "namespace": NS}})
        await eventually(lambda: {f"pre-{i}" for i in range(20)} | {f"post-{i}" for i in range(20)} <= seen)
