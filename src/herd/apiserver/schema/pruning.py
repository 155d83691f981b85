"""Structural pruning: dropping fields a custom resource's schema does not declare.

This is what kube-apiserver does to every custom resource it decodes (unless the schema
opts out with `x-kubernetes-preserve-unknown-fields`), and the list of what was dropped is
what `fieldValidation=Strict|Warn` reports as `unknown field "<path>"`.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.schema.node import Node, compiled

_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))


def _child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Remove, in place, every field of `obj` that `schema` does not declare.

    `obj` is a whole custom resource and `schema` its version's openAPIV3Schema. At the root
    apiVersion, kind and metadata are always kept (metadata is pruned by the ObjectMeta
    handling elsewhere). Returns the removed fields' paths, sorted, e.g.
    `["spec.foo", "spec.list[0].bar"]`.
    """
    pruned: list[str] = []
    root = compiled(schema)
    if root.preserve_unknown:
        _keep_unknown(obj, root, "", pruned, skip_meta=True)
    else:
        _prune_object(obj, root, "", pruned, skip_meta=True)
    pruned.sort()
    return pruned


def prune_value(value: Any, node: Node) -> list[str]:
    """Prune a standalone value (e.g. a schema's `default`) against its schema node.

    Unlike `prune`, nothing is special at the top unless the node is an embedded resource.
    """
    pruned: list[str] = []
    _prune(value, node, "", pruned)
    pruned.sort()
    return pruned


def _prune(value: Any, node: Node | None, path: str, pruned: list[str]) -> None:
    if node is not None and node.preserve_unknown:
        _keep_unknown(value, node, path, pruned, skip_meta=False)
        return
    kind = type(value)
    if kind is dict:
        if node is None:
            # Nothing is declared here (e.g. below `additionalProperties: true`): drop every key.
            for key in list(value):
                del value[key]
                pruned.append(_child_path(path, key))
            return
        _prune_object(value, node, path, pruned, skip_meta=False)
    elif kind is list:
        items = node.items if node is not None else None
        for i, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                _prune(item, items, f"{path}[{i}]", pruned)


def _prune_object(value: dict[str, Any], node: Node, path: str, pruned: list[str], skip_meta: bool) -> None:
    for key in list(value):
        if skip_meta and key in _META_FIELDS:
            continue
        item = value[key]
        if node.embedded and key in _META_FIELDS and _is_embedded_meta(key, item):
            continue
        child = node.prop(key)
        if child is None and not node.has_additional:
            del value[key]
            pruned.append(_child_path(path, key))
            continue
        if type(item) is dict or type(item) is list:
            _prune(item, child if child is not None else node.additional, _child_path(path, key), pruned)


def _is_embedded_meta(key: str, item: Any) -> bool:
    # An embedded object keeps its own apiVersion/kind (strings) and metadata (an object).
    return isinstance(item, dict) if key == "metadata" else isinstance(item, str)


def _keep_unknown(value: Any, node: Node, path: str, pruned: list[str], skip_meta: bool) -> None:
    """Below `x-kubernetes-preserve-unknown-fields`: keep unknown keys, still prune declared ones."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if (skip_meta or node.embedded) and key in _META_FIELDS:
                continue
            child = node.prop(key)
            if child is not None:
                _prune(item, child, _child_path(path, key), pruned)
            elif node.has_additional:
                _prune(item, node.additional, _child_path(path, key), pruned)
    elif kind is list:
        items = node.items
        if items is None:
            return
        for i, item in enumerate(value):
            _keep_unknown(item, items, f"{path}[{i}]", pruned, skip_meta=False)
