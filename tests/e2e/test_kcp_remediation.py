"""A KubeadmControlPlane remediating the control-plane Machines its MachineHealthCheck marks unhealthy, with
faults injected with `herd.dev/fail` on their DevMachines — all through kubectl against `herd up`:

- 1 of 3 VMs gone: the Machine is replaced, its etcd member removed, and the replacement says what it replaced
  in `controlplane.cluster.x-k8s.io/remediation-for`;
- 2 of 3 VMs gone: remediation is refused, the Machine's OwnerRemediated condition names the etcd quorum, the
  KubeadmControlPlane is Remediating=True and no Machine is deleted or added;
- 1 replica whose Node is NotReady: refused, as replicas ≤ 1;
- retryPeriodSeconds: a replacement failing again soon after is not remediated before the period ends;
- maxRetry 0: a replacement failing again is not remediated at all.

The scenarios' clusters come up side by side, one namespace each, in one `herd up`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from support import waiting
from support.herd_up import herd_up
from support.kcp import (
    FAIL,
    REMEDIATION_FOR,
    ControlPlaneHerd,
    conditions,
    deleting,
    ha_cluster,
    name,
    node_name,
    summary,
)
from support.waiting import eventually_sync

HEALTH_CHECK = {"checks": {"nodeStartupTimeoutSeconds": 30,
                           "unhealthyNodeConditions": [{"type": "Ready", "status": status, "timeoutSeconds": 2}
                                                       for status in ("False", "Unknown")]}}
SCENARIOS: dict[str, dict[str, Any]] = {  # namespace: the KubeadmControlPlane's replicas and remediation
    "one-of-three": {"replicas": 3},
    "two-of-three": {"replicas": 3},
    "single": {"replicas": 1},
    "retry-period": {"replicas": 3, "kcp": {"remediation": {"retryPeriodSeconds": 3600}}},
    "max-retry": {"replicas": 3, "kcp": {"remediation": {"maxRetry": 0}}},
}

eventually = functools.partial(eventually_sync, timeout=120.0, poll=0.5)
throughout = functools.partial(waiting.throughout, seconds=6.0, poll=0.5)  # three times the health check's timeout


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), ControlPlaneHerd) as running:
        for namespace, scenario in SCENARIOS.items():
            running.apply(namespace, ha_cluster(namespace, workers=0, health_checks=True,
                                                control_plane_health_check=HEALTH_CHECK, **scenario))
        yield running


def fail(herd: ControlPlaneHerd, namespace: str, machine: dict[str, Any], fault: str) -> None:
    herd.kubectl("annotate", "devmachine", machine["spec"]["infrastructureRef"]["name"], "-n", namespace,
                 f"{FAIL}={fault}")


def owner_remediated(herd: ControlPlaneHerd, namespace: str, machines: set[str]) -> dict[str, Any]:
    """Once one of `machines` has OwnerRemediated=False with a reason: that condition."""
    def probe() -> dict[str, Any]:
        found = [conditions(m).get("OwnerRemediated") for m in herd.control_plane_machines(namespace)
                 if name(m) in machines]
        refused = [c for c in found if c and c["status"] == "False" and c.get("reason") != "WaitingForRemediation"]
        assert refused, found
        return refused[0]
    condition: dict[str, Any] = eventually(probe, f"OwnerRemediated=False on one of {sorted(machines)}")
    return condition


def nothing_changes(herd: ControlPlaneHerd, namespace: str, expected: set[str]) -> None:
    def probe() -> None:
        machines = herd.control_plane_machines(namespace)
        assert {name(m) for m in machines} == expected and not any(deleting(m) for m in machines), summary(machines)
    throughout(probe)


def replaced(herd: ControlPlaneHerd, namespace: str, failed: dict[str, Any],
             old: set[str]) -> dict[str, Any]:
    """Once `failed` is replaced by one new available Machine and etcd has the new Machines' Nodes as its
    members: the replacement."""
    machines = herd.control_plane_available(namespace, 3, without={name(failed)})
    [replacement] = [m for m in machines if name(m) not in old]
    nodes = sorted(str(node_name(m)) for m in machines)

    def members() -> None:
        assert herd.etcd(namespace, nodes[0]).members == tuple(nodes)
    eventually(members, "etcd's members are the Machines' Nodes")
    assert node_name(failed) not in herd.etcd(namespace, nodes[0]).members
    return replacement


def remediation_for(machine: dict[str, Any]) -> dict[str, Any]:
    value = (machine["metadata"].get("annotations") or {}).get(REMEDIATION_FOR)
    assert value, machine["metadata"]
    data: dict[str, Any] = json.loads(value)
    return data


@pytest.mark.timeout(300)
def test_one_failed_machine_of_three_is_replaced_and_its_etcd_member_removed(herd: ControlPlaneHerd) -> None:
    namespace = "one-of-three"
    machines = herd.control_plane_available(namespace, 3)
    failed = machines[0]
    fail(herd, namespace, failed, "vm-gone")
    replacement = replaced(herd, namespace, failed, {name(m) for m in machines})
    record = remediation_for(replacement)
    assert record["machine"] == name(failed) and record.get("retryCount", 0) == 0, record
    kcp = herd.kcp(namespace)
    assert conditions(kcp)["Remediating"]["status"] == "False", conditions(kcp)["Remediating"]


@pytest.mark.timeout(300)
def test_two_failed_machines_of_three_are_not_remediated_as_etcd_would_lose_quorum(herd: ControlPlaneHerd) -> None:
    namespace = "two-of-three"
    machines = herd.control_plane_available(namespace, 3)
    failed = {name(m) for m in machines[:2]}
    for machine in machines[:2]:
        fail(herd, namespace, machine, "vm-gone")
    condition = owner_remediated(herd, namespace, failed)
    assert condition["reason"] == "CannotBeRemediated" and "quorum" in condition["message"], condition

    def remediating() -> None:
        remediating = conditions(herd.kcp(namespace)).get("Remediating", {})
        assert remediating.get("status") == "True", remediating
    eventually(remediating, "the KubeadmControlPlane Remediating")
    nothing_changes(herd, namespace, {name(m) for m in machines})


@pytest.mark.timeout(300)
def test_a_single_replica_is_not_remediated(herd: ControlPlaneHerd) -> None:
    namespace = "single"
    [machine] = herd.control_plane_available(namespace, 1)
    fail(herd, namespace, machine, "node-not-ready")
    condition = owner_remediated(herd, namespace, {name(machine)})
    assert condition["reason"] == "CannotBeRemediated", condition
    assert "less or equal to 1" in condition["message"], condition
    nothing_changes(herd, namespace, {name(machine)})


def fail_twice(herd: ControlPlaneHerd, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fail a Machine, wait for its replacement, fail that too: (the replacement, its OwnerRemediated)."""
    machines = herd.control_plane_available(namespace, 3)
    fail(herd, namespace, machines[0], "vm-gone")
    replacement = replaced(herd, namespace, machines[0], {name(m) for m in machines})
    fail(herd, namespace, replacement, "vm-gone")
    return replacement, owner_remediated(herd, namespace, {name(replacement)})


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("namespace", "reason", "limit"), [("retry-period", "RemediationDeferred", "RetryPeriod"),
                                                           ("max-retry", "CannotBeRemediated", "MaxRetry")])
def test_a_replacement_failing_again_is_not_remediated_within_the_retry_limits(
        herd: ControlPlaneHerd, namespace: str, reason: str, limit: str) -> None:
    replacement, condition = fail_twice(herd, namespace)
    assert condition["reason"] == reason and limit in condition["message"], condition
    nothing_changes(herd, namespace, {name(m) for m in herd.control_plane_machines(namespace)})
    assert name(replacement) in {name(m) for m in herd.control_plane_machines(namespace)}
