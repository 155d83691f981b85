"""The three PATCH flavours kube-apiserver accepts: JSON merge patch, JSON patch and strategic merge patch.

Every function works on plain JSON-shaped dicts, never mutates its inputs, and reports a bad patch
as the `StatusError` kube-apiserver would answer with, so the REST layer can raise it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from herd.apiserver.errors import StatusError, bad_request
from herd.apiserver.schema.defaulting import deep_copy_json

__all__ = ["STRATEGIC_MERGE_KINDS", "json_patch", "merge_patch", "strategic_merge_patch"]

# kube-apiserver refuses JSON patches longer than this with 413.
MAX_JSON_PATCH_OPERATIONS = 10000

# kube reports every failure to *apply* a well-formed JSON patch (failed `test`, missing path, unknown op)
# with this fixed 422 message; clients such as kubectl show it verbatim.
_JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request"


def _go_json_type(value: object) -> str:
    """Name a JSON value the way Go's encoding/json does in its unmarshal errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _cannot_unmarshal(value: object, go_type: str) -> StatusError:
    # The decode error kube-apiserver returns (as 400) when a patch body has the wrong JSON shape.
    return bad_request(f"json: cannot unmarshal {_go_json_type(value)} into Go value of type {go_type}")


def _unprocessable(message: str) -> StatusError:
    return StatusError(422, "Invalid", message)


# --------------------------------------------------------------------------------------------- merge patch


