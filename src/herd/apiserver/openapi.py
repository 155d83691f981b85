"""OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/{api/v1,apis/G/V}`) as pure functions.

kubectl reads these to decide on server-side field validation (it looks for a `fieldValidation`
query parameter on PATCH operations tagged with the kind's `x-kubernetes-group-version-kind`),
for `kubectl explain`, and for strategic-merge patch metadata of built-in kinds.
Custom resources use their CRD's `openAPIV3Schema` (descriptions kept: `kubectl explain` prints
them); built-in kinds use `builtin_schemas`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from herd.apiserver import builtin_schemas as bs
from herd.apiserver.resources import ResourceType

Schema = dict[str, Any]

KUBE_VERSION = "v1.32.4"

_JSON = "application/json"
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")


def gv_key(group: str, version: str) -> str:
    """The `/openapi/v3` path key of a group-version: `api/v1` or `apis/G/V`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(group: str, version: str, kind: str, builtin: bool = False) -> str:
    """Component name of a kind, kube-style.

    Built-ins: `io.k8s.api.core.v1.ConfigMap`, `io.k8s.api.coordination.v1.Lease`, ...;
    custom resources: reversed group, version, kind (`io.x-k8s.cluster.v1beta2.Machine`).
    """
    if builtin:
        if group == "apiextensions.k8s.io":
            return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}.{kind}"
        if group == "apiregistration.k8s.io":
            return f"io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}.{kind}"
        if not group:
            return f"io.k8s.api.core.{version}.{kind}"
        if group.endswith(".k8s.io") or "." not in group:
            return f"io.k8s.api.{group.split('.')[0]}.{version}.{kind}"
    reversed_group = ".".join(reversed(group.split("."))) if group else "core"
    return f"{reversed_group}.{version}.{kind}"


def content_hash(data: bytes) -> str:
    """Upper-case hex SHA-512 of a serialized document (the `?hash=` value, as kube computes it)."""
    return hashlib.sha512(data).hexdigest().upper()


def serialize(document: dict[str, Any]) -> bytes:
    """The bytes served for a document; stable for equal documents."""
    return json.dumps(document, separators=(",", ":")).encode()


def openapi_root(types: list[ResourceType]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The `/openapi/v3` index and every group-version document, already serialized.

    The index points at `/openapi/v3/<key>?hash=<sha512>` so clients' caches refresh whenever a
    document changes (e.g. a CRD's schema); the second value maps each key (`api/v1`,
    `apis/G/V`) to the bytes to serve for it.
    """
    docs: dict[str, bytes] = {}
    paths: dict[str, dict[str, str]] = {}
    seen: list[tuple[str, str]] = []
    for rt in types:
        if (rt.group, rt.version) not in seen:
            seen.append((rt.group, rt.version))
    seen.sort(key=lambda gv: (gv[0] != "", gv[0], gv[1]))
    for group, version in seen:
        key = gv_key(group, version)
        data = serialize(openapi_document(types, f"{group}/{version}" if group else version))
        docs[key] = data
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={content_hash(data)}"}
    return {"paths": paths}, docs


def openapi_document(types: list[ResourceType], group_version: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one group-version (`v1` or `G/V`).

    Paths cover every resource's collection, item, and /status and /scale subresources; every
    operation carries `x-kubernetes-action` and `x-kubernetes-group-version-kind`. Components
    hold one schema per kind and list kind (tagged with `x-kubernetes-group-version-kind`) plus
    the shared meta schemas they reference.
    """
    selected = [rt for rt in types if rt.group_version == group_version]
    schemas: dict[str, Schema] = {}
    paths: dict[str, Any] = {}
    for rt in selected:
        name = schema_name(rt.group, rt.version, rt.kind, rt.builtin)
        list_name = schema_name(rt.group, rt.version, _list_kind(rt), rt.builtin)
        schemas[name] = kind_schema(rt)
        schemas[list_name] = _list_schema(rt, name)
        if rt.scale is not None or "scale" in rt.subresources:
            scale = bs.builtin_kind_schema("autoscaling", "v1", "Scale") or {}
            scale["x-kubernetes-group-version-kind"] = [_gvk("autoscaling", "v1", "Scale")]
            schemas[bs.SCALE] = scale
        paths.update(_paths(rt, name, list_name))
    for shared in bs.SHARED:
        schemas.setdefault(shared, copy.deepcopy(bs.DEFINITIONS[shared]))
    _add_referenced(schemas)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def kind_schema(rt: ResourceType) -> Schema:
    """The component schema of `rt`'s kind, with its `x-kubernetes-group-version-kind`.

    Built-in kinds come from `builtin_schemas`; otherwise the type's own schema (a CRD's
    `openAPIV3Schema`) is used with root `metadata` replaced by a reference to ObjectMeta and
    `apiVersion`/`kind` described when the schema does not describe them. Extensions such as
    `x-kubernetes-int-or-string` stay as they are (as kube does for v3). Without any schema the
    kind is a permissive object.
    """
    schema = bs.builtin_kind_schema(rt.group, rt.version, rt.kind) if rt.builtin else None
    if schema is None:
        schema = copy.deepcopy(rt.schema) if rt.schema else {}
        if not _well_formed_root(schema):
            # a schema stored before CRDs were decoded strictly: the kind is shown as a permissive object
            # rather than failing every document
            schema = {}
        if not schema or rt.preserve_unknown_fields:
            schema["x-kubernetes-preserve-unknown-fields"] = True
        schema.setdefault("type", "object")
        props = schema.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        for field, text in (("apiVersion", bs.API_VERSION_DESCRIPTION), ("kind", bs.KIND_DESCRIPTION)):
            props[field].setdefault("description", text)
        props["metadata"] = bs.ref(bs.OBJECT_META, bs.METADATA_DESCRIPTION)
    schema["x-kubernetes-group-version-kind"] = [_gvk(rt.group, rt.version, rt.kind)]
    return schema


def _well_formed_root(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    props = schema.get("properties", {})
    return isinstance(props, dict) and all(isinstance(props.get(f, {}), dict) for f in ("apiVersion", "kind"))


def _list_kind(rt: ResourceType) -> str:
    return rt.list_kind or f"{rt.kind}List"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _list_schema(rt: ResourceType, item_name: str) -> Schema:
    return {
        "description": f"A list of {rt.kind} objects.",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": bs.API_VERSION_DESCRIPTION},
            "items": {"type": "array", "description": f"The {rt.plural}.", "items": bs.ref(item_name)},
            "kind": {"type": "string", "description": bs.KIND_DESCRIPTION},
            "metadata": bs.ref(bs.LIST_META, bs.LIST_METADATA_DESCRIPTION),
        },
        "x-kubernetes-group-version-kind": [_gvk(rt.group, rt.version, _list_kind(rt))],
    }


def _add_referenced(schemas: dict[str, Schema]) -> None:
    """Add every definition `schemas` reference (transitively) from `builtin_schemas.DEFINITIONS`."""
    pending = list(schemas.values())
    while pending:
        for target in _refs(pending.pop()):
            if target not in schemas and target in bs.DEFINITIONS:
                schemas[target] = copy.deepcopy(bs.DEFINITIONS[target])
                pending.append(schemas[target])


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.append(ref.removeprefix("#/components/schemas/"))
        for value in node.values():
            out.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_refs(value))
    return out


