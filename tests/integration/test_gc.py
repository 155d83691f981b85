"""Garbage collection in-process: owner deletion with each propagation policy, dangling and invalid owner
references, CRD-typed owners and dependents, conflicts, and resuming half-done work after a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import yaml
from support.inprocess import admin_server, until

from herd.apiserver.admission.base import AdmissionAttributes, NoAdmission
from herd.apiserver.builtins import BUILTIN_TYPES, CONFIGMAPS, CRDS, NAMESPACES, NODES
from herd.apiserver.controllers.gc import GC_USER
from herd.apiserver.deletion import FOREGROUND, delete_object, remove_finalizer
from herd.apiserver.errors import conflict
from herd.apiserver.objects import Objects, WriteOptions
from herd.apiserver.registry import Registry
from herd.apiserver.resources import ResourceType
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, SqliteBackend, Store

WIDGETS_CRD = Path(__file__).parents[1] / "e2e" / "manifests" / "widgets-crd.yaml"
HOLD = "example.com/hold"


async def settle(srv: APIServer, timeout: float = 10.0) -> None:
    """Wait until the collector has seen every write so far and has nothing queued (for "nothing happens")."""
    deadline = time.monotonic() + timeout
    while not srv.gc.idle(srv.store.revision):
        assert time.monotonic() < deadline, "the garbage collector did not settle"
        await asyncio.sleep(0.01)


def ref(owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    out = {k: owner[k] for k in ("apiVersion", "kind")}
    out.update(name=owner["metadata"]["name"], uid=owner["metadata"]["uid"])
    if block:
        out["blockOwnerDeletion"] = True
    return out


async def make(objects: Objects, name: str, *owners: dict[str, Any], ns: str = "default",
               rtype: ResourceType = CONFIGMAPS, finalizers: tuple[str, ...] = (), **body: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owners:
        meta["ownerReferences"] = list(owners)
    if finalizers:
        meta["finalizers"] = list(finalizers)
    result = await objects.create(rtype, ns if rtype.namespaced else "", {"metadata": meta, **body}, WriteOptions())
    return result.obj


def stored(store: Store, name: str, ns: str = "default", rtype: ResourceType = CONFIGMAPS) -> dict[str, Any] | None:
    rec = store.get(rtype.key(ns if rtype.namespaced else "", name))
    return rec.value if rec is not None else None


def owner_uids(obj: dict[str, Any] | None) -> list[str]:
    assert obj is not None
    return [r["uid"] for r in obj["metadata"].get("ownerReferences") or []]


async def delete(objects: Objects, name: str, policy: str, ns: str = "default",
                 rtype: ResourceType = CONFIGMAPS) -> None:
    await delete_object(objects, rtype, ns if rtype.namespaced else "", name, {"propagationPolicy": policy},
                        WriteOptions())


async def test_background_deletes_dependents_without_another_live_owner_and_cascades(server: APIServer) -> None:
    objects, store = server.objects, server.store
    owner = await make(objects, "owner")
    other = await make(objects, "other")
    child = await make(objects, "child", ref(owner))
    await make(objects, "grandchild", ref(child))
    await make(objects, "shared", ref(owner), ref(other))
    await delete(objects, "owner", "Background")
    assert stored(store, "owner") is None
    await until(store, lambda: stored(store, "child") is None and stored(store, "grandchild") is None)
    # a dependent with another live owner stays; the reference to the absent owner is removed
    await until(store, lambda: owner_uids(stored(store, "shared")) == [other["metadata"]["uid"]])


async def test_owner_waiting_on_finalizers_keeps_its_dependents_in_background_mode(server: APIServer) -> None:
    objects, store = server.objects, server.store
    owner = await make(objects, "owner", finalizers=(HOLD,))
    await make(objects, "child", ref(owner, block=True))
    await delete(objects, "owner", "Background")
    await settle(server)
    assert stored(store, "child") is not None  # the owner is still there (deleting): it is a solid owner
    await remove_finalizer(objects, CONFIGMAPS, "default", "owner", HOLD)
    await until(store, lambda: stored(store, "child") is None)


async def test_foreground_waits_for_blocking_dependents_then_deletes_the_owner(server: APIServer) -> None:
    objects, store = server.objects, server.store
    owner = await make(objects, "owner")
    other = await make(objects, "other")
    await make(objects, "blocker", ref(owner, block=True), finalizers=(HOLD,))
    await make(objects, "plain", ref(owner))
    await make(objects, "shared", ref(owner, block=True), ref(other))
    await delete(objects, "owner", "Foreground")

    def blocker_deleting() -> bool:
        blocker = stored(store, "blocker")
        return blocker is not None and bool(blocker["metadata"].get("deletionTimestamp"))

    await until(store, lambda: blocker_deleting() and stored(store, "plain") is None)
    await until(store, lambda: owner_uids(stored(store, "shared")) == [other["metadata"]["uid"]])
    await settle(server)
    waiting = stored(store, "owner")
    assert waiting is not None and FOREGROUND in waiting["metadata"]["finalizers"]
    await remove_finalizer(objects, CONFIGMAPS, "default", "blocker", HOLD)
    await until(store, lambda: stored(store, "owner") is None)
    assert stored(store, "shared") is not None


async def test_foreground_deletes_dependents_that_own_objects_in_foreground_too(server: APIServer) -> None:
    objects, store = server.objects, server.store
    owner = await make(objects, "owner")
    child = await make(objects, "child", ref(owner, block=True))
    await make(objects, "grandchild", ref(child, block=True), finalizers=(HOLD,))
    await delete(objects, "owner", "Foreground")

    def child_deleting_dependents() -> bool:
        found = stored(store, "child")
        return found is not None and FOREGROUND in (found["metadata"].get("finalizers") or [])

    await until(store, child_deleting_dependents)
    await settle(server)
    assert stored(store, "owner") is not None and stored(store, "child") is not None
    await remove_finalizer(objects, CONFIGMAPS, "default", "grandchild", HOLD)
    await until(store, lambda: all(stored(store, n) is None for n in ("owner", "child", "grandchild")))


async def test_orphan_removes_references_then_the_owner(server: APIServer) -> None:
    objects, store = server.objects, server.store
    owner = await make(objects, "owner")
    other = await make(objects, "other")
    await make(objects, "child", ref(owner, block=True))
    await make(objects, "shared", ref(owner), ref(other))
    await delete(objects, "owner", "Orphan")
    await until(store, lambda: stored(store, "owner") is None)
    child = stored(store, "child")
    assert child is not None and "ownerReferences" not in child["metadata"]
    assert owner_uids(stored(store, "shared")) == [other["metadata"]["uid"]]


async def test_references_to_owners_that_do_not_exist_are_dangling(server: APIServer) -> None:
    objects, store = server.objects, server.store
    real = await make(objects, "real")
    await make(objects, "no-such-uid", {**ref(real), "uid": "00000000-0000-0000-0000-000000000000"})
    await make(objects, "no-such-name", {**ref(real), "name": "missing"})
    await until(store, lambda: stored(store, "no-such-uid") is None and stored(store, "no-such-name") is None)
    assert stored(store, "real") is not None


async def test_namespaced_owners_are_only_found_in_the_dependents_namespace(server: APIServer) -> None:
    objects, store = server.objects, server.store
    await make(objects, "elsewhere", ns="default", rtype=NAMESPACES)  # a namespace called "elsewhere"
    owner = await make(objects, "owner")
    node = await make(objects, "node-1", rtype=NODES)
    await make(objects, "cross", ref(owner), ns="elsewhere")
    await make(objects, "cluster-owned", ref(node), ns="elsewhere")
    await until(store, lambda: stored(store, "cross", "elsewhere") is None)
    await settle(server)
    assert stored(store, "cluster-owned", "elsewhere") is not None  # cluster-scoped owners are fine
    await delete(objects, "node-1", "Background", rtype=NODES)
    await until(store, lambda: stored(store, "cluster-owned", "elsewhere") is None)


async def test_unresolvable_owner_references_leave_the_dependent_alone(server: APIServer) -> None:
    objects, store = server.objects, server.store
    bogus = {"apiVersion": "example.com/v1", "kind": "Gizmo", "name": "g", "uid": "u-1"}
    await make(objects, "unknown-kind", bogus)
    cm = await make(objects, "cm")
    await make(objects, "node-1", {**ref(cm), "uid": "u-2"}, rtype=NODES)  # cluster-scoped, namespaced owner
    await settle(server)
    assert stored(store, "unknown-kind") is not None
    assert stored(store, "node-1", rtype=NODES) is not None


async def test_custom_resources_as_dependents_and_owners(server: APIServer) -> None:
    objects, store = server.objects, server.store
    await objects.create(CRDS, "", yaml.safe_load(WIDGETS_CRD.read_text()), WriteOptions())
    widgets = server.registry.get("example.com", "v1", "widgets")
    assert widgets is not None
    owner = await make(objects, "owner")
    await make(objects, "w1", ref(owner), rtype=widgets, spec={"size": "small"})
    widget_owner = await make(objects, "w-owner", rtype=widgets, spec={"size": "large"})
    await make(objects, "owned-by-widget", ref(widget_owner))
    await delete(objects, "owner", "Background")
    await until(store, lambda: stored(store, "w1", rtype=widgets) is None)
    # removing the CRD removes its objects and then the type; their dependents still go
    await delete(objects, "widgets.example.com", "Background", rtype=CRDS)
    await until(store, lambda: stored(store, "owned-by-widget") is None)


class RefuseGCTwice(NoAdmission):
    """Refuses the collector's first two writes with a conflict, as a racing writer would cause."""

    def __init__(self) -> None:
        self.refused = 0

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if attrs.user == GC_USER and self.refused < 2:
            self.refused += 1
            raise conflict(attrs.rtype.group, attrs.rtype.plural, attrs.name, "the object has been modified")


