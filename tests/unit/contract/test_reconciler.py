"""The shared reconcile skeleton, step by step, against a fake management cluster: what a controller built on it
writes (and does not write) for a missing object, a missing Cluster, a paused object, a first reconcile (the
finalizer first, in a write of its own), a failing phase (status still written), and deletion."""

from __future__ import annotations

import logging
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import pytest

from herd.api.cluster import CLUSTER, MACHINE_SET
from herd.apiserver.patch import merge_patch as apply_merge_patch
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Kind, Object, ObjectKey, Result
from herd.runtime.finalizers import remove_finalizer
from herd.runtime.patch import merge_patch

NS = "ns"
FINALIZER = "example.herd.dev/cleanup"


class FakeServer:
    """A client and a cache over one dict of objects; records each write as (verb, name, body)."""

    def __init__(self, *objects: Object) -> None:
        self.objects = {(o["kind"], o["metadata"]["name"]): deepcopy(o) for o in objects}
        self.writes: list[tuple[str, str, dict[str, Any]]] = []

    # cache
    def get(self, kind: Kind, namespace: str, name: str, *, copy: bool = True) -> Object | None:
        found = self.objects.get((kind.kind, name))
        return None if found is None else (deepcopy(found) if copy else found)

    # client
    async def patch(self, kind: Kind, name: str, body: dict[str, Any], *, namespace: str | None = None) -> Object:
        return self._write("patch", kind, name, body)

    async def patch_status(self, kind: Kind, name: str, body: dict[str, Any], *,
                           namespace: str | None = None) -> Object:
        return self._write("status", kind, name, body)

    def _write(self, verb: str, kind: Kind, name: str, body: dict[str, Any]) -> Object:
        body = {k: v for k, v in body.items() if k != "metadata" or v != {"resourceVersion": None}}
        self.writes.append((verb, name, body))
        stored = apply_merge_patch(self.objects[(kind.kind, name)], body)
        self.objects[(kind.kind, name)] = stored
        return deepcopy(stored)

    @property
    def client(self) -> FakeServer:
        return self

    @property
    def cache(self) -> FakeServer:
        return self


@dataclass
class Scope:
    obj: Object
    cluster: Object | None
    ran: list[str] = field(default_factory=list)


class Example(ObjectReconciler[Any, Scope]):
    """A controller on the skeleton: its phase marks the object, its status counts the runs."""

    kind = MACHINE_SET
    finalizer = FINALIZER
    log = logging.getLogger("tests.example")
    fail_with: Exception | None = None

    async def load_scope(self, obj: Object, cluster: Object | None) -> Scope:
        return Scope(obj, cluster)

    async def reconcile_normal(self, scope: Scope) -> Result:
        scope.ran.append("normal")
        if self.fail_with is not None:
            raise self.fail_with
        scope.obj.setdefault("metadata", {}).setdefault("labels", {})["reconciled"] = "yes"
        return Result(requeue_after=30)

    async def reconcile_delete(self, scope: Scope) -> None:
        scope.ran.append("delete")
        remove_finalizer(scope.obj, FINALIZER)

    def update_status(self, scope: Scope) -> float:
        scope.obj.setdefault("status", {})["runs"] = ",".join(scope.ran)
        return 5.0


def cluster(**spec: Any) -> Object:
    return {"apiVersion": CLUSTER.api_version, "kind": "Cluster", "metadata": {"name": "c1", "namespace": NS,
                                                                               "uid": "u-c1"}, "spec": spec}


def example(*, finalizers: list[str] | None = None, deleting: bool = False, **annotations: str) -> Object:
    meta: dict[str, Any] = {"name": "e1", "namespace": NS, "generation": 2, "annotations": annotations,
                            "finalizers": finalizers or []}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": MACHINE_SET.api_version, "kind": "MachineSet", "metadata": meta,
            "spec": {"clusterName": "c1"}}


KEY = ObjectKey(NS, "e1")


def conditions(obj: Object) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c.get("message", ""))
            for c in (obj.get("status") or {}).get("conditions") or []}


async def test_a_missing_object_is_let_go() -> None:
    server = FakeServer(cluster())
    assert await Example(server).reconcile(KEY) == Result()
    assert server.writes == []


async def test_a_missing_cluster_is_waited_for_without_a_write() -> None:
    server = FakeServer(example())
    assert await Example(server).reconcile(KEY) == Result(requeue_after=10.0)
    assert server.writes == []


async def test_a_paused_object_only_reports_paused() -> None:
    server = FakeServer(cluster(paused=True), example())
    assert await Example(server).reconcile(KEY) == Result()
    stored = server.objects[("MachineSet", "e1")]
    assert conditions(stored) == {"Paused": ("True", "Paused", "Cluster spec.paused is set to true")}
    assert FINALIZER not in stored["metadata"]["finalizers"], "nothing but the condition is written while paused"
    assert "observedGeneration" not in stored["status"], "a paused reconcile acted on no generation"


async def test_the_finalizer_is_written_alone_first_then_the_reconcile_carries_on() -> None:
    server = FakeServer(cluster(), example())
    result = await Example(server).reconcile(KEY)
    first_verb, _, first_body = server.writes[0]
    assert (first_verb, first_body) == ("patch", {"metadata": {"finalizers": [FINALIZER]}})
    stored = server.objects[("MachineSet", "e1")]
    assert stored["metadata"]["labels"] == {"reconciled": "yes"}
    assert stored["status"]["runs"] == "normal" and stored["status"]["observedGeneration"] == 2
    assert conditions(stored)["Paused"] == ("False", "NotPaused", "")
    assert result == Result(requeue_after=5.0), "the soonest of the phases' 30 s and the status' 5 s"


async def test_a_failing_phase_still_writes_the_status_and_raises() -> None:
    server = FakeServer(cluster(), example(finalizers=[FINALIZER]))
    reconciler = Example(server)
    reconciler.fail_with = RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        await reconciler.reconcile(KEY)
    stored = server.objects[("MachineSet", "e1")]
    assert stored["status"]["runs"] == "normal"
    assert "observedGeneration" not in stored["status"], "a failed reconcile has not observed the generation"


async def test_deletion_runs_the_delete_path_even_without_the_cluster() -> None:
    server = FakeServer(example(finalizers=[FINALIZER], deleting=True))
    await Example(server).reconcile(KEY)
    stored = server.objects[("MachineSet", "e1")]
    assert stored["metadata"]["finalizers"] == [] and stored["status"]["runs"] == "delete"


async def test_without_a_finalizer_deletion_is_not_reconciled() -> None:
    class NoFinalizer(Example):
        finalizer = ""

    server = FakeServer(cluster(), example(deleting=True))
    assert await NoFinalizer(server).reconcile(KEY) == Result()
    assert server.writes == []


def test_merge_patch_round_trip_of_the_fake() -> None:
    before = example()
    after = deepcopy(before)
    after["metadata"]["labels"] = {"a": "b"}
    assert apply_merge_patch(before, merge_patch(before, after)) == after
