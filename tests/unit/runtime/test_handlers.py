"""Events become keys: the object itself (For), its controller owner (Owns), or mapped keys (Watches)."""

from __future__ import annotations

from typing import Any

from herd.api.cluster import MACHINE_SET
from herd.runtime.handlers import (
    GENERATION_CHANGED,
    EnqueueForObject,
    EnqueueForOwner,
    EnqueueMapped,
    PredicateFuncs,
)
from herd.runtime.objects import Kind, ObjectKey
from herd.runtime.workqueue import WorkQueue


def machine(name: str, owners: list[dict[str, Any]] | None = None, generation: int = 1,
            labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "generation": generation, "labels": labels or {},
                         "ownerReferences": owners or []}}


def owner(name: str, *, controller: bool = True, api_version: str = "cluster.x-k8s.io/v1beta1",
          kind: str = "MachineSet") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}", "controller": controller}


def drain(queue: WorkQueue[ObjectKey]) -> list[ObjectKey]:
    keys = list(queue._queue)
    queue._queue.clear()
    queue._dirty.clear()
    return keys


def test_for_enqueues_the_objects_own_key_on_every_event() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = EnqueueForObject(queue)
    handler.on_add(machine("a"))
    handler.on_update(machine("a"), machine("a", generation=2))
    handler.on_delete(machine("b"))
    assert drain(queue) == [ObjectKey("ns", "a"), ObjectKey("ns", "b")]


def test_owns_enqueues_the_controller_owner_of_the_matching_group_and_kind_in_any_version() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = EnqueueForOwner(queue, MACHINE_SET)
    handler.on_add(machine("m1", [owner("ms-1")]))
    handler.on_add(machine("m2", [owner("ms-2", controller=False)]))
    handler.on_add(machine("m3", [owner("md", kind="MachineDeployment")]))
    handler.on_add(machine("m4", [owner("x", api_version="other.io/v1")]))
    handler.on_add(machine("m5"))
    assert drain(queue) == [ObjectKey("ns", "ms-1")]


def test_owns_enqueues_old_and_new_owner_when_ownership_moves() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = EnqueueForOwner(queue, MACHINE_SET)
    handler.on_update(machine("m", [owner("old")]), machine("m", [owner("new")]))
    assert drain(queue) == [ObjectKey("ns", "old"), ObjectKey("ns", "new")]


def test_cluster_scoped_owners_get_keys_without_namespace() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    handler = EnqueueForOwner(queue, Kind("example.io/v1", "Global", "globals", namespaced=False))
    handler.on_add(machine("m", [owner("g", api_version="example.io/v1", kind="Global")]))
    assert drain(queue) == [ObjectKey("", "g")]


def test_watches_enqueues_what_the_map_function_returns() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()

    def to_cluster(obj: dict[str, Any]) -> list[ObjectKey]:
        name = obj["metadata"]["labels"].get("cluster")
        return [ObjectKey("ns", name)] if name else []

    handler = EnqueueMapped(queue, to_cluster)
    handler.on_add(machine("m1", labels={"cluster": "c1"}))
    handler.on_add(machine("m2"))
    handler.on_update(machine("m1", labels={"cluster": "c1"}), machine("m1", labels={"cluster": "c2"}))
    assert drain(queue) == [ObjectKey("ns", "c1"), ObjectKey("ns", "c2")]


def test_predicates_filter_events() -> None:
    queue: WorkQueue[ObjectKey] = WorkQueue()
    not_b = PredicateFuncs(on_create=lambda o: o["metadata"]["name"] != "b")
    handler = EnqueueForObject(queue, [GENERATION_CHANGED, not_b])
    handler.on_add(machine("a"))
    handler.on_add(machine("b"))
    handler.on_update(machine("c"), machine("c"))  # status-only change: same generation
    handler.on_update(machine("d"), machine("d", generation=2))
    assert drain(queue) == [ObjectKey("ns", "a"), ObjectKey("ns", "d")]
