"""Server-side apply over HTTP as kube-apiserver answers it: apply-create, conflicts, force, field removal,
managedFields on every write, dry runs, the status subresource, and custom resources' list strategies."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
APPLY = "application/apply-patch+yaml"
GROUP = "ssa.herd.dev"
FLEETS = f"/apis/{GROUP}/v1/namespaces/default/fleets"
FLEET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"fleets.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": "fleets", "singular": "fleet", "kind": "Fleet", "listKind": "FleetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {
                                   "replicas": {"type": "integer"},
                                   "pools": {"type": "array", "x-kubernetes-list-type": "map",
                                             "x-kubernetes-list-map-keys": ["name"],
                                             "items": {"type": "object", "required": ["name"], "properties": {
                                                 "name": {"type": "string"}, "size": {"type": "integer"},
                                                 "zone": {"type": "string"}}}},
                                   "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                            "items": {"type": "string"}},
                                   "args": {"type": "array", "items": {"type": "string"}},
                                   "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                                "additionalProperties": {"type": "string"}}}},
                               "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}}}}}]}}


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, *,
               content_type: str = "application/json", headers: dict[str, str] | None = None,
               ) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body)
    async with http.request(method, path, data=data,
                            headers={"Content-Type": content_type, **(headers or {})}) as response:
        return response.status, await response.json()


async def apply(http: aiohttp.ClientSession, path: str, body: dict[str, Any], manager: str | None,
                **query: str) -> tuple[int, dict[str, Any]]:
    params = {"fieldManager": manager, **query} if manager is not None else query
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return await call(http, "PATCH", url, body, content_type=APPLY)


def configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": data}


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


async def test_apply_creates_then_updates_and_records_the_applier(http: aiohttp.ClientSession) -> None:
    code, created = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1"}), "alice")
    assert code == 201, created
    [entry] = created["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "alice", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}}} and entry["time"].endswith("Z")

    code, updated = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "2"}), "alice")
    assert (code, updated["data"]) == (200, {"a": "2"})


async def test_a_second_manager_conflicts_naming_field_and_owner_until_it_forces(
        http: aiohttp.ClientSession) -> None:
    await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1", "b": "1"}), "alice")
    code, refused = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "9"}), "bob")
    assert (code, refused["reason"]) == (409, "Conflict")
    assert refused["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.a'
    assert refused["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".data.a"}]

    # the same value is no conflict: both own the field
    code, shared = await apply(http, f"{CONFIGMAPS}/cm", configmap({"b": "1"}), "bob")
    assert code == 200 and managers(shared)[("bob", "Apply")] == {"f:data": {"f:b": {}}}

    code, forced = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "9"}), "bob", force="true")
    assert (code, forced["data"]) == (200, {"a": "9", "b": "1"})
    owners = managers(forced)
    assert owners[("bob", "Apply")] == {"f:data": {"f:a": {}}}
    assert owners[("alice", "Apply")] == {"f:data": {"f:b": {}}}


async def test_fields_an_applier_stops_sending_are_removed_unless_someone_else_owns_them(
        http: aiohttp.ClientSession) -> None:
    await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1", "b": "1", "c": "1"}), "alice")
    await apply(http, f"{CONFIGMAPS}/cm", configmap({"c": "1"}), "bob")
    code, applied = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1"}), "alice")
    assert (code, applied["data"]) == (200, {"a": "1", "c": "1"})


async def test_apply_needs_a_field_manager_and_force_is_for_apply_only(http: aiohttp.ClientSession) -> None:
    code, refused = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1"}), None)
    assert (code, refused["reason"]) == (422, "Invalid")
    assert refused["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                  "is required for apply patch")
    await call(http, "POST", CONFIGMAPS, configmap({"a": "1"}))
    code, refused = await call(http, "PATCH", f"{CONFIGMAPS}/cm?force=true", {"data": {"a": "2"}},
                               content_type="application/merge-patch+json")
    assert (code, refused["details"]["causes"][0]["field"]) == (422, "force")
    code, refused = await apply(http, f"{CONFIGMAPS}/cm", {**configmap({}), "metadata": {
        "name": "cm", "managedFields": [{"manager": "x"}]}}, "alice")
    assert (code, refused["message"]) == (400, "metadata.managedFields must be nil")


async def test_every_write_records_its_manager_from_field_manager_or_user_agent(
        http: aiohttp.ClientSession) -> None:
    code, created = await call(http, "POST", CONFIGMAPS, configmap({"a": "1"}),
                               headers={"User-Agent": "kubectl/v1.33.0 (linux/amd64) kubernetes/abc"})
    assert code == 201
    assert managers(created) == {("kubectl", "Update"): {"f:data": {".": {}, "f:a": {}}}}

    code, patched = await call(http, "PATCH", f"{CONFIGMAPS}/cm?fieldManager=editor", {"data": {"a": "2", "b": "2"}},
                               content_type="application/merge-patch+json")
    assert code == 200
    # the editor took data.a from kubectl and added data.b; kubectl keeps only the map itself
    assert managers(patched) == {("kubectl", "Update"): {"f:data": {}},
                                 ("editor", "Update"): {"f:data": {"f:a": {}, "f:b": {}}}}

    # a PUT without managedFields keeps them; one with [] clears them
    patched["data"]["c"] = "3"
    del patched["metadata"]["managedFields"]
    code, updated = await call(http, "PUT", f"{CONFIGMAPS}/cm?fieldManager=editor", patched)
    assert managers(updated)[("editor", "Update")] == {"f:data": {"f:a": {}, "f:b": {}, "f:c": {}}}
    updated["metadata"]["managedFields"] = []
    code, cleared = await call(http, "PUT", f"{CONFIGMAPS}/cm", updated)
    assert code == 200 and "managedFields" not in cleared["metadata"]


async def test_invalid_managed_fields_from_a_client_are_replaced_by_the_stored_ones(
        http: aiohttp.ClientSession) -> None:
    _, created = await call(http, "POST", f"{CONFIGMAPS}?fieldManager=maker", configmap({"a": "1"}))
    created["metadata"]["managedFields"] = [{"manager": "x", "operation": "Steal", "fieldsType": "FieldsV1"}]
    created["data"]["a"] = "2"
    code, updated = await call(http, "PUT", f"{CONFIGMAPS}/cm?fieldManager=maker", created)
    assert code == 200 and set(managers(updated)) == {("maker", "Update")}


async def test_applying_to_an_untracked_object_conflicts_with_before_first_apply(
        http: aiohttp.ClientSession) -> None:
    _, created = await call(http, "POST", CONFIGMAPS, configmap({"a": "1"}))
    created["metadata"]["managedFields"] = []  # an unchanged object with [] sent: the entries go
    code, cleared = await call(http, "PUT", f"{CONFIGMAPS}/cm", created)
    assert code == 200 and "managedFields" not in cleared["metadata"]
    code, refused = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "2"}), "alice")
    assert code == 409 and refused["details"]["causes"][0]["message"] == (
        'conflict with "before-first-apply" using v1')


async def test_dry_run_apply_answers_the_result_and_stores_nothing(http: aiohttp.ClientSession) -> None:
    await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1"}), "alice")
    code, shown = await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "2"}), "alice", dryRun="All")
    assert (code, shown["data"]) == (200, {"a": "2"})
    code, dry_created = await apply(http, f"{CONFIGMAPS}/other", {**configmap({}), "metadata": {"name": "other"}},
                                "alice", dryRun="All")
    assert code == 201 and dry_created["metadata"]["name"] == "other"
    _, stored = await call(http, "GET", f"{CONFIGMAPS}/cm")
    assert stored["data"] == {"a": "1"}
    code, _ = await call(http, "GET", f"{CONFIGMAPS}/other")
    assert code == 404


@pytest.fixture
async def fleets(http: aiohttp.ClientSession) -> aiohttp.ClientSession:
    code, body = await call(http, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", FLEET_CRD)
    assert code == 201, body
    return http


def fleet(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Fleet", "metadata": {"name": "f"}, "spec": spec}


async def test_custom_resource_lists_merge_by_their_schema(fleets: aiohttp.ClientSession) -> None:
    await apply(fleets, f"{FLEETS}/f", fleet(pools=[{"name": "a", "size": 1}], tags=["x"], args=["--one"],
                                             selector={"app": "x", "tier": "web"}), "alice")
    code, merged = await apply(fleets, f"{FLEETS}/f", fleet(pools=[{"name": "b", "size": 2}], tags=["y"],
                                                            args=["--two"], selector={"app": "y"}), "bob",
                                force="true")
    assert code == 200, merged
    spec = merged["spec"]
    assert spec["pools"] == [{"name": "a", "size": 1}, {"name": "b", "size": 2}]  # map list: by name
    assert spec["tags"] == ["x", "y"]  # set: union
    assert (spec["args"], spec["selector"]) == (["--two"], {"app": "y"})  # atomic: replaced, taken from alice
    assert managers(merged)[("alice", "Apply")] == {"f:spec": {"f:pools": {
        'k:{"name":"a"}': {".": {}, "f:name": {}, "f:size": {}}}, "f:tags": {'v:"x"': {}}}}

    code, refused = await apply(fleets, f"{FLEETS}/f", fleet(pools=[{"name": "b", "size": 3}]), "alice")
    assert code == 409
    assert refused["details"]["causes"][0]["field"] == '.spec.pools[name="b"].size'


async def test_status_is_applied_through_its_subresource_only(fleets: aiohttp.ClientSession) -> None:
    code, created = await apply(fleets, f"{FLEETS}/f", {**fleet(replicas=1), "status": {"ready": 5}}, "alice")
    assert code == 201 and "status" not in created
    code, status = await apply(fleets, f"{FLEETS}/f/status", {**fleet(), "status": {"ready": 1}}, "ctrl")
    assert code == 200 and status["status"] == {"ready": 1} and status["spec"] == {"replicas": 1}
    entry = next(e for e in status["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert (entry["subresource"], entry["fieldsV1"]) == ("status", {"f:status": {"f:ready": {}}})


DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


async def test_replicas_applied_through_scale_are_owned_on_the_object(http: aiohttp.ClientSession) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    code, _ = await apply(http, f"{DEPLOYMENTS}/web", deployment, "alice")
    assert code == 201
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 5}}
    code, refused = await apply(http, f"{DEPLOYMENTS}/web/scale", scale, "autoscaler")
    assert (code, refused["details"]["causes"][0]["field"]) == (409, ".spec.replicas")
    code, scaled = await apply(http, f"{DEPLOYMENTS}/web/scale", scale, "autoscaler", force="true")
    assert (code, scaled["kind"], scaled["spec"]) == (200, "Scale", {"replicas": 5})
    _, stored = await call(http, "GET", f"{DEPLOYMENTS}/web")
    entry = next(e for e in stored["metadata"]["managedFields"] if e["manager"] == "autoscaler")
    assert (entry["operation"], entry["subresource"], entry["fieldsV1"]) == (
        "Apply", "scale", {"f:spec": {"f:replicas": {}}})
    assert "f:replicas" not in managers(stored)[("alice", "Apply")]["f:spec"]


@pytest.mark.parametrize("config", [
    [1, 2], "text", None, {"metadata": "x"}, {"metadata": {"name": "other"}},
    {"apiVersion": f"{GROUP}/v1", "kind": "Other", "metadata": {"name": "f"}},
    {"apiVersion": f"{GROUP}/v1", "kind": "Fleet", "metadata": {"name": "f"}, "spec": {"pools": [1, {"size": 2}]}},
    {"apiVersion": f"{GROUP}/v1", "kind": "Fleet", "metadata": {"name": "f"}, "spec": {"tags": [{"a": 1}], "args": 5}},
    {"apiVersion": f"{GROUP}/v1", "kind": "Fleet", "metadata": {"name": "f", "labels": ["x"]}, "spec": []},
])
async def test_bad_configurations_are_refused_with_a_status(fleets: aiohttp.ClientSession, config: Any) -> None:
    await apply(fleets, f"{FLEETS}/f", fleet(replicas=1, pools=[{"name": "a"}], tags=["x"]), "alice")
    code, refused = await apply(fleets, f"{FLEETS}/f", config, "bob")
    assert 400 <= code < 500 and refused["kind"] == "Status", refused


@pytest.mark.parametrize("config", [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": [1]},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": 5}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "finalizers": [{"a": 1}]}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "ownerReferences": [7]}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cm"}},
])
async def test_bad_builtin_configurations_are_refused_with_a_status(http: aiohttp.ClientSession,
                                                                    config: Any) -> None:
    await apply(http, f"{CONFIGMAPS}/cm", configmap({"a": "1"}), "alice")
    code, refused = await apply(http, f"{CONFIGMAPS}/cm", config, "bob")
    assert 400 <= code < 500 and refused["kind"] == "Status", refused
