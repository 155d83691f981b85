"""Reading objects through a herd.runtime Client, and probes on them for `waiting.eventually`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from herd.runtime import Client, Kind, NotFound, conditions


async def get_or_none(client: Client, kind: Kind, name: str, ns: str | None = None) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    try:
        return await client.get(kind, name, ns)
    except NotFound:
        return None


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    """The object's condition of this type, or {} (also for no object)."""
    return (conditions.get_condition(obj, type_) if obj else None) or {}


def has(client: Client, kind: Kind, name: str, ns: str | None, check: Callable[[dict[str, Any]], bool]
        ) -> Callable[[], Awaitable[bool]]:
    """A probe: the object exists and `check(object)` holds."""
    async def probe() -> bool:
        obj = await get_or_none(client, kind, name, ns)
        return obj is not None and check(obj)
    return probe


def gone(client: Client, kind: Kind, name: str, ns: str | None = None) -> Callable[[], Awaitable[bool]]:
    """A probe: the object does not exist (any more)."""
    async def probe() -> bool:
        return await get_or_none(client, kind, name, ns) is None
    return probe
