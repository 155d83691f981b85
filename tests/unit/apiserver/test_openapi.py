"""OpenAPI v3 documents: what kubectl apply/explain look for."""

from __future__ import annotations

import copy
import json
from typing import Any

from herd.apiserver import builtin_schemas, openapi
from herd.apiserver.resources import ResourceType, ScaleSubresource

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Widget is a sample custom resource.",
    "properties": {
        "apiVersion": {"type": "string", "description": "Widget api version."},
        "kind": {"type": "string"},
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}},
        "spec": {
            "type": "object",
            "description": "Desired state of the widget.",
            "properties": {
                "size": {"type": "integer", "description": "Size of the widget in furlongs."},
                "port": {"x-kubernetes-int-or-string": True,
                         "anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
        },
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}


def widget(schema: dict[str, Any] | None = None, version: str = "v1") -> ResourceType:
    return ResourceType(group="example.com", version=version, kind="Widget", plural="widgets",
                        singular="widget", namespaced=True, list_kind="WidgetList",
                        schema=schema if schema is not None else WIDGET_SCHEMA, builtin=False,
                        status_subresource=True, scale=ScaleSubresource(".spec.replicas", ".status.replicas"))


CONFIGMAPS = ResourceType(group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap",
                          namespaced=True, list_kind="ConfigMapList")
NAMESPACES = ResourceType(group="", version="v1", kind="Namespace", plural="namespaces", singular="namespace",
                          namespaced=False, status_subresource=True, extra_subresources=("finalize",))
MACHINES = ResourceType(group="cluster.x-k8s.io", version="v1beta2", kind="Machine", plural="machines",
                        singular="machine", namespaced=True, builtin=False, schema={"type": "object"})
PDBS = ResourceType(group="policy", version="v1", kind="PodDisruptionBudget", plural="poddisruptionbudgets",
                    singular="poddisruptionbudget", namespaced=True)
TYPES = [CONFIGMAPS, NAMESPACES, widget(), MACHINES, PDBS]
GVK = "x-kubernetes-group-version-kind"


def _ops(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method != "parameters"]


def test_schema_names() -> None:
    assert openapi.schema_name("", "v1", "ConfigMap", builtin=True) == "io.k8s.api.core.v1.ConfigMap"
    assert openapi.schema_name("coordination.k8s.io", "v1", "Lease", True) == \
        "io.k8s.api.coordination.v1.Lease"
    assert openapi.schema_name("cluster.x-k8s.io", "v1beta2", "Machine") == "io.x-k8s.cluster.v1beta2.Machine"
    assert openapi.schema_name("apiextensions.k8s.io", "v1", "CustomResourceDefinition", True) == \
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"


def test_root_points_at_hashed_documents() -> None:
    root, docs = openapi.openapi_root(TYPES)
    assert set(root["paths"]) == {"api/v1", "apis/example.com/v1", "apis/cluster.x-k8s.io/v1beta2",
                                  "apis/policy/v1"}
    for key, entry in root["paths"].items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{key}?hash=")
        digest = url.split("hash=")[1]
        assert digest == openapi.content_hash(docs[key]) and digest == digest.upper() and len(digest) == 128
        assert json.loads(docs[key])["openapi"].startswith("3.0")


def test_hash_changes_when_a_crd_schema_changes() -> None:
    root, _ = openapi.openapi_root(TYPES)
    changed = copy.deepcopy(WIDGET_SCHEMA)
    changed["properties"]["spec"]["properties"]["size"]["description"] = "Size, in parsecs."
    root2, _ = openapi.openapi_root([CONFIGMAPS, NAMESPACES, widget(changed), MACHINES, PDBS])
    assert root2["paths"]["apis/example.com/v1"] != root["paths"]["apis/example.com/v1"]
    assert root2["paths"]["api/v1"] == root["paths"]["api/v1"]
    assert openapi.openapi_root(TYPES)[0] == root  # deterministic


def test_every_operation_has_action_and_gvk() -> None:
    doc = openapi.openapi_document(TYPES, "example.com/v1")
    ops = _ops(doc)
    assert ops
    for _path, _method, op in ops:
        assert op["x-kubernetes-action"] in {"get", "list", "post", "put", "patch", "delete",
                                             "deletecollection"}
        assert set(op[GVK]) == {"group", "version", "kind"}


def test_patch_operations_list_field_validation() -> None:
    for gv in ("v1", "example.com/v1"):
        doc = openapi.openapi_document(TYPES, gv)
        patches = [op for _p, method, op in _ops(doc) if method == "patch"]
        assert patches
        for op in patches:
            names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names


def test_patch_content_types() -> None:
    crd_doc = openapi.openapi_document(TYPES, "example.com/v1")
    crd_patch = crd_doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert set(crd_patch["requestBody"]["content"]) == {
        "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"}
    core_doc = openapi.openapi_document(TYPES, "v1")
    cm_patch = core_doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in cm_patch["requestBody"]["content"]
    assert cm_patch[GVK] == {"group": "", "version": "v1", "kind": "ConfigMap"}


def test_paths_for_namespaced_and_cluster_scoped() -> None:
    doc = openapi.openapi_document(TYPES, "example.com/v1")
    base = "/apis/example.com/v1/namespaces/{namespace}/widgets"
    assert set(doc["paths"]) == {base, base + "/{name}", base + "/{name}/status", base + "/{name}/scale",
                                 "/apis/example.com/v1/widgets"}
    assert set(doc["paths"][base]) == {"get", "post", "delete", "parameters"}
    assert set(doc["paths"][base + "/{name}"]) == {"get", "put", "patch", "delete", "parameters"}
    list_params = {p["name"] for p in doc["paths"][base]["get"]["parameters"]}
    assert {"watch", "labelSelector", "fieldSelector", "limit", "continue", "resourceVersion"} <= list_params
    assert doc["paths"][base + "/{name}/scale"]["patch"][GVK] == {
        "group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert doc["paths"][base]["delete"]["x-kubernetes-action"] == "deletecollection"
    core = openapi.openapi_document(TYPES, "v1")
    assert "/api/v1/namespaces/{name}/status" in core["paths"]
    assert "/api/v1/namespaces/{name}/finalize" not in core["paths"]
    assert core["paths"]["/api/v1/namespaces/{name}"]["get"]["operationId"] == "readCoreV1Namespace"


def test_components_for_a_crd() -> None:
    doc = openapi.openapi_document(TYPES, "example.com/v1")
    schemas = doc["components"]["schemas"]
    kind = schemas["com.example.v1.Widget"]
    assert kind[GVK] == [{"group": "example.com", "version": "v1", "kind": "Widget"}]
    assert schemas["com.example.v1.WidgetList"][GVK] == [{"group": "example.com", "version": "v1",
                                                          "kind": "WidgetList"}]
    props = kind["properties"]
    assert props["metadata"]["allOf"] == [{"$ref": "#/components/schemas/" + builtin_schemas.OBJECT_META}]
    assert props["apiVersion"]["description"] == "Widget api version."  # the CRD's own wording is kept
    assert props["kind"]["description"]
    assert props["spec"]["properties"]["size"]["description"] == "Size of the widget in furlongs."
    assert props["spec"]["properties"]["port"]["x-kubernetes-int-or-string"] is True
    assert kind["description"] == "A Widget is a sample custom resource."
    assert schemas[builtin_schemas.SCALE][GVK] == [{"group": "autoscaling", "version": "v1", "kind": "Scale"}]
    for name in ("ObjectMeta", "ListMeta", "Status", "Patch", "DeleteOptions", "Time", "OwnerReference",
                 "ManagedFieldsEntry", "Condition"):
        assert "io.k8s.apimachinery.pkg.apis.meta.v1." + name in schemas
    assert WIDGET_SCHEMA["properties"]["metadata"]["type"] == "object"  # the input is not mutated


def test_every_ref_resolves() -> None:
    for gv in ("v1", "example.com/v1", "cluster.x-k8s.io/v1beta2", "policy/v1"):
        doc = openapi.openapi_document(TYPES, gv)
        text = json.dumps(doc)
        for target in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
            assert target in doc["components"]["schemas"], (gv, target)


def test_builtin_kinds_use_builtin_schemas() -> None:
    doc = openapi.openapi_document(TYPES, "v1")
    cm = doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]
    assert cm[GVK] == [{"group": "", "version": "v1", "kind": "ConfigMap"}]
    assert cm["properties"]["data"]["additionalProperties"]["type"] == "string"
    assert cm["properties"]["data"]["description"]
    for triple in builtin_schemas.builtin_kinds():
        schema = builtin_schemas.builtin_kind_schema(*triple)
        assert schema is not None and schema["description"] and "metadata" in schema["properties"]


def test_unknown_builtin_is_permissive() -> None:
    doc = openapi.openapi_document(TYPES, "policy/v1")
    pdb = doc["components"]["schemas"]["io.k8s.api.policy.v1.PodDisruptionBudget"]
    assert pdb["x-kubernetes-preserve-unknown-fields"] is True
    assert pdb[GVK] == [{"group": "policy", "version": "v1", "kind": "PodDisruptionBudget"}]


def test_crd_without_schema_is_permissive() -> None:
    rt = widget(schema={})
    schema = openapi.kind_schema(rt)
    assert schema["type"] == "object" and schema["x-kubernetes-preserve-unknown-fields"] is True
    assert "$ref" in schema["properties"]["metadata"]["allOf"][0]
