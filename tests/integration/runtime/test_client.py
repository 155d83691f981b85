"""The runtime client against `herd serve`: unstructured CRUD, patches, server-side apply, status, discovery, typed
errors."""

from __future__ import annotations

from typing import Any

import pytest
from support.waiting import eventually
from support.widgets import GROUP, WIDGET_CRD, widget

from herd.runtime import (
    CONFIGMAP,
    CRD,
    AlreadyExists,
    Client,
    Conflict,
    Invalid,
    Kind,
    NotFound,
)


async def install_widgets(client: Client) -> Kind:
    await client.create(WIDGET_CRD, kind=CRD)

    async def served() -> bool:
        try:
            await client.mapper.kind_for(f"{GROUP}/v1", "Widget")
        except NotFound:
            return False
        return True

    await eventually(served, what="Widget served")
    return await client.mapper.kind_for(f"{GROUP}/v1", "Widget")


async def test_configmaps_round_trip_as_plain_dicts(client: Client) -> None:
    created = await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}})
    assert type(created) is dict and created["metadata"]["uid"]
    fetched = await client.get(CONFIGMAP, "a", "default")
    assert fetched["data"] == {"k": "v"} and type(fetched) is dict
    fetched["data"]["k"] = "v2"
    updated = await client.update(fetched)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    listed = await client.list(CONFIGMAP, namespace="default")
    assert [o["metadata"]["name"] for o in listed.items] == ["a"]
    assert int(listed.resource_version) >= int(updated["metadata"]["resourceVersion"])
    await client.delete(CONFIGMAP, "a", "default")
    with pytest.raises(NotFound):
        await client.get(CONFIGMAP, "a", "default")


async def test_errors_are_typed(client: Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "default"}}
    first = await client.create(cm)
    with pytest.raises(AlreadyExists):
        await client.create(cm)
    await client.patch(CONFIGMAP, "b", {"data": {"x": "1"}}, namespace="default")
    with pytest.raises(Conflict):
        await client.update(first)  # stale resourceVersion
    with pytest.raises(NotFound):
        await client.delete(CONFIGMAP, "nope", "default")
    with pytest.raises(ValueError):
        await client.get(CONFIGMAP, "b")  # namespaced kinds need a namespace


async def test_merge_and_json_patches(client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": "default"},
                         "data": {"a": "1", "b": "2"}})
    merged = await client.patch(CONFIGMAP, "p", {"data": {"a": None, "c": "3"}}, namespace="default")
    assert merged["data"] == {"b": "2", "c": "3"}
    patched = await client.patch(CONFIGMAP, "p", [{"op": "replace", "path": "/data/b", "value": "20"}],
                                 namespace="default", patch_type="json")
    assert patched["data"] == {"b": "20", "c": "3"}


async def test_custom_resources_with_status_subresource_and_validation(client: Client) -> None:
    widgets = await install_widgets(client)
    assert widgets.plural == "widgets" and widgets.namespaced and widgets.status_subresource
    created = await client.create(widget("w", size=1))
    assert created["metadata"]["generation"] == 1
    # status through the subresource leaves the spec (and generation) alone
    created["status"] = {"phase": "Ready"}
    status_updated = await client.update_status(created)
    assert status_updated["status"] == {"phase": "Ready"} and status_updated["metadata"]["generation"] == 1
    patched = await client.patch_status(widgets, "w", {"status": {"observedGeneration": 1}}, namespace="default")
    assert patched["status"] == {"phase": "Ready", "observedGeneration": 1}
    spec_patched = await client.patch(widgets, "w", {"spec": {"size": 2}, "status": {"phase": "Ignored"}},
                                      namespace="default")
    assert spec_patched["metadata"]["generation"] == 2 and spec_patched["status"]["phase"] == "Ready"
    with pytest.raises(Invalid) as refused:
        await client.create(widget("bad", size=-1))
    assert refused.value.causes and "spec.size" in refused.value.causes[0].field


async def test_discovery_knows_builtins_and_reports_unknown_kinds(client: Client) -> None:
    lease = await client.mapper.kind_for("coordination.k8s.io/v1", "Lease")
    assert lease.plural == "leases" and lease.namespaced
    namespace = await client.kind_of({"apiVersion": "v1", "kind": "Namespace"})
    assert not namespace.namespaced
    with pytest.raises(NotFound):
        await client.mapper.kind_for("nothing.example.com/v1", "Thing")


def config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": data}


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field manager's managedFields entry, with the data keys it owns."""
    return {entry["manager"]: {"operation": entry["operation"], "keys": sorted(entry["fieldsV1"].get("f:data", {}))}
            for entry in obj["metadata"]["managedFields"]}


async def test_server_side_apply_creates_updates_and_reports_conflicts(client: Client) -> None:
    created = await client.apply(config_map("ssa", {"a": "1"}), field_manager="alice")
    assert created["data"] == {"a": "1"}
    assert managers(created) == {"alice": {"operation": "Apply", "keys": ["f:a"]}}
    updated = await client.apply(config_map("ssa", {"a": "1", "b": "2"}), field_manager="alice")
    assert updated["data"] == {"a": "1", "b": "2"}
    assert managers(updated) == {"alice": {"operation": "Apply", "keys": ["f:a", "f:b"]}}
    # another manager setting a field alice owns to another value is refused, naming the field and its owner
    with pytest.raises(Conflict) as refused:
        await client.apply(config_map("ssa", {"a": "changed"}), field_manager="bob")
    assert [(c.reason, c.field) for c in refused.value.causes] == [("FieldManagerConflict", ".data.a")]
    assert 'conflict with "alice"' in refused.value.causes[0].message
    assert (await client.get(CONFIGMAP, "ssa", "default"))["data"] == {"a": "1", "b": "2"}
    # forced, bob takes the field over; what alice still owns stays hers
    forced = await client.apply(config_map("ssa", {"a": "changed"}), field_manager="bob", force=True)
    assert forced["data"] == {"a": "changed", "b": "2"}
    assert managers(forced) == {"alice": {"operation": "Apply", "keys": ["f:b"]},
                                "bob": {"operation": "Apply", "keys": ["f:a"]}}
    # a field its manager no longer applies, and nobody else owns, is removed
    dropped = await client.apply(config_map("ssa", {}), field_manager="alice")
    assert dropped["data"] == {"a": "changed"}
