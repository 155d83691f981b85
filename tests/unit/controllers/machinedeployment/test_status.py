"""The MachineDeployment's status, computed from MachineSets and Machines without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from herd.controllers.machinedeployment import status
from herd.controllers.machinedeployment.scope import MachineDeploymentScope
from herd.runtime.conditions import get_condition

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def md(replicas: int | None = 3, *, deleting: bool = False, **rolling: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"clusterName": "c", "selector": {"matchLabels": {"pool": "a"}},
                            "template": {"spec": {"clusterName": "c"}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if rolling:
        spec["rollout"] = {"strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}
    meta: dict[str, Any] = {"name": "md", "namespace": "ns", "uid": "md-uid"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment", "metadata": meta, "spec": spec}


def ms(name: str, replicas: int, current: int, available: int, *, ready: int | None = None,
       up_to_date: int = 0) -> dict[str, Any]:
    return {"kind": "MachineSet", "metadata": {"name": name, "uid": f"{name}-uid"}, "spec": {"replicas": replicas},
            "status": {"replicas": current, "availableReplicas": available,
                       "readyReplicas": available if ready is None else ready, "upToDateReplicas": up_to_date}}


def machine(name: str, ready: str) -> dict[str, Any]:
    return {"kind": "Machine", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "R", "message": "m"},
                                      {"type": "UpToDate", "status": "True", "reason": "UpToDate"}]}}


def scope_of(obj: dict[str, Any], sets: list[dict[str, Any]], new: int | None = -1,
             machines: list[dict[str, Any]] | None = None) -> MachineDeploymentScope:
    scope = MachineDeploymentScope(md=obj, machine_sets=sets, machines=machines or [], now=NOW)
    scope.new_machine_set = sets[new] if sets and new is not None else None
    status.update_status(scope)
    return scope


def conditions(scope: MachineDeploymentScope) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in scope.md["status"]["conditions"]}


def test_counters_and_selector_are_summed_over_machine_sets() -> None:
    scope = scope_of(md(3), [ms("old", 1, 2, 2, up_to_date=0), ms("new", 2, 2, 1, ready=2, up_to_date=2)])
    got = {k: scope.status[k] for k in ("replicas", "readyReplicas", "availableReplicas", "upToDateReplicas")}
    assert got == {"replicas": 4, "readyReplicas": 4, "availableReplicas": 3, "upToDateReplicas": 2}
    assert scope.status["selector"] == "pool=a"


@pytest.mark.parametrize(("obj", "sets", "expected"), [
    (md(3), [ms("new", 3, 3, 3)], ("True", "Available")),
    (md(3), [ms("new", 3, 3, 2)], ("False", "NotAvailable")),
    (md(3, maxUnavailable=1), [ms("new", 3, 3, 2)], ("True", "Available")),
    (md(10, maxUnavailable="25%"), [ms("new", 10, 10, 8)], ("True", "Available")),
    (md(10, maxUnavailable="25%"), [ms("new", 10, 10, 7)], ("False", "NotAvailable")),
    (md(None), [ms("new", 3, 3, 3)], ("Unknown", "WaitingForReplicasSet")),
    (md(3, deleting=True), [ms("new", 3, 3, 3)], ("False", "NotAvailable")),
])
def test_available(obj: dict[str, Any], sets: list[dict[str, Any]], expected: tuple[str, str]) -> None:
    assert conditions(scope_of(obj, sets))["Available"] == expected


@pytest.mark.parametrize(("desired", "current", "up", "down", "phase"), [
    (3, 3, ("False", "NotScalingUp"), ("False", "NotScalingDown"), "Running"),
    (5, 3, ("True", "ScalingUp"), ("False", "NotScalingDown"), "ScalingUp"),
    (1, 3, ("False", "NotScalingUp"), ("True", "ScalingDown"), "ScalingDown"),
    (None, 3, ("Unknown", "WaitingForReplicasSet"), ("Unknown", "WaitingForReplicasSet"), "Unknown"),
])
def test_scaling_conditions_and_phase(desired: int | None, current: int, up: tuple[str, str],
                                      down: tuple[str, str], phase: str) -> None:
    scope = scope_of(md(desired), [ms("new", current, current, current)])
    got = conditions(scope)
    assert (got["ScalingUp"], got["ScalingDown"], scope.status["phase"]) == (up, down, phase)


def test_scaling_up_message_says_from_and_to() -> None:
    scope = scope_of(md(5), [ms("new", 5, 3, 3)])
    assert get_condition(scope.md, "ScalingUp")["message"] == "Scaling up from 3 to 5 replicas"  # type: ignore[index]


def test_rolling_out_while_old_machine_sets_have_machines() -> None:
    scope = scope_of(md(3), [ms("old", 2, 2, 2), ms("new", 2, 1, 0)])
    assert conditions(scope)["RollingOut"] == ("True", "RollingOut")
    assert get_condition(scope.md, "RollingOut")["message"].startswith("Rolling out 2 not up-to-date replicas")  # type: ignore[index]
    done = scope_of(md(3), [ms("old", 0, 0, 0), ms("new", 3, 3, 3)])
    assert conditions(done)["RollingOut"] == ("False", "NotRollingOut")


def test_machines_ready_and_up_to_date_aggregate_machines() -> None:
    none = conditions(scope_of(md(0), [ms("new", 0, 0, 0)]))
    assert none["MachinesReady"] == ("True", "NoReplicas")
    assert none["MachinesUpToDate"] == ("True", "NoReplicas")
    some = conditions(scope_of(md(2), [ms("new", 2, 2, 1)], machines=[machine("a", "True"), machine("b", "False")]))
    assert some["MachinesReady"] == ("False", "NotReady")
    assert some["MachinesUpToDate"] == ("True", "UpToDate")


def test_deleting_and_paused() -> None:
    live = conditions(scope_of(md(3), [ms("new", 3, 3, 3)]))
    assert (live["Deleting"], live["Paused"]) == (("False", "NotDeleting"), ("False", "NotPaused"))
    gone = scope_of(md(3, deleting=True), [])
    assert conditions(gone)["Deleting"] == ("True", "Deleting")
    assert conditions(gone)["ScalingDown"] == ("False", "NotScalingDown")