def _merge(target: object, patch: object) -> object:
    # RFC 7386 section 2, applied to copies so callers keep their originals.
    if not isinstance(patch, dict):
        return deep_copy_json(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def merge_patch(target: dict[str, Any], patch: object) -> dict[str, Any]:
    """Apply an RFC 7386 JSON merge patch and return the patched copy of `target`.

    A patch that is not a JSON object would replace the whole object, which can never decode into a
    Kubernetes object, so it is refused with 400 like kube-apiserver's "Invalid JSON Patch".
    """
    if not isinstance(patch, dict):
        raise bad_request("Invalid JSON Patch")
    merged = _merge(deep_copy_json(target), patch)
    assert isinstance(merged, dict)  # a dict patch always yields a dict
    return merged


# ---------------------------------------------------------------------------------------------- JSON patch


def json_patch(target: dict[str, Any], ops: object) -> dict[str, Any]:
    """Apply an RFC 6902 JSON patch (a list of operations) and return the patched copy of `target`.

    Mirrors kube-apiserver: a body that is not a list of objects is 400 BadRequest, more than 10000
    operations is 413, and any operation that cannot be applied (including a failed `test`) is 422 Invalid.
    """
    if not isinstance(ops, list):
        raise _cannot_unmarshal(ops, "jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise _cannot_unmarshal(op, "jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise StatusError(
            413, "RequestEntityTooLarge",
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    try:
        result = jsonpatch.JsonPatch(ops).apply(target, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
            TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # The library raises plain Python errors for some malformed operations (e.g. a non-string path);
        # kube treats all of them as an unprocessable patch.
        raise _unprocessable(_JSON_PATCH_REJECTED) from exc
    if not isinstance(result, dict):
        raise _cannot_unmarshal(result, "map[string]interface {}")
    return result


# ------------------------------------------------------------------------------------ strategic merge patch


@dataclass(frozen=True)
class _ListStrategy:
    """A list field with patchStrategy=merge: items merge by `merge_key`, or as a set when it is None."""

    merge_key: str | None


# Paths are dotted field names with list positions left out, so the `env` list inside every container of
# `spec.containers` is "spec.containers.env". Lists not named here are atomic: the patch replaces them.
_Schema = dict[str, _ListStrategy]

_OBJECT_META: _Schema = {
    "metadata.ownerReferences": _ListStrategy("uid"),
    "metadata.finalizers": _ListStrategy(None),
}


def _pod_spec(prefix: str) -> _Schema:
    schema: _Schema = {}
    for key, merge_key in (("volumes", "name"), ("imagePullSecrets", "name"), ("hostAliases", "ip"),
                           ("topologySpreadConstraints", "topologyKey"), ("schedulingGates", "name"),
                           ("resourceClaims", "name")):
        schema[f"{prefix}.{key}"] = _ListStrategy(merge_key)
    for containers in ("containers", "initContainers", "ephemeralContainers"):
        schema[f"{prefix}.{containers}"] = _ListStrategy("name")
        for key, merge_key in (("ports", "containerPort"), ("env", "name"), ("volumeMounts", "mountPath"),
                               ("volumeDevices", "devicePath")):
            schema[f"{prefix}.{containers}.{key}"] = _ListStrategy(merge_key)
    return schema


_KIND_SCHEMAS: dict[str, _Schema] = {
    "Namespace": {"status.conditions": _ListStrategy("type")},
    "Secret": {},
    "ConfigMap": {},
    "Event": {},
    "Lease": {},
    "ServiceAccount": {"secrets": _ListStrategy("name")},
    "Node": {
        "spec.podCIDRs": _ListStrategy(None),
        "status.conditions": _ListStrategy("type"),
        "status.addresses": _ListStrategy("type"),
    },
    "Pod": {
        **_pod_spec("spec"),
        "status.conditions": _ListStrategy("type"),
        "status.podIPs": _ListStrategy("ip"),
        "status.hostIPs": _ListStrategy("ip"),
        "status.resourceClaimStatuses": _ListStrategy("name"),
    },
    **{kind: {**_pod_spec("spec.template.spec"), "status.conditions": _ListStrategy("type")}
       for kind in ("Deployment", "DaemonSet")},
    "MutatingWebhookConfiguration": {"webhooks": _ListStrategy("name")},
    "ValidatingWebhookConfiguration": {"webhooks": _ListStrategy("name")},
    # CRD fields carry no patch strategies: its maps merge and its lists are replaced.
    "CustomResourceDefinition": {},
}

STRATEGIC_MERGE_KINDS: frozenset[str] = frozenset(_KIND_SCHEMAS)
"""Kinds with strategic-merge metadata. kube answers 415 for strategic merge on custom resources;
the REST layer should do the same for anything outside this set."""

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: _Schema, path: str) -> dict[str, Any]:
    """Merge `patch` into `original` (already a private copy) following the strategic merge rules."""
    patch = dict(patch)
    directive = patch.pop(_PATCH, None)
    if directive == "replace":
        # The map is replaced wholesale; merging into {} only strips directives and nulls from the patch.
        return _merge_map({}, patch, schema, path)
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise bad_request(f"invalid patch type {directive!r} in {path or 'object'}")

    retain = patch.pop(_RETAIN_KEYS, None)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise bad_request("doesn't match the expected format of retainKeys list: a list of field names")
        stray = [k for k in patch if not k.startswith("$") and k not in retain]
        if stray:
            raise _unprocessable(f"patch content doesn't match retainKeys list: {sorted(stray)}")
        original = {k: v for k, v in original.items() if k in retain}

    orders: dict[str, Any] = {}
    for key in [k for k in patch if k.startswith("$")]:
        value = patch.pop(key)
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER):]] = value
        elif key.startswith(_DELETE_PRIMITIVES):
            field = key[len(_DELETE_PRIMITIVES):]
            if not isinstance(value, list):
                raise bad_request(f"$deleteFromPrimitiveList/{field} in {path or 'object'} is not a list")
            current = original.get(field)
            if isinstance(current, list):
                original[field] = [item for item in current if item not in value]
        # Any other "$..." key is a directive this server does not know; kube drops those too.

    for key, value in patch.items():
        sub = _join(path, key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            current = original.get(key)
            original[key] = _merge_map(current if isinstance(current, dict) else {}, value, schema, sub)
        elif isinstance(value, list):
            current = original.get(key)
            original[key] = _merge_list(current if isinstance(current, list) else [], value, schema, sub)
        else:
            original[key] = value

    for field, order in orders.items():
        if not isinstance(order, list):
            raise bad_request(f"invalid $setElementOrder for {_join(path, field)}: expected a list")
        current = original.get(field)
        if isinstance(current, list):
            original[field] = _apply_order(current, order, schema.get(_join(path, field)))
    return original


def _is_directive_only(item: object) -> bool:
    return isinstance(item, dict) and _PATCH in item and len(item) == 1


def _strip(item: object, schema: _Schema, path: str) -> object:
    # New values still go through the merge so nested directives and nulls never reach storage.
    if isinstance(item, dict):
        return _merge_map({}, item, schema, path)
    if isinstance(item, list):
        return _merge_list([], item, schema, path)
    return item


def _merge_list(original: list[Any], patch: list[Any], schema: _Schema, path: str) -> list[Any]:
    strategy = schema.get(path)
    if strategy is None:
        # Atomic list: the patch value replaces the original.
        return [_strip(item, schema, path) for item in patch if not _is_directive_only(item)]
    if any(_is_directive_only(i) and i[_PATCH] == "replace" for i in patch):
        # `{"$patch": "replace"}` among the items means "the list is exactly the other items".
        original = []
    if strategy.merge_key is None:
        result = list(original)
        for item in patch:
            if not _is_directive_only(item) and item not in result:
                result.append(item)
        return result

    key_name = strategy.merge_key
    result = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"unable to find api field in struct for {path}: list items must be objects")
        if _is_directive_only(item):
            continue
        if key_name not in item:
            raise _unprocessable(f"map: {item} does not contain declared merge key: {key_name}")
        key = item[key_name]
        index = next((i for i, cur in enumerate(result)
                      if isinstance(cur, dict) and cur.get(key_name) == key), None)
        if item.get(_PATCH) == "delete":
            result = [cur for cur in result if not (isinstance(cur, dict) and cur.get(key_name) == key)]
        elif index is None:
            result.append(_merge_map({}, item, schema, path))
        else:
            result[index] = _merge_map(result[index], item, schema, path)
    return result


