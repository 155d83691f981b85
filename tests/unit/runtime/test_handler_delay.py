"""Delayed watches gather a burst of events into one reconcile; NOT_ONLY_STATUS_CHANGED ignores status writes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from herd.api.cluster import MACHINE, MACHINE_SET
from herd.runtime.controller import Controller, Result
from herd.runtime.handlers import NOT_ONLY_STATUS_CHANGED, EnqueueForObject
from herd.runtime.informer import EventHandler
from herd.runtime.objects import ObjectKey
from herd.runtime.workqueue import WorkQueue

OWNER = ObjectKey("ns", "ms")


async def reconcile(key: ObjectKey) -> Result:
    return Result()


def machine(name: str, rv: int = 1, cluster: str = "c1") -> dict[str, Any]:
    return {"apiVersion": MACHINE.api_version, "kind": "Machine",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv),
                         "labels": {"cluster": cluster},
                         "ownerReferences": [{"apiVersion": MACHINE_SET.api_version, "kind": "MachineSet",
                                              "name": "ms", "uid": "uid-ms", "controller": True}]}}


def owns_handler(queue: WorkQueue[ObjectKey], delay: float) -> EventHandler:
    controller = Controller.builder("test").for_(MACHINE_SET).owns(MACHINE, delay=delay).build(reconcile)
    return controller.watches[1].handler(queue)


def watches_handler(queue: WorkQueue[ObjectKey], delay: float) -> EventHandler:
    def to_cluster(obj: dict[str, Any]) -> list[ObjectKey]:
        return [ObjectKey("ns", obj["metadata"]["labels"]["cluster"])]

    controller = Controller.builder("test").watches(MACHINE, to_cluster, delay=delay).build(reconcile)
    return controller.watches[0].handler(queue)


async def next_key(queue: WorkQueue[ObjectKey], timeout: float = 2.0) -> ObjectKey:
    return await asyncio.wait_for(queue.get(), timeout=timeout)


async def test_owned_events_within_the_delay_queue_the_owner_once_after_it() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = owns_handler(queue, delay=0.1)
    started = time.monotonic()
    handler.on_add(machine("m1"))
    handler.on_update(machine("m1", 1), machine("m1", 2))
    handler.on_add(machine("m2"))
    handler.on_delete(machine("m3"))
    assert len(queue) == 0 and queue.waiting == 1, "nothing is ready before the delay"
    assert await next_key(queue) == OWNER
    assert time.monotonic() - started >= 0.09
    queue.done(OWNER)
    assert len(queue) == 0 and queue.waiting == 0
    assert queue.idle


async def test_mapped_events_within_the_delay_queue_each_key_once_after_it() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = watches_handler(queue, delay=0.05)
    handler.on_add(machine("m1", cluster="c1"))
    handler.on_add(machine("m2", cluster="c2"))
    handler.on_update(machine("m1", 1, cluster="c1"), machine("m1", 2, cluster="c1"))
    handler.on_add(machine("m3", cluster="c2"))
    assert len(queue) == 0 and queue.waiting == 2
    keys = {await next_key(queue), await next_key(queue)}
    assert keys == {ObjectKey("ns", "c1"), ObjectKey("ns", "c2")}
    assert len(queue) == 0 and queue.waiting == 0


async def test_the_delay_counts_from_the_first_event_and_later_events_do_not_push_it_back() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = owns_handler(queue, delay=0.4)
    started = time.monotonic()
    handler.on_add(machine("m1"))
    await asyncio.sleep(0.2)
    handler.on_add(machine("m2"))
    assert await next_key(queue) == OWNER
    assert time.monotonic() - started < 0.58, "the second event would have moved it to 0.6 s"


async def test_an_event_after_the_delayed_key_was_handed_out_queues_it_again() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = owns_handler(queue, delay=0.02)
    handler.on_add(machine("m1"))
    assert await next_key(queue) == OWNER
    queue.done(OWNER)
    handler.on_add(machine("m2"))
    assert queue.waiting == 1
    assert await next_key(queue) == OWNER


@pytest.mark.parametrize("make_handler", [owns_handler, watches_handler])
async def test_without_a_delay_events_queue_at_once(make_handler: Any) -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = make_handler(queue, 0.0)
    handler.on_add(machine("m1"))
    handler.on_add(machine("m2"))
    assert len(queue) == 1 and queue.waiting == 0


def changed(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An object before and after: `changes` maps "metadata.x", "spec.x", "status.x" or "x" to a new value."""
    old: dict[str, Any] = {"apiVersion": MACHINE.api_version, "kind": "Machine",
                           "metadata": {"name": "m", "namespace": "ns", "resourceVersion": "1", "generation": 1,
                                        "labels": {"a": "1"}, "managedFields": [{"manager": "herd"}]},
                           "spec": {"clusterName": "c"}, "status": {"phase": "Pending"}}
    new: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in old.items()}
    for path, value in changes.items():
        section, _, field = path.rpartition("__")
        if section:
            new[section][field] = value
        else:
            new[field] = value
    return old, new


@pytest.mark.parametrize(("changes", "passes"), [
    ({"metadata__labels": {"a": "2"}}, True),
    ({"metadata__annotations": {"x": "y"}}, True),
    ({"metadata__finalizers": ["f"]}, True),
    ({"metadata__deletionTimestamp": "2025-01-01T00:00:00Z"}, True),
    ({"metadata__ownerReferences": [{"kind": "MachineSet", "name": "ms"}]}, True),
    ({"spec__clusterName": "d", "metadata__generation": 2}, True),
    ({"spec__clusterName": "d"}, True),
    ({"data": {"k": "v"}}, True),  # any top-level field other than metadata and status
    ({"status__phase": "Running"}, False),
    ({"status__phase": "Running", "metadata__resourceVersion": "2"}, False),
    ({"metadata__resourceVersion": "2"}, False),
    ({"metadata__managedFields": [{"manager": "other"}]}, False),
    ({}, False),
])
def test_not_only_status_changed(changes: dict[str, Any], passes: bool) -> None:
    old, new = changed(**changes)
    assert NOT_ONLY_STATUS_CHANGED.update(old, new) is passes


def test_not_only_status_changed_lets_creates_and_deletes_through() -> None:
    old, _ = changed()
    assert NOT_ONLY_STATUS_CHANGED.create(old) and NOT_ONLY_STATUS_CHANGED.delete(old)


async def test_a_handler_with_not_only_status_changed_ignores_status_writes() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = EnqueueForObject(queue, [NOT_ONLY_STATUS_CHANGED])
    handler.on_update(*changed(status__phase="Running", metadata__resourceVersion="2"))
    assert len(queue) == 0
    handler.on_update(*changed(metadata__labels={"a": "2"}, metadata__resourceVersion="2"))
    assert len(queue) == 1 and await next_key(queue) == ObjectKey("ns", "m")
