"""Walks a custom resource along its schema and runs every `x-kubernetes-validations` rule.

On updates the old object is walked alongside: object properties correlate by name,
additionalProperties by key and `x-kubernetes-list-type: map` items by their keys, as in
kube-apiserver. A correlated value equal to its old value skips its rules and its subtree
(ratcheting: a field that was already invalid and did not change does not block the update),
and transition rules (those reading `oldSelf`) run only where an old value correlates.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.cel import (
    PER_CALL_COST_LIMIT,
    PER_OBJECT_COST_LIMIT,
    Rule,
    compile_rule,
    estimated_cost,
    evaluate,
    value_size,
)
from herd.cel import RuleCompileError

_NO_OLD = object()
# id(schema node) -> (node kept alive so its id is not reused, its compiled rules)
_RULES_CACHE: dict[int, tuple[dict[str, Any], tuple[Rule, ...]]] = {}
_HAS_RULES_CACHE: dict[int, tuple[dict[str, Any], bool]] = {}
_OUT_OF_BUDGET = "validation failed due to running out of cost budget, no further validation rules will be run"


def _rules(schema: dict[str, Any]) -> tuple[Rule, ...]:
    cached = _RULES_CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    compiled: list[Rule] = []
    for raw in schema.get("x-kubernetes-validations") or ():
        if isinstance(raw, dict):
            try:
                compiled.append(compile_rule(raw))
            except RuleCompileError:
                continue  # refused when the CRD was written; an old stored CRD must not break reads
    if len(_RULES_CACHE) > 20_000:
        _RULES_CACHE.clear()
    _RULES_CACHE[id(schema)] = (schema, tuple(compiled))
    return tuple(compiled)


def _declares_rules(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "x-kubernetes-validations" in schema or any(_declares_rules(v) for v in schema.values())
    return isinstance(schema, list) and any(_declares_rules(v) for v in schema)


def has_rules(schema: dict[str, Any]) -> bool:
    """Whether any node of the schema declares `x-kubernetes-validations` (cached per schema dict)."""
    cached = _HAS_RULES_CACHE.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_HAS_RULES_CACHE) > 100_000:
            _HAS_RULES_CACHE.clear()
        cached = _HAS_RULES_CACHE[id(schema)] = (schema, _declares_rules(schema))
    return cached[1]


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(schema: dict[str, Any], value: Any) -> str:
    declared = schema.get("type")
    if isinstance(declared, str) and declared:
        return declared
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"


class _Walker:
    __slots__ = ("causes", "remaining")

    def __init__(self) -> None:
        self.causes: list[Cause] = []
        self.remaining = PER_OBJECT_COST_LIMIT

    def visit(self, schema: dict[str, Any], value: Any, old: Any, path: str) -> None:
        has_old = old is not _NO_OLD
        if not has_rules(schema) or self.remaining <= 0:
            return  # no rule below this node: nothing to walk
        if has_old and value == old:
            return  # ratcheting: unchanged values keep passing, whatever their rules now say
        for rule in _rules(schema):
            if rule.applies(has_old):
                self._run(rule, schema, value, old if has_old else None, has_old, path)
        if isinstance(value, dict):
            self._visit_object(schema, value, old if isinstance(old, dict) else {}, path)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            self._visit_list(schema, value, old if isinstance(old, list) else None, path)

    def _visit_object(self, schema: dict[str, Any], value: dict[str, Any], old: dict[str, Any], path: str) -> None:
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key) if isinstance(props, dict) else None
            if isinstance(sub, dict):
                self.visit(sub, item, old.get(key, _NO_OLD), _child(path, key))
            elif isinstance(extra, dict):
                self.visit(extra, item, old.get(key, _NO_OLD), f"{path}[{key}]")

    def _visit_list(self, schema: dict[str, Any], value: list[Any], old: list[Any] | None, path: str) -> None:
        items_schema: dict[str, Any] = schema["items"]
        keys = schema.get("x-kubernetes-list-map-keys")
        old_by_key: dict[Any, Any] = {}
        if old and schema.get("x-kubernetes-list-type") == "map" and isinstance(keys, list):
            old_by_key = {_map_key(keys, item): item for item in old if isinstance(item, dict)}
        for i, item in enumerate(value):
            previous = old_by_key.get(_map_key(keys, item), _NO_OLD) if old_by_key and isinstance(item, dict) \
                else _NO_OLD
            self.visit(items_schema, item, previous, f"{path}[{i}]")

    def _run(self, rule: Rule, schema: dict[str, Any], value: Any, old: Any, has_old: bool, path: str) -> None:
        field = _with_field_path(path, rule.field_path)
        type_name = _type_name(schema, value)
        cost = estimated_cost(rule, value_size(value) + (value_size(old) if rule.is_transition else 0))
        if cost > PER_CALL_COST_LIMIT:
            self.causes.append(m.invalid(field, type_name, f"call cost exceeds limit for rule: {rule.source.strip()}"))
            return
        self.remaining -= cost
        if self.remaining <= 0:
            self.causes.append(m.invalid(field, type_name, _OUT_OF_BUDGET))
            return
        failure = evaluate(rule, value, old, has_old).failure
        if failure is not None:
            self.causes.append(_cause(failure[0], field, type_name, failure[1]))


def _with_field_path(path: str, field_path: str) -> str:
    """The node's path followed by the rule's fieldPath (a JSON path like `.spec.x` or `['a.b']`)."""
    if not field_path:
        return path
    suffix = field_path if field_path.startswith(("[", ".")) else "." + field_path
    return (path + suffix).lstrip(".")


def _map_key(keys: Any, item: Any) -> Any:
    if not isinstance(item, dict) or not isinstance(keys, list):
        return None
    return tuple(repr(item.get(k)) for k in keys)


def _cause(reason: str, field: str, type_name: str, detail: str) -> Cause:
    if reason == "FieldValueForbidden":
        return m.forbidden(field, detail)
    if reason == "FieldValueRequired":
        return m.required(field, detail)
    if reason == "FieldValueDuplicate":
        return m.duplicate(field, detail)
    return m.invalid(field, type_name, detail)


def cel_errors(obj: dict[str, Any], schema: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """The causes of every rule `obj` fails; `old` is the stored object on updates."""
    walker = _Walker()
    walker.visit(schema, obj, old if old is not None else _NO_OLD, "")
    return walker.causes
