"""Namespace deletion in-process: content removal across resource types, status conditions while content
with finalizers remains, other spec finalizers, the HTTP DELETE and /finalize paths, and resume at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import yaml
from support.inprocess import admin_server, until

from herd.apiserver.builtins import BUILTIN_TYPES, CONFIGMAPS, CRDS, NAMESPACES, SECRETS
from herd.apiserver.controllers.namespaces import ContentReport, updated_conditions
from herd.apiserver.deletion import delete_object, remove_finalizer
from herd.apiserver.objects import Objects, WriteOptions
from herd.apiserver.registry import Registry
from herd.apiserver.resources import ResourceType
from herd.apiserver.server import APIServer
from herd.apiserver.storage import SqliteBackend, Store

WIDGETS_CRD = Path(__file__).parents[1] / "e2e" / "manifests" / "widgets-crd.yaml"
HOLD = "example.com/hold"


async def make(objects: Objects, rtype: ResourceType, ns: str, name: str, **body: Any) -> dict[str, Any]:
    meta = {"name": name, **body.pop("metadata", {})}
    result = await objects.create(rtype, ns if rtype.namespaced else "", {"metadata": meta, **body}, WriteOptions())
    return result.obj


def stored(store: Store, rtype: ResourceType, ns: str, name: str) -> dict[str, Any] | None:
    rec = store.get(rtype.key(ns if rtype.namespaced else "", name))
    return rec.value if rec is not None else None


def namespace(store: Store, name: str) -> dict[str, Any] | None:
    return stored(store, NAMESPACES, "", name)


def condition(ns: dict[str, Any] | None, ctype: str) -> dict[str, Any]:
    assert ns is not None
    return next((c for c in ns.get("status", {}).get("conditions") or [] if c["type"] == ctype), {})


async def test_deleting_a_namespace_removes_all_its_content_and_then_the_namespace(server: APIServer) -> None:
    objects, store = server.objects, server.store
    await objects.create(CRDS, "", yaml.safe_load(WIDGETS_CRD.read_text()), WriteOptions())
    widgets = server.registry.get("example.com", "v1", "widgets")
    assert widgets is not None
    await make(objects, NAMESPACES, "", "doomed")
    for i in range(5):
        await make(objects, CONFIGMAPS, "doomed", f"cm-{i}")
    await make(objects, SECRETS, "doomed", "secret", stringData={"k": "v"})
    await make(objects, widgets, "doomed", "w", spec={"size": "small"})
    kept = await make(objects, CONFIGMAPS, "default", "kept")
    await delete_object(objects, NAMESPACES, "", "doomed", {}, WriteOptions())
    await until(store, lambda: namespace(store, "doomed") is None)
    assert store.list("/registry/core/configmaps/doomed/")[0] == []
    assert stored(store, SECRETS, "doomed", "secret") is None
    assert stored(store, widgets, "doomed", "w") is None
    assert stored(store, CONFIGMAPS, "default", "kept") == kept | {"apiVersion": "v1", "kind": "ConfigMap"}


async def test_content_with_finalizers_holds_the_namespace_and_is_reported(server: APIServer) -> None:
    objects, store = server.objects, server.store
    await make(objects, NAMESPACES, "", "held")
    await make(objects, CONFIGMAPS, "held", "stuck", metadata={"finalizers": [HOLD]})
    await make(objects, CONFIGMAPS, "held", "free")
    await delete_object(objects, NAMESPACES, "", "held", {}, WriteOptions())

    def reported() -> bool:
        return condition(namespace(store, "held"), "NamespaceFinalizersRemaining").get("status") == "True"

    await until(store, reported)
    ns = namespace(store, "held")
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    assert stored(store, CONFIGMAPS, "held", "free") is None
    remaining = condition(ns, "NamespaceContentRemaining")
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == "Some resources are remaining: configmaps. has 1 resource instances"
    finalizers = condition(ns, "NamespaceFinalizersRemaining")
    assert finalizers["reason"] == "SomeFinalizersRemain"
    assert finalizers["message"] == (
        f"Some content in the namespace has finalizers remaining: {HOLD} in 1 resource instances")
    assert condition(ns, "NamespaceDeletionContentFailure")["status"] == "False"
    assert condition(ns, "NamespaceDeletionDiscoveryFailure")["reason"] == "ResourcesDiscovered"
    await remove_finalizer(objects, CONFIGMAPS, "held", "stuck", HOLD)
    await until(store, lambda: namespace(store, "held") is None)


async def test_other_spec_finalizers_keep_the_namespace_until_finalized_over_http(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    store = server.store
    await make(server.objects, NAMESPACES, "", "custom", spec={"finalizers": ["example.com/external"]})
    await make(server.objects, CONFIGMAPS, "custom", "cm")
    async with http.delete("/api/v1/namespaces/custom") as response:
        assert response.status == 200
        body = await response.json()
        assert body["status"]["phase"] == "Terminating"

    def only_external_left() -> bool:
        ns = namespace(store, "custom")
        return ns is not None and ns["spec"]["finalizers"] == ["example.com/external"]

    await until(store, only_external_left)
    assert stored(store, CONFIGMAPS, "custom", "cm") is None
    assert condition(namespace(store, "custom"), "NamespaceContentRemaining")["reason"] == "ContentRemoved"
    async with http.get("/api/v1/namespaces/custom") as response:
        current = await response.json()
    current["spec"]["finalizers"] = []
    async with http.put("/api/v1/namespaces/custom/finalize", json=current) as response:
        assert response.status == 200, await response.text()
    assert namespace(store, "custom") is None
    async with http.get("/api/v1/namespaces/custom") as response:
        assert response.status == 404


async def test_new_content_is_refused_while_terminating(server: APIServer, http: aiohttp.ClientSession) -> None:
    objects, store = server.objects, server.store
    await make(objects, NAMESPACES, "", "closing")
    await make(objects, CONFIGMAPS, "closing", "stuck", metadata={"finalizers": [HOLD]})
    await delete_object(objects, NAMESPACES, "", "closing", {}, WriteOptions())
    async with http.post("/api/v1/namespaces/closing/configmaps", json={"metadata": {"name": "late"}}) as response:
        assert response.status == 403
    await remove_finalizer(objects, CONFIGMAPS, "closing", "stuck", HOLD)
    await until(store, lambda: namespace(store, "closing") is None)


async def test_terminating_namespaces_are_finished_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(SqliteBackend(db))
    await store.start()
    objects = Objects(store, Registry(BUILTIN_TYPES))  # no namespace controller runs here
    await make(objects, NAMESPACES, "", "left-behind")
    await make(objects, CONFIGMAPS, "left-behind", "cm")
    await delete_object(objects, NAMESPACES, "", "left-behind", {}, WriteOptions())
    await store.close()

    srv = admin_server(Store(SqliteBackend(db)))
    await srv.start()
    try:
        await until(srv.store, lambda: namespace(srv.store, "left-behind") is None)
        assert stored(srv.store, CONFIGMAPS, "left-behind", "cm") is None
    finally:
        await srv.stop()


def test_conditions_keep_their_transition_time_while_their_status_holds() -> None:
    first = updated_conditions([{"type": "Other", "status": "True"}], ContentReport(), "T1")
    assert [c["type"] for c in first] == [
        "Other", "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining"]
    report = ContentReport()
    report.remaining["configmaps."] = 2
    second = updated_conditions(first, report, "T2")
    content = next(c for c in second if c["type"] == "NamespaceContentRemaining")
    assert (content["status"], content["lastTransitionTime"]) == ("True", "T2")
    assert all(c.get("lastTransitionTime") == "T1" for c in second if c["type"] not in ("Other",
                                                                                      "NamespaceContentRemaining"))
    report.remaining["configmaps."] = 1
    third = updated_conditions(second, report, "T3")
    content = next(c for c in third if c["type"] == "NamespaceContentRemaining")
    assert content["lastTransitionTime"] == "T2" and "1 resource instances" in content["message"]