def _apply_order(items: list[Any], order: list[Any], strategy: _ListStrategy | None) -> list[Any]:
    """Reorder a merged list as `$setElementOrder` asks.

    Items the order names come in that order; items it does not name (added by someone else) keep
    their place relative to the named ones, like kube's merge of the patch and server-only lists.
    """
    def key_of(value: Any) -> Any:
        if strategy is not None and strategy.merge_key is not None:
            return value.get(strategy.merge_key) if isinstance(value, dict) else None
        return value

    wanted = [key_of(entry) for entry in order]
    indexed = list(enumerate(items))
    named = sorted((p for p in indexed if key_of(p[1]) in wanted), key=lambda p: wanted.index(key_of(p[1])))
    others = [p for p in indexed if key_of(p[1]) not in wanted]
    result: list[Any] = []
    while named and others:
        # Both sides carry their position in the merged list; the earlier one goes first.
        result.append((others if others[0][0] < named[0][0] else named).pop(0)[1])
    return result + [v for _, v in named] + [v for _, v in others]


def strategic_merge_patch(target: dict[str, Any], patch: object, kind: str) -> dict[str, Any]:
    """Apply a Kubernetes strategic merge patch for a built-in `kind` and return the patched copy.

    Maps merge recursively and `null` deletes a key. Lists with a merge key (containers by name,
    conditions by type, ownerReferences by uid, ...) merge item by item, `metadata.finalizers` and other
    primitive merge lists merge as sets, and every other list is replaced. The directives `$patch`
    (replace/delete/merge), `$retainKeys`, `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>` are
    honoured and never stored. Kinds without known metadata get the ObjectMeta rules only.
    """
    if not isinstance(patch, dict):
        raise _cannot_unmarshal(patch, "map[string]interface {}")
    schema = {**_OBJECT_META, **_KIND_SCHEMAS.get(kind, {})}
    return _merge_map(deep_copy_json(target), deep_copy_json(patch), schema, "")
