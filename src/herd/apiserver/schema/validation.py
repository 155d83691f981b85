"""OpenAPI v3 validation of custom resources, with kube-apiserver's semantics and messages.

The checks and their order follow kube-openapi's schema validator as kube-apiserver runs it
for custom resources: for each value the type, then allOf/anyOf/oneOf/not, then the string,
format, number and array keywords, then enum, then the object keywords. Messages carry the
value's path "in body", e.g. `spec.replicas in body must be of type integer: "string"`.

After the schema checks come the checks kube-apiserver runs on the decoded object itself:
embedded resources (`x-kubernetes-embedded-resource`) need apiVersion and kind, and set/map
lists must not repeat elements or keys.
"""

from __future__ import annotations

import math
from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.cel_validation import cel_errors, has_rules
from herd.apiserver.schema.embedded import embedded_errors
from herd.apiserver.schema.listtype import list_errors
from herd.apiserver.schema.node import Node, compiled

_BLOCKING_REASONS = frozenset((m.TYPE_INVALID, m.REQUIRED))
_RULES_SKIPPED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)
_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))
_JSON_KIND = {str: "string", dict: "object", list: "array", bool: "boolean", int: "integer", float: "number"}


def validate(obj: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """Validate a whole custom resource against its version's openAPIV3Schema.

    The root apiVersion, kind and metadata are not validated here (the API server checks them
    as ObjectMeta/TypeMeta). Returns no causes when `obj` is valid. The CEL rules run last,
    and (as in kube-apiserver) only when no type or required error would make them misleading;
    `old` is the stored object on updates (for transition rules and ratcheting).
    """
    root = compiled(schema)
    sink = Sink()
    sink.check(root, obj, "", root_object=True)
    causes = sink.errors + sink.meta_errors + list_errors(obj, root)
    if not has_rules(schema):
        return causes
    if any(c.reason in _BLOCKING_REASONS for c in causes):
        return [*causes, m.invalid("", None, _RULES_SKIPPED)]
    return causes + cel_errors(obj, schema, old)


def validate_value(value: Any, schema: dict[str, Any] | Node, field_prefix: str) -> list[Cause]:
    """Validate a standalone value (not a whole resource) against a schema node.

    Cause fields are `field_prefix` followed by the value-relative path, while messages use the
    value-relative path, as kube does when it checks a CRD's `default` values.
    """
    node = schema if isinstance(schema, Node) else compiled(schema)
    sink = Sink(field_prefix)
    sink.check(node, value, "")
    return sink.errors + sink.meta_errors + list_errors(value, node, field_prefix)


def _kind(value: Any) -> str:
    kind = _JSON_KIND.get(type(value))
    if kind is not None:
        return kind
    if value is None:
        return "null"
    for py_type, name in _JSON_KIND.items():  # subclasses (rare): bool before int matters
        if isinstance(value, py_type):
            return name
    return "object"


def _join(name: str, key: str) -> str:
    return f"{name}.{key}" if name else key


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value whatever int/float, but booleans are not numbers."""
    ka, kb = _kind(a), _kind(b)
    if ka in ("integer", "number") and kb in ("integer", "number"):
        return bool(a == b)
    if ka != kb:
        return False
    if ka == "object":
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if ka == "array":
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _unique_key(value: Any) -> Any:
    # uniqueItems compares like Go's reflect.DeepEqual: int 1 and float 1.0 differ.
    if isinstance(value, dict):
        return ("o", tuple(sorted((k, _unique_key(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("a", tuple(_unique_key(v) for v in value))
    return (type(value).__name__, value)


def _is_json_integer(ratio: float) -> bool:
    # Whole up to a relative error of 1e-9, within the range where floats hold integers exactly.
    if not math.isfinite(ratio) or abs(ratio) > 2**53:
        return False
    whole = math.trunc(ratio)
    return ratio == whole or abs(ratio - whole) / (abs(ratio) + abs(whole)) < 1e-9


def _is_whole(value: float) -> bool:
    return math.isfinite(value) and value == math.trunc(value)


class Sink:
    """Collects causes while walking a value; `prefix` is prepended to cause fields (not messages)."""

    __slots__ = ("errors", "meta_errors", "prefix")

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.errors: list[Cause] = []
        self.meta_errors: list[Cause] = []

    def field(self, name: str) -> str:
        """The cause field for a value-relative path."""
        if not self.prefix:
            return name
        return f"{self.prefix}.{name}" if name else self.prefix

    def invalid(self, name: str, value: Any, detail: str) -> None:
        """Record an Invalid cause whose detail reads `<name> in body <detail>`."""
        self.errors.append(m.invalid(self.field(name), value, f"{name} in body {detail}"))

    def check(self, node: Node, value: Any, name: str, root_object: bool = False) -> None:
        """Validate `value` (found at `name`) against `node`, recording every violation."""
        if value is None:
            if node.types and not node.nullable:
                self._type_error(node, name, "null")
                if node.enum is not None and None not in node.enum:
                    self._enum_error(node, name, value)
            return
        kind = _kind(value)
        if node.types and kind not in node.types:
            accepted = (kind == "number" and "integer" in node.types and _is_whole(value)) or (
                kind == "integer" and "number" in node.types
            )
            if not accepted:
                self._type_error(node, name, kind)
        if node.has_combinators:
            self._check_combinators(node, value, name)
        if kind == "string":
            if node.checks_string:
                self._check_string(node, value, name)
        elif kind == "integer" or kind == "number":
            if node.checks_number:
                self._check_number(node, value, name, kind == "integer")
        elif kind == "array":
            self._check_array(node, value, name)
        if node.enum is not None and not any(_same_json(value, e) for e in node.enum):
            self._enum_error(node, name, value)
        if kind == "object":
            self._check_object(node, value, name, root_object)

    def _type_error(self, node: Node, name: str, actual: str) -> None:
        detail = f'{name} in body must be of type {node.type_label}: "{actual}"'
        self.errors.append(m.type_invalid(self.field(name), actual, detail))

    def _enum_error(self, node: Node, name: str, value: Any) -> None:
        assert node.enum is not None
        allowed = [e if isinstance(e, str) else m.go_json(e) for e in node.enum]
        self.errors.append(m.not_supported(self.field(name), value, allowed))

    def _check_string(self, node: Node, value: str, name: str) -> None:
        # kube stops at the first failing length/pattern keyword; format is a separate check.
        if node.max_length is not None and len(value) > node.max_length:
            self.errors.append(m.too_long(self.field(name), node.max_length))
        elif node.min_length is not None and len(value) < node.min_length:
            self.invalid(name, value, f"should be at least {node.min_length} chars long")
        elif node.pattern_src is not None:
            if node.pattern is None:
                problem = f"{node.pattern_src}, but pattern is invalid: {node.pattern_error}"
                self.invalid(name, value, f"should match '{problem}'")
            elif node.pattern.search(value) is None:
                self.invalid(name, value, f"should match '{node.pattern_src}'")
        checker = node.string_format
        if checker is not None and not checker(value):
            fmt = node.raw.get("format")
            detail = f"{name} in body must be of type {fmt}: {m.go_quote(value)}"
            self.errors.append(m.type_invalid(self.field(name), value, detail))

    def _check_number(self, node: Node, value: int | float, name: str, is_int: bool) -> None:
        if node.number_format is not None:
            type_name, in_range = node.number_format
            if not in_range(value):
                fmt = node.raw.get("format")
                detail = f"Checked value must be of type {type_name} with format {fmt} in {name}"
                self.errors.append(m.invalid(self.field(name), value, detail))
        # Integers are compared with the bound truncated to an integer, like kube's native-int path.
        if node.multiple_of is not None:
            self._check_multiple(node.multiple_of, value, name, is_int)
        if node.maximum is not None:
            bound = math.trunc(node.maximum) if is_int else node.maximum
            if value > bound or (node.excl_max and value == bound):
                shown = str(bound) if is_int else m.go_float(float(bound))
                op = "less than" if node.excl_max else "less than or equal to"
                self.invalid(name, value, f"should be {op} {shown}")
        if node.minimum is not None:
            bound = math.trunc(node.minimum) if is_int else node.minimum
            if value < bound or (node.excl_min and value == bound):
                shown = str(bound) if is_int else m.go_float(float(bound))
                op = "greater than" if node.excl_min else "greater than or equal to"
                self.invalid(name, value, f"should be {op} {shown}")

    def _check_multiple(self, factor: int | float, value: int | float, name: str, is_int: bool) -> None:
        if is_int:
            whole = math.trunc(factor)
            if whole < 0:
                self.errors.append(
                    m.invalid(
                        self.field(name),
                        whole,
                        f"factor MultipleOf declared for {name} must be positive: {whole}",
                    )
                )
            elif whole != 0 and value % whole != 0:
                self.invalid(name, value, f"should be a multiple of {whole}")
            return
        if factor < 0:
            shown = m.go_float(float(factor))
            self.errors.append(
                m.invalid(
                    self.field(name),
                    factor,
                    f"factor MultipleOf declared for {name} must be positive: {shown}",
                )
            )
            return
        if factor == 0:
            return
        if not _is_json_integer((1 / factor) * value if factor < 1 else value / factor):
            self.invalid(name, value, f"should be a multiple of {m.go_float(float(factor))}")

    def _check_array(self, node: Node, value: list[Any], name: str) -> None:
        items = node.items
        if items is not None:
            for i, item in enumerate(value):
                self.check(items, item, f"{name}[{i}]")
        size = len(value)
        if node.min_items is not None and size < node.min_items:
            self.invalid(name, size, f"should have at least {node.min_items} items")
        if node.max_items is not None and size > node.max_items:
            self.errors.append(m.too_many(self.field(name), size, node.max_items))
        if node.unique_items and len({_unique_key(v) for v in value}) != size:
            self.invalid(name, "", "shouldn't contain duplicates")

    def _check_object(self, node: Node, value: dict[str, Any], name: str, root_object: bool) -> None:
        size = len(value)
        # kube returns right after a failing min/maxProperties, without looking at the properties.
        if node.min_props is not None and size < node.min_props:
            self.invalid(name, size, f"should have at least {node.min_props} properties")
            return
        if node.max_props is not None and size > node.max_props:
            self.errors.append(m.too_many(self.field(name), size, node.max_props))
            return
        additional = node.additional
        for key, item in value.items():
            if root_object and key in _META_FIELDS:
                continue
            child = node.prop(key)
            if child is not None:
                self.check(child, item, _join(name, key))
            elif additional is not None:
                self.check(additional, item, _join(name, key))
            elif node.forbids_additional:
                self.errors.append(
                    m.invalid(self.field(name), key, f"{name}.{key} in body is a forbidden property")
                )
        for key in node.required:
            if key not in value and not (root_object and key in _META_FIELDS):
                self.errors.append(m.required(self.field(_join(name, key))))
        if node.embedded:
            self.meta_errors.extend(embedded_errors(value, self.field(name)))

    def _branch(self, node: Node, value: Any, name: str) -> Sink:
        sub = Sink(self.prefix)
        sub.check(node, value, name)
        return sub

    def _check_combinators(self, node: Node, value: Any, name: str) -> None:
        # These failures are plain errors in kube (no field), hence the empty bad value.
        field = self.field(name)
        if node.any_of:
            branches = [self._branch(b, value, name) for b in node.any_of]
            if not any(not b.errors for b in branches):
                self.errors.append(
                    m.invalid(field, "", f'"{name}" must validate at least one schema (anyOf)')
                )
                self.errors.extend(min(branches, key=lambda b: len(b.errors)).errors)
        if node.one_of:
            branches = [self._branch(b, value, name) for b in node.one_of]
            valid = sum(1 for b in branches if not b.errors)
            if valid != 1:
                found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                detail = f'"{name}" must validate one and only one schema (oneOf). {found}'
                self.errors.append(m.invalid(field, "", detail))
                if valid == 0:
                    self.errors.extend(min(branches, key=lambda b: len(b.errors)).errors)
        if node.all_of:
            branches = [self._branch(b, value, name) for b in node.all_of]
            valid = 0
            for b in branches:
                self.errors.extend(b.errors)
                valid += not b.errors
            if valid != len(branches):
                suffix = ". None validated" if valid == 0 else ""
                self.errors.append(
                    m.invalid(field, "", f'"{name}" must validate all the schemas (allOf){suffix}')
                )
        if node.not_ is not None and not self._branch(node.not_, value, name).errors:
            self.errors.append(m.invalid(field, "", f'"{name}" must not validate the schema (not)'))
