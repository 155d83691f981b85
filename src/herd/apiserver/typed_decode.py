"""Built-in request bodies checked as kube-apiserver's typed decoding would, before any other processing."""

from __future__ import annotations

from typing import Any

from . import builtin_schemas as bs
from . import errors
from .builtins import CRDS
from .resources import ResourceType
from .schema import crd_types
from .schema.typed import TypeChecker, TypeMismatch, decode_error, json_type_name, unknown_top_level_fields

_CHECKER = TypeChecker(lambda name: crd_types.DEFINITIONS.get(name) or bs.DEFINITIONS.get(name))
_SCALE = ("autoscaling", "v1", "Scale")
_SCHEMA_PROPS = {"$ref": crd_types.JSON_SCHEMA_PROPS}


def check_builtin(rtype: ResourceType, obj: dict[str, Any]) -> list[str]:
    """Raise 400 when `obj` does not decode into its kind; return its undeclared top-level fields."""
    schema = bs.kind_schema_view(rtype.group, rtype.version, rtype.kind)
    if schema is None:
        return []
    try:
        _CHECKER.check(obj, schema, rtype.kind)
        if rtype is CRDS:
            _check_crd_schemas(obj)
    except TypeMismatch as exc:
        raise decode_error(rtype.kind, rtype.version, exc) from None
    return unknown_top_level_fields(obj, schema)


def check_scale(obj: dict[str, Any]) -> None:
    """A body written to a /scale subresource must decode into autoscaling/v1 Scale."""
    schema = bs.kind_schema_view(*_SCALE)
    assert schema is not None
    try:
        _CHECKER.check(obj, schema, "Scale")
    except TypeMismatch as exc:
        raise decode_error("Scale", "v1", exc) from None


def check_delete_options(options: object) -> dict[str, Any]:
    """A DELETE body decoded into meta/v1 DeleteOptions (400 when it cannot be)."""
    if not isinstance(options, dict):
        raise errors.bad_request(f"json: cannot unmarshal {json_type_name(options)} into Go value of type "
                                 "v1.DeleteOptions")
    if options.get("kind") not in (None, "", "DeleteOptions"):
        raise errors.bad_request("decoded object cannot be converted to DeleteOptions")
    try:
        _CHECKER.check(options, bs.DEFINITIONS[bs.DELETE_OPTIONS], "DeleteOptions")
    except TypeMismatch as exc:
        raise errors.bad_request(exc.message) from None
    return options


def _check_crd_schemas(crd: dict[str, Any]) -> None:
    versions = (crd.get("spec") or {}).get("versions") or []
    for version in versions:
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
        _CHECKER.check(schema, _SCHEMA_PROPS, "CustomResourceDefinition.spec.versions.schema.openAPIV3Schema")


def check_patched_identity(rtype: ResourceType, namespace: str, name: str, patched: dict[str, Any]) -> None:
    """A patch may not rename an object, move it, or strip the type a custom resource is decoded by."""
    meta = patched.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    patched_name = meta.get("name") or ""
    if patched_name != name:
        raise errors.bad_request(
            f"the name of the object ({patched_name}) does not match the name on the URL ({name})")
    if rtype.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request")
    kind = patched.get("kind")
    if kind and kind != rtype.kind:
        raise errors.bad_request(f"the kind of the object ({kind}) does not match the resource ({rtype.kind})")
    if rtype.builtin:  # a typed decode takes a missing kind or apiVersion from the resource
        return
    for key, label in (("kind", "Kind"), ("apiVersion", "apiVersion")):
        if not patched.get(key):
            message = f"Object '{label}' is missing in the patched object"
            raise errors.StatusError(422, "Invalid", f'"" is invalid: patch: Invalid value: "...": {message}',
                                     causes=[errors.Cause("FieldValueInvalid", message, "patch")])
