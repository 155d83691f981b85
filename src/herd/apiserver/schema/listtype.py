"""Uniqueness of `x-kubernetes-list-type: set` and `map` lists.

kube-apiserver checks these after schema validation, walking only the structural part of
the schema. It reports the second occurrence of each repeated element (set) or key (map)
as `Duplicate value`. Paths follow kube's field-path notation for this check, where a map
value is addressed as `spec.labels[key]` rather than `spec.labels.key`.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema.messages import duplicate, go_json, invalid
from herd.apiserver.schema.node import Node


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def list_errors(value: Any, node: Node, path: str = "") -> list[Cause]:
    """Duplicate elements/keys in set and map lists anywhere in `value` (a JSON object or array)."""
    out: list[Cause] = []
    if node.has_list_semantics:
        _walk(value, node, path, out)
    return out


def _walk(value: Any, node: Node, path: str, out: list[Cause]) -> None:
    kind = type(value)
    if kind is dict:
        additional = node.additional
        if additional is not None and additional.has_list_semantics:
            for key, item in value.items():
                _walk(item, additional, f"{path}[{key}]", out)
        if node.props_raw is not None:
            for key, item in value.items():
                child = node.prop(key)
                if child is not None and child.has_list_semantics:
                    _walk(item, child, _child(path, key), out)
    elif kind is list:
        if node.list_type == "set":
            for i in _repeats([_identity(item) for item in value]):
                out.append(duplicate(f"{path}[{i}]", value[i]))
        elif node.list_type == "map":
            _check_map_list(value, node, path, out)
        items = node.items
        if items is not None and items.has_list_semantics:
            for i, item in enumerate(value):
                _walk(item, items, f"{path}[{i}]", out)


def _identity(value: Any) -> Any:
    # Go compares scalars by type and value (int 1 != float 1.0, True != 1) but compound values
    # by their JSON encoding (where 1 and 1.0 both print as "1").
    if isinstance(value, dict | list):
        return ("json", go_json(value))
    return (type(value).__name__, value)


def _repeats(keys: list[Any]) -> list[int]:
    """Indexes of the second occurrence of each repeated key."""
    seen: dict[Any, int] = {}
    out: list[int] = []
    for i, key in enumerate(keys):
        count = seen.get(key, 0)
        if count == 1:
            out.append(i)
        seen[key] = count + 1
    return out


_UNSPECIFIED = ("unspecified", None)


def _check_map_list(value: list[Any], node: Node, path: str, out: list[Cause]) -> None:
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            out.append(invalid(f"{path}[{i}]", item, "must be an object for an array of list-type map"))
            return
    if len(value) <= 1:
        return
    key_fields = node.list_map_keys
    if len(key_fields) == 1:
        field = key_fields[0]
        keys = [
            _identity(item[field]) if isinstance(item, dict) and field in item else _UNSPECIFIED
            for item in value
        ]
        for i in _repeats(keys):
            item = value[i]
            shown = {field: item[field]} if isinstance(item, dict) and field in item else {}
            out.append(duplicate(f"{path}[{i}]", shown))
        return
    composite: list[dict[str, Any]] = []
    for item in value:
        composite.append({k: item[k] for k in key_fields if k in item} if isinstance(item, dict) else {})
    for i in _repeats([("json", go_json(k)) for k in composite]):
        out.append(duplicate(f"{path}[{i}]", composite[i]))
