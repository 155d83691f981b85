"""The apply merge, and the removal of fields an applier stopped sending.

`merge` lays an applied configuration over the live object as structured-merge-diff does: maps merge
key by key unless atomic, `set` lists take the union, `map` lists merge item by item on their key
fields, atomic lists and scalars are replaced. A null in the configuration removes the field.
Neither input is changed; untouched subtrees of the live object are shared, not copied.

`prune` then removes what the applier owned last time and no longer sends, unless another manager
owns it (or something below it): the rule the Kubernetes documentation calls "field removal".
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.apply.fieldpath import Path, PathSet, ancestors
from herd.apiserver.apply.fieldsets import list_element
from herd.apiserver.apply.shapes import ATOMIC, MAP, SET, Shape


def merge(live: Any, config: Any, shape: Shape) -> Any:
    """`config` applied over `live`."""
    if type(config) is dict:
        if type(live) is not dict or shape.atomic_map:
            return _strip_nulls(config)
        out = dict(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
                continue
            child, _ = shape.child(key)
            out[key] = merge(out.get(key), value, child)
        return out
    if type(config) is list:
        if type(live) is not list or shape.list_type == ATOMIC:
            return config
        if shape.list_type == SET:
            return live + [item for item in config if item not in live]
        return _merge_map_list(live, config, shape)
    return config


def _strip_nulls(value: dict[str, Any]) -> dict[str, Any]:
    if all(v is not None and type(v) is not dict for v in value.values()):
        return value
    return {k: (_strip_nulls(v) if type(v) is dict else v) for k, v in value.items() if v is not None}


def _merge_map_list(live: list[Any], config: list[Any], shape: Shape) -> list[Any]:
    item_shape = shape.item()
    positions = {list_element(item, shape, i): i for i, item in enumerate(live)}
    out = list(live)
    for index, item in enumerate(config):
        at = positions.get(list_element(item, shape, index))
        if at is None:
            out.append(item)
        else:
            out[at] = merge(out[at], item, item_shape)
    return out


# ------------------------------------------------------------------------------------------ removal


def named_ancestors(paths: PathSet) -> PathSet:
    """`paths` plus every ancestor that is a field (`f:`): removing a field's last child removes it too."""
    return paths | {p for p in ancestors(paths) if p[-1].startswith("f:")}


def prune(obj: dict[str, Any], root: Shape, candidates: PathSet, owned: PathSet) -> dict[str, Any]:
    """`obj` without the `candidates` no one owns: a candidate goes when nothing below it is kept.

    `owned` is what every manager (the applier included) owns after the apply. Fields that were never
    candidates (set by no one, or by others) always stay, and keep their parents.
    """
    remove = candidates - owned
    if not remove:
        return obj
    walk = remove | ancestors(remove)
    keep = owned | ancestors(owned)
    pruned = _prune_map(obj, root, (), walk, remove, keep, ())
    return pruned if isinstance(pruned, dict) else {}


def _prune(value: Any, shape: Shape, path: Path, walk: PathSet, remove: PathSet, keep: PathSet,
           key_fields: tuple[str, ...]) -> object:
    if type(value) is dict and not shape.atomic_map:
        return _prune_map(value, shape, path, walk, remove, keep, key_fields)
    if type(value) is list and shape.list_type != ATOMIC:
        item_shape = shape.item()
        keys = shape.keys if shape.list_type == MAP else ()
        out = []
        for index, item in enumerate(value):
            item_path = (*path, list_element(item, shape, index))
            if item_path in walk:
                item = _prune(item, item_shape, item_path, walk, remove, keep, keys)
                if item is _GONE:
                    continue
            out.append(item)
        if not out and path in remove and path not in keep:
            return _GONE
        return out
    return _GONE if path in remove and path not in keep else value


_GONE: Any = object()


def _prune_map(value: dict[str, Any], shape: Shape, path: Path, walk: PathSet, remove: PathSet, keep: PathSet,
               key_fields: tuple[str, ...]) -> object:
    out = dict(value)
    for key, item in value.items():
        child_path = (*path, f"f:{key}")
        if child_path not in walk or key in key_fields:
            continue
        child, _ = shape.child(key)
        pruned = _prune(item, child, child_path, walk, remove, keep, ())
        if pruned is _GONE:
            del out[key]
        else:
            out[key] = pruned
    if path in remove and path not in keep and all(k in key_fields for k in out):
        return _GONE
    return out
