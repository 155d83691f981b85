"""The patch helper: snapshot an object, let the reconcile change it, write the difference at the end.

    async with patch_helper(client, machine) as machine:
        machine["metadata"].setdefault("finalizers", []).append(FINALIZER)
        conditions.set_condition(machine, "Ready", False, "WaitingForBootstrapData")

At the end: one JSON merge patch for metadata+spec (if they changed) and one for status through the
status subresource (if it changed). `status.observedGeneration` is set to `metadata.generation`
only when the block exits without an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .client import Client
from .errors import NotFound
from .objects import Kind, Object, deep_copy, metadata


def merge_patch(before: Any, after: Any) -> Any:
    """The RFC 7386 JSON merge patch that turns `before` into `after` ({} when equal).

    Lists are replaced whole, as merge patch requires; removed keys become null.
    """
    if not isinstance(before, dict) or not isinstance(after, dict):
        return after
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        if key not in before:
            patch[key] = value
        elif before[key] != value:
            both_dicts = isinstance(value, dict) and isinstance(before[key], dict)
            patch[key] = merge_patch(before[key], value) if both_dicts else value
    return patch


def _without_status(obj: Object) -> Object:
    return {key: value for key, value in obj.items() if key != "status"}


class PatchHelper:
    """Remembers an object as read and writes back only what the caller changed."""

    def __init__(self, client: Client, obj: Object, *, kind: Kind | None = None,
                 optimistic_lock: bool = False, observed_generation: bool = True) -> None:
        self.client = client
        self.kind = kind
        self.before = deep_copy(obj)
        self.optimistic_lock = optimistic_lock  # send the resourceVersion read: a concurrent change is a Conflict
        self.observed_generation = observed_generation

    async def patch(self, obj: Object, *, succeeded: bool = True) -> Object:
        """Write the changes made to `obj` since the snapshot; `obj` is refreshed from the answer."""
        kind = self.kind or await self.client.kind_of(obj)
        if succeeded and self.observed_generation and kind.status_subresource:
            generation = metadata(obj).get("generation")
            if generation is not None:
                obj.setdefault("status", {})["observedGeneration"] = generation
        meta = metadata(obj)
        name, namespace = meta["name"], meta.get("namespace")
        deleting = bool(meta.get("deletionTimestamp"))
        if kind.status_subresource:
            main = merge_patch(_without_status(self.before), _without_status(obj))
            status = merge_patch(self.before.get("status") or {}, obj.get("status") or {})
        else:
            main, status = merge_patch(self.before, obj), {}
        latest: Object | None = None
        try:
            if main:
                if self.optimistic_lock:
                    main.setdefault("metadata", {})["resourceVersion"] = metadata(self.before).get("resourceVersion")
                latest = await self.client.patch(kind, name, main, namespace=namespace)
            if status:
                latest = await self.client.patch_status(kind, name, {"status": status}, namespace=namespace)
        except NotFound:
            if not deleting:
                raise
            # removing the last finalizer let the server delete the object: nothing left to write
        if latest is not None:
            obj.clear()
            obj.update(latest)
        self.before = deep_copy(obj)
        return obj


@asynccontextmanager
async def patch_helper(client: Client, obj: Object, *, kind: Kind | None = None, optimistic_lock: bool = False,
                       observed_generation: bool = True) -> AsyncIterator[Object]:
    """Yield `obj` to change in place; on exit write the changes (even after an error, as upstream does).

    observedGeneration is only recorded when the block succeeded; a cancelled block writes nothing.
    """
    helper = PatchHelper(client, obj, kind=kind, optimistic_lock=optimistic_lock,
                         observed_generation=observed_generation)
    try:
        yield obj
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        try:
            await helper.patch(obj, succeeded=False)
        except Exception as patch_error:
            exc.add_note(f"and writing the object's changes failed: {patch_error}")
        raise
    await helper.patch(obj, succeeded=True)
