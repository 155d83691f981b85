"""The runtime client against `herd serve`: unstructured CRUD, patches, status, discovery, typed errors."""

from __future__ import annotations

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
from herd.runtime.errors import ApiError


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


async def test_server_side_apply_errors_are_reported_if_the_server_lacks_it(client: Client) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": "default"},
           "data": {"a": "1"}}
    try:
        applied = await client.apply(obj)
    except ApiError as exc:
        assert exc.code == 415  # herd serve does not do server-side apply yet
    else:
        assert applied["data"] == {"a": "1"}
