"""Which old MachineSets a MachineDeployment deletes after a rollout, decided without a server."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.machinedeployment.cleanup import machine_sets_to_delete, rollout_complete


def md(replicas: int | None = 3, *, generation: int = 2, observed: int = 2, paused: bool = False,
       deleting: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"clusterName": "c", "paused": paused}
    if replicas is not None:
        spec["replicas"] = replicas
    meta: dict[str, Any] = {"name": "md", "namespace": "ns", "uid": "md-uid", "generation": generation}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"kind": "MachineDeployment", "metadata": meta, "spec": spec, "status": {"observedGeneration": observed}}


def ms(name: str, replicas: int = 0, current: int = 0, *, available: int | None = None, up_to_date: int | None = None,
       generation: int = 3, observed: int = 3, created: str = "2026-01-01T00:00:00Z",
       deleting: bool = False) -> dict[str, Any]:
    """A MachineSet whose counters default to all `current` Machines available and up to date."""
    meta: dict[str, Any] = {"name": name, "uid": f"{name}-uid", "generation": generation,
                            "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"kind": "MachineSet", "metadata": meta, "spec": {"replicas": replicas},
            "status": {"replicas": current, "observedGeneration": observed,
                       "availableReplicas": current if available is None else available,
                       "upToDateReplicas": current if up_to_date is None else up_to_date}}


NEW = ms("new", 3, 3, created="2026-01-03T00:00:00Z")
CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[str]]] = [
    ("the emptied old set goes once the rollout is complete", md(), [ms("old"), NEW], ["old"]),
    ("every emptied old set goes, oldest first", md(),
     [NEW, ms("b", created="2026-01-02T00:00:00Z"), ms("a", created="2026-01-01T00:00:00Z")], ["a", "b"]),
    ("no old sets: nothing", md(), [NEW], []),
    ("an old set still wanting Machines stays", md(3), [ms("old", 1, 0), ms("new", 3, 3)], []),
    ("an old set with Machines left makes the rollout incomplete", md(3), [ms("old", 0, 1), NEW], []),
    ("a scale-down to 0 its controller has not seen yet is not empty", md(),
     [ms("old", generation=4, observed=3), NEW], []),
    ("an old set already being deleted is not deleted again", md(), [ms("old", deleting=True), NEW], []),
    ("new Machines not all available: the rollout is not complete", md(),
     [ms("old"), ms("new", 3, 3, available=2)], []),
    ("new Machines not all up to date: the rollout is not complete", md(),
     [ms("old"), ms("new", 3, 3, up_to_date=2)], []),
    ("fewer Machines than wanted: not complete", md(4), [ms("old"), NEW], []),
    ("a spec the MachineDeployment's controller has not acted on yet: not complete", md(generation=3, observed=2),
     [ms("old"), NEW], []),
    ("a paused MachineDeployment keeps its old sets", md(paused=True), [ms("old"), NEW], []),
    ("a MachineDeployment being deleted deletes its sets another way", md(deleting=True), [ms("old"), NEW], []),
    ("no replicas set: never complete", md(None), [ms("old"), NEW], []),
    ("scaled to zero: the emptied old sets go too", md(0), [ms("old"), ms("new")], ["old"]),
]


@pytest.mark.parametrize(("deployment", "machine_sets", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_old_machine_sets_deleted_after_a_rollout(deployment: dict[str, Any], machine_sets: list[dict[str, Any]],
                                                  expected: list[str]) -> None:
    new = next(s for s in machine_sets if s["metadata"]["name"] == "new")
    deleted = machine_sets_to_delete(deployment, new, machine_sets)
    assert [s["metadata"]["name"] for s in deleted] == expected


def test_nothing_is_deleted_before_the_new_machine_set_is_known() -> None:
    assert machine_sets_to_delete(md(), None, [ms("old"), NEW]) == []


def test_complete_counts_the_machines_of_every_set() -> None:
    assert rollout_complete(md(3), [ms("a", 2, 2), ms("b", 1, 1)])
    assert not rollout_complete(md(3), [ms("a", 3, 3), ms("b", 0, 1, up_to_date=0)])
