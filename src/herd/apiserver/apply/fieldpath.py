"""Field paths and sets in the `FieldsV1` encoding kube-apiserver stores in `metadata.managedFields`.

A path is a tuple of FieldsV1 keys: `f:<field>` for a map field, `k:<json>` for an item of a map list
(its key fields as a compact JSON object), `v:<json>` for an item of a set list, `i:<n>` for a list
position. Keeping the encoded key as the element makes decoding and encoding a plain tree walk, and a
set of paths a Python set (fast unions and differences in C).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]
PathSet = set[Path]

_MEMBER = "."
_PREFIXES = ("f:", "k:", "v:", "i:")
# kube orders the elements of a set: field names, then keys, then values, then indexes
_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def compact_json(value: object) -> str:
    """JSON as kube writes keys and values in FieldsV1: no spaces, object keys sorted."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def field(name: str) -> str:
    return "f:" + name


def key_element(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    """The element naming one item of a map list by its key fields."""
    return "k:" + compact_json({k: item[k] for k in keys if k in item})


def value_element(value: object) -> str:
    return "v:" + compact_json(value)


def index_element(index: int) -> str:
    return f"i:{index}"


def encode(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set: a node that is itself a member and has children gets a "." key."""
    root: dict[str, Any] = {}
    members: set[int] = set()
    for path in paths:
        node = root
        for element in path:
            child = node.get(element)
            if child is None:
                child = node[element] = {}
            node = child
        members.add(id(node))
    return _sorted(root, members)


def _sorted(node: dict[str, Any], members: set[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node and id(node) in members:
        out[_MEMBER] = {}
    for element in sorted(node, key=_order):
        out[element] = _sorted(node[element], members)
    return out


def _order(element: str) -> tuple[int, int | str]:
    return (_RANK["i"], int(element[2:])) if element[0] == "i" else (_RANK[element[0]], element)


def holds(tree: dict[str, Any], path: Path) -> bool:
    """Whether the FieldsV1 `tree` has `path` as a member, without decoding the whole tree."""
    node: Any = tree
    for element in path:
        node = node.get(element) if type(node) is dict else None
        if node is None:
            return False
    return type(node) is dict and (not node or _MEMBER in node)


def decode(tree: object) -> PathSet:
    """The set a FieldsV1 tree encodes; ValueError when it is not a valid encoding."""
    out: PathSet = set()
    if not isinstance(tree, dict):
        raise ValueError("fieldsV1 must be an object")
    _decode(tree, (), out)
    return out


def _decode(node: dict[str, Any], path: Path, out: PathSet) -> None:
    if not node:
        if path:
            out.add(path)
        return
    for element, child in node.items():
        if not isinstance(child, dict):
            raise ValueError(f"fieldsV1 value of {element!r} must be an object")
        if element == _MEMBER:
            if child:
                raise ValueError('fieldsV1 "." must be an empty object')
            if path:
                out.add(path)
            continue
        if not isinstance(element, str) or not element.startswith(_PREFIXES):
            raise ValueError(f"fieldsV1 key {element!r} is not a path element")
        _decode(child, (*path, element), out)


def ancestors(paths: Iterable[Path]) -> PathSet:
    """Every proper, non-empty prefix of the given paths."""
    out: PathSet = set()
    for path in paths:
        for end in range(len(path) - 1, 0, -1):
            prefix = path[:end]
            if prefix in out:
                break
            out.add(prefix)
    return out


def under(paths: Iterable[Path], prefix: Path) -> PathSet:
    """The paths at or below `prefix`."""
    size = len(prefix)
    return {p for p in paths if p[:size] == prefix}


def to_string(path: Path) -> str:
    """A path in kube's notation: `.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]`."""
    parts: list[str] = []
    for element in path:
        tag, text = element[0], element[2:]
        if tag == "f":
            parts.append("." + text)
        elif tag == "k":
            try:
                keys = json.loads(text)
            except ValueError:
                keys = {}
            parts.append("[" + ",".join(f"{k}={compact_json(v)}" for k, v in sorted(keys.items())) + "]")
        elif tag == "v":
            parts.append("[=" + text + "]")
        else:
            parts.append("[" + text + "]")
    return "".join(parts)
