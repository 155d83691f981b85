"""Which Machines go when a MachineSet scales down, and deleting a MachineSet's Machines with it.

The candidate order is upstream's: Machines already being deleted first (so a scale down never deletes
more while earlier deletions are still running), then those marked with the delete-machine annotation,
then those with an in-place update in progress, then unhealthy ones, then by `spec.deletion.order`.
Ties are broken by name, so the same Machines are picked every time. Pure except `reconcile_delete`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import DELETE_MACHINE_ANNOTATION, MACHINE_SET_FINALIZER, UPDATE_IN_PROGRESS_ANNOTATION
from herd.api.objects import nested, parse_time
from herd.runtime import NotFound, Object, Result
from herd.runtime.conditions import FALSE, get_condition
from herd.runtime.finalizers import remove_finalizer

from .scope import MachineSetScope

log = logging.getLogger("herd.controllers.machineset")

MUST_DELETE = 100.0
SHOULD_DELETE_FIRST = 80.0
SHOULD_DELETE = 75.0
BETTER_DELETE = 50.0
COULD_DELETE = 20.0
MUST_NOT_DELETE = 0.0
_SECONDS_PER_TEN_DAYS = 864000.0

RANDOM, NEWEST, OLDEST = "Random", "Newest", "Oldest"
DeletionPriority = Callable[[Object, datetime], float]


def is_machine_healthy(machine: Object) -> bool:
    """Healthy for the sake of ordering: it has a Node, and neither NodeHealthy nor HealthCheckSucceeded is False."""
    if not nested(machine, "status", "nodeRef", "name"):
        return False
    for type_ in ("NodeHealthy", "HealthCheckSucceeded"):
        found = get_condition(machine, type_)
        if found is not None and found.get("status") == FALSE:
            return False
    return True


def _urgent_priority(machine: Object) -> float | None:
    """The priority every order shares for Machines that should go before the others (None: no urgency)."""
    meta = machine.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return MUST_DELETE
    annotations = meta.get("annotations") or {}
    if DELETE_MACHINE_ANNOTATION in annotations:
        return SHOULD_DELETE_FIRST
    if UPDATE_IN_PROGRESS_ANNOTATION in annotations:
        return SHOULD_DELETE
    if not is_machine_healthy(machine):
        return BETTER_DELETE
    return None


def _age_priority(machine: Object, now: datetime) -> float:
    """Older Machines score higher, approaching BETTER_DELETE over some ten days."""
    created = parse_time(nested(machine, "metadata", "creationTimestamp"))
    if created is None:
        return MUST_NOT_DELETE
    age = (now - created).total_seconds()
    if age < 0:
        return MUST_NOT_DELETE
    return BETTER_DELETE * (1.0 - math.exp(-age / _SECONDS_PER_TEN_DAYS))


def oldest_priority(machine: Object, now: datetime) -> float:
    urgent = _urgent_priority(machine)
    return urgent if urgent is not None else _age_priority(machine, now)


def newest_priority(machine: Object, now: datetime) -> float:
    urgent = _urgent_priority(machine)
    return urgent if urgent is not None else BETTER_DELETE - _age_priority(machine, now)


def random_priority(machine: Object, now: datetime) -> float:
    urgent = _urgent_priority(machine)
    return urgent if urgent is not None else COULD_DELETE


def priority_for(order: str | None) -> DeletionPriority:
    """The priority function of `spec.deletion.order` (unset means Random); ValueError for anything else."""
    orders: dict[str, DeletionPriority] = {RANDOM: random_priority, NEWEST: newest_priority, OLDEST: oldest_priority}
    found = orders.get(order or RANDOM)
    if found is None:
        raise ValueError(f"unsupported deletion order {order!r}: must be one of 'Random', 'Newest' or 'Oldest'")
    return found


def machines_to_delete(machines: Sequence[Object], surplus: int, order: str | None, now: datetime) -> list[Object]:
    """The `surplus` Machines to delete, most deletable first (higher priority, then name)."""
    if surplus <= 0:
        return []
    priority = priority_for(order)
    ranked = sorted(machines, key=lambda m: (-priority(m, now), str(nested(m, "metadata", "name") or "")))
    return ranked[:surplus]


async def delete_machine(scope: MachineSetScope, machine: Object) -> bool:
    """Delete one of the MachineSet's Machines; False when it was already being deleted, or gone."""
    meta = machine["metadata"]
    if meta.get("deletionTimestamp"):
        return False
    try:
        await scope.io.client.delete(MACHINE, meta["name"], scope.namespace)
    except NotFound:
        return False
    return True


async def reconcile_delete(scope: MachineSetScope) -> Result | None:
    """Delete every Machine of the MachineSet; once none is left, let the MachineSet go (remove our finalizer)."""
    if not scope.machines_listed:
        return None
    if not scope.machines:
        remove_finalizer(scope.machine_set, MACHINE_SET_FINALIZER)
        return None
    for machine in scope.machines:
        if await delete_machine(scope, machine):
            log.info("machineset %s: deleting Machine %s (MachineSet deleted)", scope.key, machine["metadata"]["name"])
    names = ", ".join(sorted(str(m["metadata"]["name"]) for m in scope.machines))
    log.info("machineset %s: waiting for Machines to be deleted: %s", scope.key, names)
    return None  # each Machine's deletion wakes us (we own them)
