"""Which old MachineSets a MachineDeployment deletes once its rollout is complete. Pure: no I/O.

The v1beta2 API keeps no revision history (there is no revisionHistoryLimit): every MachineSet of an older
template goes as soon as the MachineDeployment has all its replicas up to date and available, provided the
set is empty by both counts and its controller has seen its latest spec (a scale-down to 0 it has not acted
on yet does not count as empty). A paused rollout keeps its old MachineSets; a MachineDeployment being
deleted deletes all of them its own way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from herd.api.objects import nested
from herd.runtime import Object


def creation_order(ms: Object) -> tuple[str, str]:
    """Oldest first (names break ties)."""
    return str(nested(ms, "metadata", "creationTimestamp") or ""), str(nested(ms, "metadata", "name") or "")


def _count(obj: Object, *path: str) -> int:
    return int(nested(obj, *path) or 0)


def _sum(machine_sets: Iterable[Object], field: str) -> int:
    return sum(_count(ms, "status", field) for ms in machine_sets)


def _deleting(obj: Object) -> bool:
    return bool(nested(obj, "metadata", "deletionTimestamp"))


def rollout_complete(md: Object, machine_sets: Sequence[Object]) -> bool:
    """Every wanted replica exists, is up to date and available (no more, no fewer, summed over all the sets), and
    the MachineDeployment's controller had already acted on its latest spec."""
    replicas = nested(md, "spec", "replicas")
    if replicas is None:
        return False
    wanted = int(replicas)
    return (all(_sum(machine_sets, field) == wanted
                for field in ("replicas", "upToDateReplicas", "availableReplicas"))
            and _count(md, "status", "observedGeneration") >= _count(md, "metadata", "generation"))


def is_empty_and_settled(ms: Object) -> bool:
    """No Machines wanted or left, and the MachineSet's controller has seen that spec; not already being deleted."""
    return (_count(ms, "spec", "replicas") == 0 and _count(ms, "status", "replicas") == 0
            and _count(ms, "status", "observedGeneration") >= _count(ms, "metadata", "generation")
            and not _deleting(ms))


def machine_sets_to_delete(md: Object, new_machine_set: Object | None,
                           machine_sets: Sequence[Object]) -> list[Object]:
    """The old MachineSets (all but `new_machine_set`) to delete now, oldest first."""
    if new_machine_set is None or nested(md, "spec", "paused") is True or _deleting(md):
        return []
    if not rollout_complete(md, machine_sets):
        return []
    new_uid = nested(new_machine_set, "metadata", "uid")
    old = [ms for ms in machine_sets if nested(ms, "metadata", "uid") != new_uid]
    return sorted((ms for ms in old if is_empty_and_settled(ms)), key=creation_order)
