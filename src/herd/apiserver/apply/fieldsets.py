"""Field sets of objects: what an applied configuration sets, and what changed between two objects.

Both follow structured-merge-diff's rules. In an *applied* set, every scalar, every list item, every
atomic value, every null or empty map, and every key of a free-form map is a member; a declared field
holding a non-empty map is only a parent. A *comparison* marks every node it finds on one side only
(added or removed) and every leaf whose value differs (modified).

Fields the server owns are never part of a set: `apiVersion`, `kind`, `metadata` itself and its
name, namespace, uid, resourceVersion, generation, creationTimestamp, selfLink and managedFields.
A `Scope` leaves out what a request may not change: `status` on the main resource of a kind with a
status subresource, everything else on the status subresource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herd.apiserver.apply.fieldpath import Path, PathSet, index_element, key_element, value_element
from herd.apiserver.apply.shapes import ATOMIC, MAP, SET, Shape

_META = "f:metadata"
_SERVER_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                          "selfLink", "managedFields", "clusterName"})
_TYPE_META = frozenset({"apiVersion", "kind"})
_CONTAINERS = (dict, list)


@dataclass(frozen=True)
class Scope:
    """Which top-level fields a request's field set covers."""

    without: frozenset[str] = frozenset()
    only: str = ""

    def covers(self, key: str) -> bool:
        if key in _TYPE_META:
            return False
        if self.only:
            return key == self.only
        return key not in self.without


WHOLE = Scope()
WITHOUT_STATUS = Scope(without=frozenset({"status"}))
STATUS_ONLY = Scope(only="status")


def scope_for(subresource: str, status_subresource: bool) -> Scope:
    if subresource == "status":
        return STATUS_ONLY
    return WITHOUT_STATUS if status_subresource else WHOLE


def _root_items(obj: dict[str, Any], scope: Scope) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in obj.items() if scope.covers(k)]


def _meta_items(meta: object) -> list[tuple[str, Any]]:
    if not isinstance(meta, dict):
        return []
    return [(k, v) for k, v in meta.items() if k not in _SERVER_META]


def list_element(item: object, shape: Shape, index: int) -> str:
    """The path element of one list item: by key fields, by value, or (atomic lists) by position."""
    if shape.list_type == MAP and type(item) is dict:
        return key_element(item, shape.keys)
    if shape.list_type == SET:
        return value_element(item)
    return index_element(index)


# --------------------------------------------------------------------------------------- applied sets


def applied_set(obj: dict[str, Any], root: Shape, scope: Scope = WHOLE) -> PathSet:
    """The fields an applied configuration sets (structured-merge-diff's ToFieldSet)."""
    out: PathSet = set()
    for key, value in _root_items(obj, scope):
        child, _ = root.child(key)
        if key == "metadata":
            _applied_items(_meta_items(value), child, (_META,), out)
            continue
        path = (f"f:{key}",)
        _applied(value, child, path, out)
        if value is None or (type(value) is dict and not value):
            out.add(path)
    return out


def _applied(value: Any, shape: Shape, path: Path, out: PathSet) -> None:
    kind = type(value)
    if kind is dict:
        if shape.atomic_map:
            out.add(path)
            return
        _applied_items(value.items(), shape, path, out)
    elif kind is list:
        if shape.list_type == ATOMIC:
            out.add(path)
            return
        item_shape = shape.item()
        for index, item in enumerate(value):
            item_path = (*path, list_element(item, shape, index))
            _applied(item, item_shape, item_path, out)
            out.add(item_path)
    else:
        out.add(path)


def _applied_items(items: Any, shape: Shape, path: Path, out: PathSet) -> None:
    for key, value in items:
        child, declared = shape.child(key)
        child_path = (*path, f"f:{key}")
        _applied(value, child, child_path, out)
        if not declared or value is None or (type(value) is dict and not value):
            out.add(child_path)


# ---------------------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """What changed from one object to another, as three disjoint sets of paths."""

    added: PathSet = field(default_factory=set)
    modified: PathSet = field(default_factory=set)
    removed: PathSet = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.added or self.modified or self.removed)

    def changed(self) -> PathSet:
        """Added or modified: what a write takes from other managers."""
        return self.added | self.modified


def same(left: object, right: object) -> bool:
    """Equality as JSON sees it, where true is not 1."""
    if type(left) is bool or type(right) is bool:
        return left is right
    return left == right


def created(obj: dict[str, Any], root: Shape, scope: Scope = WHOLE) -> PathSet:
    """The comparison of nothing with `obj`: every node of it is added (one walk, no second object)."""
    out: PathSet = set()
    for key, value in _root_items(obj, scope):
        child, _ = root.child(key)
        if key == "metadata":
            for mkey, mvalue in _meta_items(value):
                mshape, _ = child.child(mkey)
                _all_nodes(mvalue, mshape, (_META, f"f:{mkey}"), out)
            continue
        _all_nodes(value, child, (f"f:{key}",), out)
    return out


