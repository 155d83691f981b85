"""Fast JSON helpers: orjson for wire bytes, and deep copies of JSON-shaped data."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def clone(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON-shaped dict (much faster than copy.deepcopy for this data)."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(value))
    return copied


def get_path(obj: Any, path: str) -> Any:
    """Value at a `.spec.replicas`-style path, or None."""
    current = obj
    for part in path.strip(".").split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a `.spec.replicas`-style path, creating maps on the way."""
    parts = path.strip(".").split(".")
    current = obj
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            current[part] = nxt
        current = nxt
    current[parts[-1]] = value