async def test_write_conflicts_are_retried() -> None:
    admission = RefuseGCTwice()
    srv = admin_server(Store(MemoryBackend()), admission)
    await srv.start()
    try:
        owner = await make(srv.objects, "owner")
        await make(srv.objects, "child", ref(owner))
        await delete(srv.objects, "owner", "Background")
        await until(srv.store, lambda: stored(srv.store, "child") is None)
        assert admission.refused == 2
    finally:
        await srv.stop()


async def test_restart_finishes_half_done_work(tmp_path: Path) -> None:
    """State left by a server that stopped before collecting: the next one finishes every job."""
    db = tmp_path / "state.db"
    store = Store(SqliteBackend(db))
    await store.start()
    objects = Objects(store, Registry(BUILTIN_TYPES))  # no collector runs here
    await make(objects, "default", rtype=NAMESPACES)
    fg_owner = await make(objects, "fg-owner")
    await make(objects, "fg-child", ref(fg_owner, block=True))
    orphan_owner = await make(objects, "orphan-owner")
    await make(objects, "orphan-child", ref(orphan_owner))
    bg_owner = await make(objects, "bg-owner")
    await make(objects, "bg-child", ref(bg_owner))
    await delete(objects, "fg-owner", "Foreground")
    await delete(objects, "orphan-owner", "Orphan")
    await delete(objects, "bg-owner", "Background")
    await store.close()

    srv = admin_server(Store(SqliteBackend(db)))
    await srv.start()
    try:
        s = srv.store
        await until(s, lambda: all(stored(s, n) is None for n in ("fg-owner", "fg-child", "orphan-owner",
                                                                  "bg-child")))
        assert owner_uids(stored(s, "orphan-child")) == []
    finally:
        await srv.stop()


async def test_restart_while_the_owner_waits_for_a_blocking_dependent(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    srv = admin_server(Store(SqliteBackend(db)))
    await srv.start()
    owner = await make(srv.objects, "owner")
    await make(srv.objects, "blocker", ref(owner, block=True), finalizers=(HOLD,))
    await delete(srv.objects, "owner", "Foreground")
    await until(srv.store, lambda: bool((stored(srv.store, "blocker") or {})["metadata"].get("deletionTimestamp")))
    await srv.stop()

    srv = admin_server(Store(SqliteBackend(db)))
    await srv.start()
    try:
        await settle(srv)
        assert stored(srv.store, "owner") is not None
        await remove_finalizer(srv.objects, CONFIGMAPS, "default", "blocker", HOLD)
        await until(srv.store, lambda: stored(srv.store, "owner") is None)
    finally:
        await srv.stop()