def created_fields(obj: dict[str, Any], root: Shape, scope: Scope = WHOLE) -> dict[str, Any]:
    """`encode(created(obj, ...))` built in one walk: the FieldsV1 tree of a new object's creator."""
    out: dict[str, Any] = {}
    for key, value in sorted(_root_items(obj, scope)):
        child, _ = root.child(key)
        if key == "metadata":
            meta = {f"f:{k}": _node_tree(v, child.child(k)[0]) for k, v in sorted(_meta_items(value))}
            if meta:
                out[_META] = meta
            continue
        out[f"f:{key}"] = _node_tree(value, child)
    return out


def _node_tree(value: Any, shape: Shape) -> dict[str, Any]:
    kind = type(value)
    if kind is dict and value and not shape.atomic_map:
        out: dict[str, Any] = {".": {}}
        for key in sorted(value):
            item = value[key]
            # scalars are leaves whatever their schema: no shape lookup, no call
            out[f"f:{key}"] = _node_tree(item, shape.child(key)[0]) if type(item) in _CONTAINERS else {}
        return out
    if kind is list and value and shape.list_type != ATOMIC:
        item_shape = shape.item()
        items = {list_element(item, shape, i): item for i, item in enumerate(value)}
        out = {".": {}}
        for element in sorted(items, key=_element_order):
            out[element] = _node_tree(items[element], item_shape)
        return out
    return {}


def _element_order(element: str) -> tuple[int, int | str]:
    # positions sort as numbers, keys and values as text
    return (0, int(element[2:])) if element[0] == "i" else (1, element)


def _all_nodes(value: Any, shape: Shape, path: Path, out: PathSet) -> None:
    out.add(path)
    kind = type(value)
    if kind is dict:
        if shape.atomic_map:
            return
        for key, item in value.items():
            child, _ = shape.child(key)
            _all_nodes(item, child, (*path, f"f:{key}"), out)
    elif kind is list:
        if shape.list_type == ATOMIC:
            return
        item_shape = shape.item()
        for index, item in enumerate(value):
            _all_nodes(item, item_shape, (*path, list_element(item, shape, index)), out)


def compare(old: dict[str, Any], new: dict[str, Any], root: Shape, scope: Scope = WHOLE) -> Comparison:
    """What changed from `old` to `new` (structured-merge-diff's Compare), within `scope`."""
    result = Comparison()
    old_meta, new_meta = old.get("metadata"), new.get("metadata")
    _compare_maps(old_meta if type(old_meta) is dict else {}, new_meta if type(new_meta) is dict else {},
                  root.child("metadata")[0], (_META,), result, _SERVER_META)
    if scope.only:
        key = scope.only
        _compare_maps({key: old[key]} if key in old else {}, {key: new[key]} if key in new else {}, root, (),
                      result)
    else:
        _compare_maps(old, new, root, (), result, _ROOT_SKIP | scope.without)
    return result


_ROOT_SKIP = _TYPE_META | {"metadata"}


_ABSENT: Any = object()


def _compare(old: Any, new: Any, shape: Shape, path: Path, result: Comparison) -> None:
    if old is _ABSENT:
        _all_nodes(new, shape, path, result.added)
        return
    if new is _ABSENT:
        _all_nodes(old, shape, path, result.removed)
        return
    old_kind, new_kind = type(old), type(new)
    if (old_kind is dict and (new_kind is dict or new is None)) or (old is None and new_kind is dict):
        if shape.atomic_map or (not old and not new):
            if not same(old, new):
                result.modified.add(path)
            return
        _compare_maps(old or {}, new or {}, shape, path, result)
    elif (old_kind is list and (new_kind is list or new is None)) or (old is None and new_kind is list):
        if shape.list_type == ATOMIC or (not old and not new):
            if not same(old, new):
                result.modified.add(path)
            return
        _compare_lists(old or [], new or [], shape, path, result)
    elif not same(old, new):
        result.modified.add(path)


def _compare_maps(old: dict[str, Any], new: dict[str, Any], shape: Shape, path: Path, result: Comparison,
                  skip: frozenset[str] = frozenset()) -> None:
    for key, new_value in new.items():
        if key in skip:
            continue
        old_value = old.get(key, _ABSENT)
        if old_value is not _ABSENT and old_value == new_value and (
                type(new_value) in _CONTAINERS or type(old_value) is type(new_value)):
            # equal subtrees (compared in C) hold no change; Python's == takes true for 1 inside them,
            # which a typed field cannot flip between
            continue
        child, _ = shape.child(key)
        _compare(old_value, new_value, child, (*path, f"f:{key}"), result)
    for key, old_value in old.items():
        if key not in new and key not in skip:
            child, _ = shape.child(key)
            _all_nodes(old_value, child, (*path, f"f:{key}"), result.removed)


def _compare_lists(old: list[Any], new: list[Any], shape: Shape, path: Path, result: Comparison) -> None:
    item_shape = shape.item()
    old_items = {list_element(item, shape, i): item for i, item in enumerate(old)}
    seen: set[str] = set()
    for index, item in enumerate(new):
        element = list_element(item, shape, index)
        seen.add(element)
        _compare(old_items.get(element, _ABSENT), item, item_shape, (*path, element), result)
    for element, item in old_items.items():
        if element not in seen:
            _all_nodes(item, item_shape, (*path, element), result.removed)
