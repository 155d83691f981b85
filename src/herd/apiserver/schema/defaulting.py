"""Structural defaulting: filling in `default` values from a custom resource's schema."""

from __future__ import annotations

from typing import Any

from herd.apiserver.schema.node import MISSING, Node, compiled


def deep_copy_json(value: Any) -> Any:
    """Copy a JSON value (dicts, lists, scalars); much faster than `copy.deepcopy` for this shape."""
    kind = type(value)
    if kind is dict:
        return {k: deep_copy_json(v) for k, v in value.items()}
    if kind is list:
        return [deep_copy_json(v) for v in value]
    return value


def apply_defaults(obj: dict[str, Any], schema: dict[str, Any]) -> None:
    """Apply the schema's defaults to `obj` in place, as kube-apiserver does for custom resources.

    A property's `default` is used when the property is absent, or when it is null and the
    property is not nullable. Defaults apply recursively (also to values that were just
    defaulted, and inside array items and additionalProperties maps, where a null element of
    a non-nullable item schema is replaced). Call it on pruned data: defaults are never pruned
    again here. Default values are deep-copied, so objects never share structure with the schema.
    """
    root = compiled(schema)
    if root.has_defaults:
        _default(obj, root)


def _needs_default(value: Any, node: Node) -> bool:
    return value is None and not node.nullable and node.default is not MISSING


def _default(value: Any, node: Node) -> None:
    if not node.has_defaults:  # most subtrees declare none: nothing to walk
        return
    kind = type(value)
    if kind is dict:
        for name, prop in node.defaulted_props():
            if name not in value or (value[name] is None and not prop.nullable):
                value[name] = deep_copy_json(prop.default)
        if node.props_raw is None and node.additional_raw is None:
            return
        additional = node.additional
        for key, item in value.items():
            child = node.prop(key)
            if child is None:
                if additional is None:
                    continue
                child = additional
                if _needs_default(item, child):
                    item = value[key] = deep_copy_json(child.default)
            if type(item) is dict or type(item) is list:
                _default(item, child)
    elif kind is list:
        items = node.items
        if items is None:
            return
        for i, item in enumerate(value):
            if _needs_default(item, items):
                item = value[i] = deep_copy_json(items.default)
            if type(item) is dict or type(item) is list:
                _default(item, items)