# --- paths -----------------------------------------------------------------------------------

def _param(name: str, where: str, description: str, kind: str = "string") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "description": description,
                           "schema": {"type": kind, "uniqueItems": True}}
    if where == "path":
        out["required"] = True
    return out


_PRETTY = _param("pretty", "query", "When 'true', the answer is indented.")
_NAMESPACE = _param("namespace", "path", "The namespace of the objects.")
_DRY_RUN = _param("dryRun", "query", "All: run every stage except persisting the change.")
_FIELD_MANAGER = _param("fieldManager", "query",
                        "Name of the actor making the change, recorded in managedFields.")
_FIELD_VALIDATION = _param(
    "fieldValidation", "query",
    "What to do with unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict.")
_FORCE = _param("force", "query", "Apply requests only: take over fields owned by other managers.", "boolean")
_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query", "Watch only: ask for BOOKMARK events.", "boolean"),
    _param("continue", "query", "Token from a previous truncated list, to read the next page."),
    _param("fieldSelector", "query", "Only objects whose fields match, e.g. metadata.name=x."),
    _param("labelSelector", "query", "Only objects whose labels match, e.g. app=web,tier!=db."),
    _param("limit", "query", "Most objects to return; the rest is reachable through continue.", "integer"),
    _param("resourceVersion", "query", "The version of the collection to read or to watch from."),
    _param("resourceVersionMatch", "query", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    _param("sendInitialEvents", "query", "Watch only: start with ADDED events for existing objects.",
           "boolean"),
    _param("timeoutSeconds", "query", "Upper bound on the duration of the list or watch call.", "integer"),
    _param("watch", "query", "Stream changes (ADDED, MODIFIED, DELETED) instead of listing.", "boolean"),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _param("gracePeriodSeconds", "query", "Seconds before the object is removed; 0 means now.", "integer"),
    _param("orphanDependents", "query", "Deprecated: use propagationPolicy.", "boolean"),
    _param("propagationPolicy", "query", "How dependents are handled: Orphan, Background or Foreground."),
]


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[.\-]", text) if part)


