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
from dataclasses import dataclass, field
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


_MATCHES: dict[str, Callable[[object], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
}


@dataclass(eq=False)
class _Plan:
    """A schema compiled for checking: `$ref`s resolved, `allOf`/`anyOf` split out, leaf checks precomputed."""

    kind: str = ""  # JSON Schema type; empty accepts anything
    fmt: str = ""
    props: dict[str, _Plan] = field(default_factory=dict)
    extra: _Plan | None = None  # additionalProperties
    items: _Plan | None = None
    parts: tuple[_Plan, ...] = ()  # allOf beyond a single reference
    choices: tuple[_Plan, ...] = ()  # anyOf
    go_name: str = ""
    # a plain string or boolean: checked inline by the parent, without a call
    leaf: Callable[[object], bool] | None = None

    def go_type(self) -> str:
        if self.go_name:
            return self.go_name
        if self.kind == "string":
            return "[]uint8" if self.fmt == "byte" else "string"
        if self.kind == "array":
            return "[]" + (self.items.go_type() if self.items else "interface {}")
        if self.kind == "object":
            return "map[string]" + self.extra.go_type() if self.extra else "struct"
        return {"boolean": "bool", "integer": self.fmt or "int64", "number": "float64"}.get(self.kind,
                                                                                          "interface {}")


class TypeChecker:
    """Checks values against schemas whose `$ref`s `resolve` looks up by component name.

    Schemas are compiled once and cached by identity: pass long-lived schemas (module constants).
    """

    def __init__(self, resolve: Resolve) -> None:
        self.resolve = resolve
        self._compiled: dict[int, tuple[Schema, _Plan]] = {}  # holding the schema keeps its id unique
        self._named: dict[str, _Plan] = {}

    def check(self, value: object, schema: Schema, path: str) -> None:
        """Raise TypeMismatch for the first value the schema's types cannot hold."""
        self._check(value, self._plan(schema), path)

    def _plan(self, schema: Schema) -> _Plan:
        hit = self._compiled.get(id(schema))
        if hit is not None:
            return hit[1]
        ref = schema.get("$ref")
        all_of: list[Schema] = list(schema.get("allOf") or ())
        if isinstance(ref, str):
            plan = self._reference(ref.removeprefix(_REF_PREFIX))
        elif len(all_of) == 1 and "type" not in schema and "anyOf" not in schema:
            plan = self._plan(all_of[0])  # a reference with a description of its own
        else:
            plan = _Plan(kind=str(schema.get("type") or ""), fmt=str(schema.get("format") or ""),
                         go_name=str(schema.get("x-go-type") or ""))
            self._compiled[id(schema)] = (schema, plan)  # before the children: schemas may be recursive
            self._fill(plan, schema, all_of)
        self._compiled[id(schema)] = (schema, plan)
        return plan

    def _reference(self, name: str) -> _Plan:
        plan = self._named.get(name)
        if plan is None:
            plan = self._named[name] = _Plan()
            target = self.resolve(name)
            if target is not None:
                compiled = self._plan(target)
                plan.__dict__.update(compiled.__dict__)
        return plan

    def _fill(self, plan: _Plan, schema: Schema, all_of: list[Schema]) -> None:
        properties = schema.get("properties")
        if isinstance(properties, dict):
            plan.props = {key: self._plan(sub) for key, sub in properties.items()}
        extra = schema.get("additionalProperties")
        plan.extra = self._plan(extra) if isinstance(extra, dict) else None
        items = schema.get("items")
        plan.items = self._plan(items) if isinstance(items, dict) else None
        plan.parts = tuple(self._plan(part) for part in all_of)
        plan.choices = tuple(self._plan(alt) for alt in schema.get("anyOf") or ())
        if plan.kind in ("string", "boolean") and not (plan.fmt or plan.parts or plan.choices):
            plan.leaf = _MATCHES[plan.kind]

    def _check(self, value: object, plan: _Plan, path: str) -> None:
        if value is None:
            return
        for part in plan.parts:
            self._check(value, part, path)
        if plan.choices:
            chosen = next((alt for alt in plan.choices if _MATCHES.get(alt.kind, _any)(value)), None)
            if chosen is None:
                raise TypeMismatch(f"json: cannot unmarshal {json_type_name(value)} into Go struct field {path} "
                                   f"of type {plan.go_name or 'intstr.IntOrString'}")
            plan = chosen
        if not plan.kind:
            return
        if not _MATCHES[plan.kind](value):
            raise TypeMismatch(f"json: cannot unmarshal {json_type_name(value)} into Go struct field {path} "
                               f"of type {plan.go_type()}")
        if isinstance(value, dict):
            self._check_fields(value, plan, path)
        elif isinstance(value, list):
            if plan.items is not None:
                for item in value:
                    self._check(item, plan.items, path)
        elif plan.kind == "integer":
            low, high = _INT_RANGES.get(plan.fmt or "int64", _INT_RANGES["int64"])
            if not low <= int(value) <= high:  # type: ignore[call-overload]
                raise TypeMismatch(f"json: cannot unmarshal number {value} into Go struct field {path} "
                                   f"of type {plan.fmt or 'int64'}")
        elif plan.fmt == "byte":
            _check_base64(str(value))

    def _check_fields(self, value: dict[str, Any], plan: _Plan, path: str) -> None:
        props, extra = plan.props, plan.extra
        for key, item in value.items():
            field_plan = props.get(key)
            if field_plan is None:
                if extra is not None and not (extra.leaf is not None and (item is None or extra.leaf(item))):
                    self._check(item, extra, path)
            elif not (item is None or (field_plan.leaf is not None and field_plan.leaf(item))):
                self._check(item, field_plan, f"{path}.{key}")


def _any(_value: object) -> bool:
    return True


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
