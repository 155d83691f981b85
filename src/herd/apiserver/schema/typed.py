"""Typed decoding of built-in objects: the JSON types kube-apiserver's Go structs accept, checked from schemas.

kube-apiserver decodes a built-in object into its Go type before anything else; a value of the wrong JSON
type (a number where a string belongs, `binaryData` that is not base64, a Namespace's `spec.finalizers: 5`,
a CRD schema whose `properties` is a string) fails that decoding with 400 BadRequest,
"<Kind> in version "<v>" cannot be handled as a <Kind>: json: cannot unmarshal ...". herd checks the same
from the OpenAPI schemas of the built-in kinds: types, int32/int64 ranges and base64 (`format: byte`).
`null` is always accepted, as Go decodes it to the zero value. Fields a schema does not describe are left
alone (herd's built-in schemas are not exhaustive below the top level).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from herd.apiserver.errors import StatusError, bad_request

Schema = Mapping[str, Any]
Resolve = Callable[[str], Schema | None]

_REF_PREFIX = "#/components/schemas/"
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class TypeMismatch(Exception):
    """A value whose JSON type the Go type at `path` cannot hold."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def json_type_name(value: object) -> str:
    """A JSON value's type as Go's encoding/json names it in unmarshal errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type(schema: Schema) -> str:
    kind = schema.get("type")
    if kind == "string":
        return "[]uint8" if schema.get("format") == "byte" else "string"
    if kind == "boolean":
        return "bool"
    if kind == "integer":
        return str(schema.get("format") or "int64")
    if kind == "number":
        return "float64"
    if kind == "array":
        return "[]" + _go_type(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + _go_type(schema["additionalProperties"])
    return "struct" if kind == "object" else "interface {}"


def _matches(value: object, kind: object) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


class TypeChecker:
    """Checks values against schemas whose `$ref`s `resolve` looks up by component name."""

    def __init__(self, resolve: Resolve) -> None:
        self.resolve = resolve

    def _deref(self, schema: Schema) -> Schema:
        ref = schema.get("$ref")
        while isinstance(ref, str):
            target = self.resolve(ref.removeprefix(_REF_PREFIX))
            if target is None:
                return {}
            schema = target
            ref = schema.get("$ref")
        return schema

    def check(self, value: object, schema: Schema, path: str) -> None:
        """Raise TypeMismatch for the first value the schema's types cannot hold."""
        if value is None:
            return
        schema = self._deref(schema)
        for part in schema.get("allOf") or ():
            self.check(value, part, path)
        alternatives = schema.get("anyOf")
        if alternatives:
            chosen = next((alt for alt in map(self._deref, alternatives) if _matches(value, alt.get("type"))), None)
            if chosen is None:
                raise TypeMismatch(f"json: cannot unmarshal {json_type_name(value)} into Go struct field {path} "
                                   f"of type {schema.get('x-go-type', 'intstr.IntOrString')}")
            schema = {**schema, **chosen}
        kind = schema.get("type")
        if kind is None:
            return
        if not _matches(value, kind):
            raise TypeMismatch(f"json: cannot unmarshal {json_type_name(value)} into Go struct field {path} "
                               f"of type {_go_type(schema)}")
        self._check_value(value, schema, path)

    def _check_value(self, value: object, schema: Schema, path: str) -> None:
        kind = schema.get("type")
        if kind == "integer":
            low, high = _INT_RANGES.get(str(schema.get("format") or "int64"), _INT_RANGES["int64"])
            if not low <= int(value) <= high:  # type: ignore[call-overload]
                raise TypeMismatch(f"json: cannot unmarshal number {value} into Go struct field {path} "
                                   f"of type {schema.get('format') or 'int64'}")
        elif kind == "string" and schema.get("format") == "byte":
            _check_base64(str(value))
        elif kind == "array":
            items = schema.get("items")
            if isinstance(items, dict):
                for item in value:  # type: ignore[attr-defined]
                    self.check(item, items, path)
        elif kind == "object":
            assert isinstance(value, dict)
            properties = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    self.check(item, properties[key], f"{path}.{key}")
                elif isinstance(extra, dict):
                    self.check(item, extra, path)


def _check_base64(text: str) -> None:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        position = next((i for i, ch in enumerate(text) if not (ch.isalnum() or ch in "+/=")), len(text) - 1)
        raise TypeMismatch(f"illegal base64 data at input byte {max(position, 0)}") from None


def decode_error(kind: str, version: str, mismatch: TypeMismatch) -> StatusError:
    """The 400 kube-apiserver answers when a body cannot be decoded into the kind's Go type."""
    return bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {mismatch.message}')


def unknown_top_level_fields(obj: Mapping[str, Any], schema: Schema) -> list[str]:
    """Top-level keys the kind's schema does not declare (herd's built-in schemas list them all)."""
    properties = schema.get("properties") or {}
    return [key for key in obj if key not in properties]