def _responses(codes: tuple[str, ...], schema: str, media: tuple[str, ...]) -> dict[str, Any]:
    content = {m: {"schema": bs.ref(schema)} for m in media}
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: dict[str, Any] = {code: {"description": text[code], "content": content} for code in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _paths(rt: ResourceType, name: str, list_name: str) -> dict[str, Any]:
    """Path items of one resource: collection, all-namespaces list, item, subresources."""
    gvk = _gvk(rt.group, rt.version, rt.kind)
    group = rt.group.removesuffix(".k8s.io") if rt.builtin else rt.group
    group_id = _camel(group) if group else "Core"
    gv_id = group_id + _camel(rt.version)
    tag = (group_id[:1].lower() + group_id[1:]) + "_" + rt.version
    media = (_JSON,)  # herd answers in JSON only (bodies may come in YAML or protobuf)
    watch_media = (*media, "application/json;stream=watch")
    scope = "Namespaced" if rt.namespaced else ""
    verbs = set(rt.verbs)
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
    scope_params = [_NAMESPACE, _PRETTY] if rt.namespaced else [_PRETTY]
    patch_types = _PATCH_TYPES if rt.builtin else tuple(t for t in _PATCH_TYPES if "strategic" not in t)

    def op(action: str, op_id: str, what: str, params: list[dict[str, Any]], responses: dict[str, Any],
           body: dict[str, Any] | None = None, op_gvk: dict[str, str] | None = None) -> Schema:
        out: Schema = {"tags": [tag], "description": what, "operationId": op_id}
        if params:
            out["parameters"] = params
        if body is not None:
            out["requestBody"] = body
        out["responses"] = responses
        out["x-kubernetes-action"] = action
        out["x-kubernetes-group-version-kind"] = dict(op_gvk or gvk)
        return out

    def oid(verb: str, suffix: str = "", middle: str = scope) -> str:
        return f"{verb}{gv_id}{middle}{rt.kind}{suffix}"

    def body(schema: str) -> dict[str, Any]:
        return {"content": {"*/*": {"schema": bs.ref(schema)}}, "required": True}

    patch_body = {"content": {t: {"schema": bs.ref(bs.PATCH)} for t in patch_types}, "required": True}
    write_params = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    patch_params = [*write_params, _FORCE]
    delete_body = {"content": {"*/*": {"schema": bs.ref(bs.DELETE_OPTIONS)}}}

    out: dict[str, Any] = {}
    collection: dict[str, Any] = {}
    if "list" in verbs or "watch" in verbs:
        collection["get"] = op("list", oid("list"), f"List or watch {rt.kind} objects.", list(_LIST_PARAMS),
                               _responses(("200",), list_name, watch_media))
    if "create" in verbs:
        collection["post"] = op("post", oid("create"), f"Create a {rt.kind}.", list(write_params),
                                _responses(("200", "201", "202"), name, media), body(name))
    if "deletecollection" in verbs:
        collection["delete"] = op("deletecollection", oid("delete", middle="Collection" + scope),
                                  f"Delete a collection of {rt.kind} objects.",
                                  [*_DELETE_PARAMS, *_LIST_PARAMS],
                                  _responses(("200",), bs.STATUS, media), delete_body)
    if collection:
        collection["parameters"] = scope_params
        out[base] = collection
    if rt.namespaced and ("list" in verbs or "watch" in verbs):
        out[f"{prefix}/{rt.plural}"] = {
            "get": op("list", oid("list", "ForAllNamespaces", ""),
                      f"List or watch {rt.kind} objects in every namespace.", list(_LIST_PARAMS),
                      _responses(("200",), list_name, watch_media)),
            "parameters": [_PRETTY],
        }

    item_params = [_param("name", "path", f"Name of the {rt.kind}."), *scope_params]
    item: dict[str, Any] = {}
    if "get" in verbs:
        item["get"] = op("get", oid("read"), f"Read a {rt.kind}.", [], _responses(("200",), name, media))
    if "update" in verbs:
        item["put"] = op("put", oid("replace"), f"Replace a {rt.kind}.", list(write_params),
                         _responses(("200", "201"), name, media), body(name))
    if "patch" in verbs:
        item["patch"] = op("patch", oid("patch"), f"Partially update a {rt.kind}.", list(patch_params),
                           _responses(("200", "201"), name, media), patch_body)
    if "delete" in verbs:
        item["delete"] = op("delete", oid("delete"), f"Delete a {rt.kind}.", list(_DELETE_PARAMS),
                            _responses(("200", "202"), bs.STATUS, media), delete_body)
    if item:
        item["parameters"] = item_params
        out[f"{base}/{{name}}"] = item

    for sub in rt.subresources:
        if sub not in ("status", "scale"):
            continue
        schema = name if sub == "status" else bs.SCALE
        sub_gvk = gvk if sub == "status" else _gvk("autoscaling", "v1", "Scale")
        sfx = sub.capitalize()
        where = f"{sub} of a {rt.kind}"
        out[f"{base}/{{name}}/{sub}"] = {
            "get": op("get", oid("read", sfx), f"Read the {where}.", [], _responses(("200",), schema, media),
                      op_gvk=sub_gvk),
            "put": op("put", oid("replace", sfx), f"Replace the {where}.", list(write_params),
                      _responses(("200", "201"), schema, media), body(schema), op_gvk=sub_gvk),
            "patch": op("patch", oid("patch", sfx), f"Partially update the {where}.", list(patch_params),
                        _responses(("200", "201"), schema, media), patch_body, op_gvk=sub_gvk),
            "parameters": item_params,
        }
    return out
