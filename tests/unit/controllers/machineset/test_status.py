"""The MachineSet's counters and conditions for each situation, from a scope: no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.controllers.machineset import status
from herd.controllers.machineset.scope import MachineSetScope
from herd.runtime.conditions import get_condition

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
LONG_AGO = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
JUST_NOW = (NOW - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def machine_set(replicas: int | None = 3, *, deleting: bool = False, owner: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "ms", "namespace": "ns", "uid": "ms-uid"}
    if deleting:
        meta["deletionTimestamp"] = LONG_AGO
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
                                    "name": owner, "uid": "md-uid", "controller": True}]
    spec: dict[str, Any] = {"clusterName": "c", "selector": {"matchLabels": {"pool": "a", "x": "y"}},
                            "template": {"spec": {"clusterName": "c", "version": "v1.33.0",
                                                  "bootstrap": {"configRef": {"kind": "KubeadmConfigTemplate"}},
                                                  "infrastructureRef": {"kind": "DevMachineTemplate"}}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"kind": "MachineSet", "metadata": meta, "spec": spec}


def machine(name: str, *, ready: str | None = "True", available: str | None = "True",
            up_to_date: str | None = "True", remediate: bool = False, created: str = LONG_AGO,
            deleting_since: str = "") -> dict[str, Any]:
    conditions = [{"type": t, "status": s, "reason": "R", "message": f"{t} is {s}" if s != "True" else ""}
                  for t, s in (("Ready", ready), ("Available", available), ("UpToDate", up_to_date)) if s]
    if remediate:
        conditions.append({"type": "OwnerRemediated", "status": "False", "reason": "WaitingForRemediation",
                           "message": "Waiting for remediation"})
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if deleting_since:
        meta["deletionTimestamp"] = deleting_since
    return {"kind": "Machine", "metadata": meta, "status": {"conditions": conditions}}


def scope(ms: dict[str, Any] | None = None, machines: list[dict[str, Any]] | None = None, *, listed: bool = True,
          infra_missing: bool = False, bootstrap_missing: bool = False,
          deployment: dict[str, Any] | None = None) -> MachineSetScope:
    return MachineSetScope(machine_set=ms or machine_set(), machines=machines or [], machines_listed=listed,
                           infra_template_not_found=infra_missing, bootstrap_template_not_found=bootstrap_missing,
                           machine_deployment=deployment, now=NOW)


def summary(c: dict[str, Any]) -> tuple[str, str, str]:
    return c["status"], c["reason"], c.get("message", "")


def test_replica_counters_count_ready_available_and_up_to_date_machines() -> None:
    s = scope(machines=[machine("a"), machine("b", ready="False", available="False"), machine("c", up_to_date=None)])
    status.update_status(s)
    st = s.machine_set["status"]
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"], st["upToDateReplicas"]) == (3, 2, 2, 2)
    assert st["selector"] == "pool=a,x=y"


def test_counters_are_left_alone_when_machines_could_not_be_listed() -> None:
    ms = machine_set()
    ms["status"] = {"replicas": 7}
    s = scope(ms, listed=False)
    status.update_status(s)
    assert s.machine_set["status"]["replicas"] == 7
    assert summary(get_condition(s.machine_set, "ScalingUp") or {})[:2] == ("Unknown", "InternalError")


@pytest.mark.parametrize(("replicas", "count", "infra_missing", "bootstrap_missing", "expected"), [
    (3, 1, False, False, ("True", "ScalingUp", "Scaling up from 1 to 3 replicas")),
    (3, 3, False, False, ("False", "NotScalingUp", "")),
    (3, 1, True, False, ("True", "ScalingUp",
                         "Scaling up from 1 to 3 replicas is blocked because DevMachineTemplate does not exist")),
    (1, 1, True, True, ("False", "NotScalingUp", "Scaling up would be blocked because KubeadmConfigTemplate and "
                                                 "DevMachineTemplate do not exist")),
    (None, 0, False, False, ("Unknown", "WaitingForReplicasSet", "Waiting for spec.replicas set")),
])
def test_scaling_up(replicas: int | None, count: int, infra_missing: bool, bootstrap_missing: bool,
                    expected: tuple[str, str, str]) -> None:
    s = scope(machine_set(replicas), [machine(f"m{i}") for i in range(count)], infra_missing=infra_missing,
              bootstrap_missing=bootstrap_missing)
    assert summary(status.scaling_up_condition(s)) == expected


@pytest.mark.parametrize(("replicas", "machines", "deleting", "expected"), [
    (1, [machine("a"), machine("b")], False, ("True", "ScalingDown", "Scaling down from 2 to 1 replicas")),
    (2, [machine("a"), machine("b")], False, ("False", "NotScalingDown", "")),
    (2, [machine("a")], True, ("True", "ScalingDown", "Scaling down from 1 to 0 replicas")),
    (1, [machine("a"), machine("b", deleting_since=LONG_AGO)], False,
     ("True", "ScalingDown", "Scaling down from 2 to 1 replicas\n* Machine b is in deletion since more than 15m")),
])
def test_scaling_down(replicas: int, machines: list[dict[str, Any]], deleting: bool,
                      expected: tuple[str, str, str]) -> None:
    s = scope(machine_set(replicas, deleting=deleting), machines)
    assert summary(status.scaling_down_condition(s)) == expected


@pytest.mark.parametrize(("machines", "expected"), [
    ([], ("True", "NoReplicas", "")),
    ([machine("a"), machine("b")], ("True", "Ready", "")),
    ([machine("a"), machine("b", ready="False")], ("False", "NotReady", "* Machine b: Ready is False")),
    ([machine("a", ready="Unknown")], ("Unknown", "ReadyUnknown", "* Machine a: Ready is Unknown")),
])
def test_machines_ready(machines: list[dict[str, Any]], expected: tuple[str, str, str]) -> None:
    assert summary(status.machines_ready_condition(scope(machines=machines))) == expected


@pytest.mark.parametrize(("machines", "expected"), [
    ([], ("True", "NoReplicas", "")),
    ([machine("new", up_to_date=None, created=JUST_NOW)], ("True", "NoReplicas", "")),
    ([machine("a"), machine("new", up_to_date=None, created=JUST_NOW)], ("True", "UpToDate", "")),
    ([machine("a", up_to_date="False")], ("False", "NotUpToDate", "* Machine a: UpToDate is False")),
    ([machine("old", up_to_date=None)], ("Unknown", "UpToDateUnknown", "* Machine old: Condition UpToDate not yet "
                                                                        "reported")),
])
def test_machines_up_to_date_ignores_brand_new_machines(machines: list[dict[str, Any]],
                                                        expected: tuple[str, str, str]) -> None:
    assert summary(status.machines_up_to_date_condition(scope(machines=machines))) == expected


def test_remediating() -> None:
    assert summary(status.remediating_condition(scope(machines=[machine("a")]))) == ("False", "NotRemediating", "")
    cond = status.remediating_condition(scope(machines=[machine("a"), machine("b", remediate=True)]))
    assert summary(cond) == ("True", "Remediating", "* Machine b: Waiting for remediation")


@pytest.mark.parametrize(("deleting", "machines", "expected"), [
    (False, [machine("a")], ("False", "NotDeleting", "")),
    (True, [machine("a"), machine("b")], ("True", "Deleting", "Deleting 2 Machines")),
    (True, [], ("True", "Deleting", "")),
])
def test_deleting(deleting: bool, machines: list[dict[str, Any]], expected: tuple[str, str, str]) -> None:
    assert summary(status.deleting_condition(scope(machine_set(deleting=deleting), machines))) == expected


def test_machines_of_a_stand_alone_set_are_up_to_date() -> None:
    assert summary(status.machine_up_to_date_condition(scope()))[:2] == ("True", "UpToDate")


def test_machines_of_a_deployment_are_up_to_date_while_the_templates_match() -> None:
    ms = machine_set(owner="md")
    deployment = {"metadata": {"name": "md", "uid": "md-uid"}, "spec": {"template": ms["spec"]["template"]}}
    assert summary(status.machine_up_to_date_condition(scope(ms, deployment=deployment)))[:2] == ("True", "UpToDate")
    newer = {"spec": {**ms["spec"]["template"]["spec"], "version": "v1.34.0"}}
    deployment["spec"] = {"template": newer}
    assert summary(status.machine_up_to_date_condition(scope(ms, deployment=deployment)))[:2] == \
        ("False", "NotUpToDate")
