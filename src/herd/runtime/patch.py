"""The patch helper: snapshot an object, let the reconcile change it, write the difference at the end.

    async with patch_helper(client, machine) as machine:
        machine["metadata"].setdefault("finalizers", []).append(FINALIZER)
        conditions.set_condition(machine, "Ready", False, "WaitingForBootstrapData")

At the end: one JSON merge patch for metadata+spec (if they changed) and one for status through the
status subresource (if it changed). `status.observedGeneration` is set to `metadata.generation`
only when the block exits without an exception; when the block changed the spec itself, that is the
generation its own patch made (so a controller's spec write costs no second status write).

A merge patch replaces lists whole, and several controllers write conditions of the same object (a Machine's
own, its MachineHealthCheck's, its MachineSet's): a status patch that changes conditions therefore carries
the resourceVersion its conditions were computed from, and on a Conflict the object is read again and only
the conditions this writer changed are laid over the fresh ones (a three-way merge by condition type).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .client import Client
from .errors import Conflict, NotFound
from .objects import Kind, Object, deep_copy, metadata

CONFLICT_RETRIES = 5


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


Condition = dict[str, Any]


def changed_conditions(before: list[Condition], after: list[Condition]) -> dict[str, Condition | None]:
    """The conditions `after` sets or changes, and those it removes (None), by type."""
    old = {str(c.get("type")): c for c in before}
    new = {str(c.get("type")): c for c in after}
    changes: dict[str, Condition | None] = {t: c for t, c in new.items() if old.get(t) != c}
    changes.update({t: None for t in old if t not in new})
    return changes


def with_changes(conditions: list[Condition], changes: dict[str, Condition | None]) -> list[Condition]:
    """`conditions` with `changes` laid over them: others' conditions stay, in their order."""
    merged: list[Condition] = []
    for condition in conditions:
        replacement = changes.get(str(condition.get("type")), condition)
        if replacement is not None:
            merged.append(replacement)
    present = {str(c.get("type")) for c in conditions}
    merged.extend(c for t, c in changes.items() if c is not None and t not in present)
    return merged


async def patch_status_conditions(client: Client, kind: Kind, base: Object, status: dict[str, Any],
                                  changes: dict[str, Condition | None]) -> Object:
    """Patch `status` (without conditions) and the condition `changes` onto the object read as `base`, guarded
    by base's resourceVersion; on a Conflict read it again and lay the changes over the fresh conditions."""
    meta = metadata(base)
    name, namespace = meta["name"], meta.get("namespace")
    for attempt in range(CONFLICT_RETRIES):
        conditions = with_changes(list((base.get("status") or {}).get("conditions") or []), changes)
        body = {"metadata": {"resourceVersion": metadata(base).get("resourceVersion")},
                "status": {**status, "conditions": conditions}}
        try:
            return await client.patch_status(kind, name, body, namespace=namespace)
        except Conflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            base = await client.get(kind, name, namespace)
    raise AssertionError("unreachable")


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
        stamp = succeeded and self.observed_generation and kind.status_subresource
        if stamp:
            generation = metadata(obj).get("generation")
            if generation is not None:
                obj.setdefault("status", {})["observedGeneration"] = generation
        meta = metadata(obj)
        name, namespace = meta["name"], meta.get("namespace")
        deleting = bool(meta.get("deletionTimestamp"))
        main = merge_patch(_without_status(self.before), _without_status(obj)) if kind.status_subresource \
            else merge_patch(self.before, obj)
        latest: Object | None = None
        try:
            if main:
                if self.optimistic_lock:
                    main.setdefault("metadata", {})["resourceVersion"] = metadata(self.before).get("resourceVersion")
                latest = await self.client.patch(kind, name, main, namespace=namespace)
                if succeeded and kind.status_subresource:
                    # this reconcile wrote the new spec itself: it has observed the generation its patch made
                    _restamp(obj, metadata(obj).get("generation"), metadata(latest).get("generation"),
                             observed_generation=stamp)
            status = merge_patch(self.before.get("status") or {}, obj.get("status") or {}) \
                if kind.status_subresource else {}
            if status and "conditions" in status:
                status.pop("conditions")
                changes = changed_conditions((self.before.get("status") or {}).get("conditions") or [],
                                             (obj.get("status") or {}).get("conditions") or [])
                latest = await patch_status_conditions(self.client, kind, latest or self.before, status, changes)
            elif status:
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


def _restamp(obj: Object, old: Any, new: Any, *, observed_generation: bool = True) -> None:
    """Move the conditions' observedGeneration (and status.observedGeneration, with `observed_generation`) from
    generation `old` to `new`."""
    if old is None or new is None or old == new:
        return
    metadata(obj)["generation"] = new
    status = obj.setdefault("status", {})
    if observed_generation and status.get("observedGeneration") == old:
        status["observedGeneration"] = new
    for condition in status.get("conditions") or []:
        if condition.get("observedGeneration") == old:
            condition["observedGeneration"] = new


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
