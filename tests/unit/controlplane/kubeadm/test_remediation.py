"""Which control plane Machines a KubeadmControlPlane remediates, and what it says on a Machine it will not
remediate now (its OwnerRemediated condition): from a scope, no server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.controlplane import (
    Change,
    at,
    condition,
    etcd,
    healthy,
    healthy_scope,
    kcp,
    machine,
    replaced,
    then,
    view,
)

from herd.controlplane.kubeadm.remediation import needs_remediation, refusal
from herd.controlplane.kubeadm.scope import ControlPlaneScope

CANNOT = "CannotBeRemediated"
DEFERRED = "RemediationDeferred"
IN_PROGRESS = "controlplane.cluster.x-k8s.io/remediation-in-progress"
REMEDIATION_FOR = "controlplane.cluster.x-k8s.io/remediation-for"


def marked(name: str = "a", **args: Any) -> dict[str, Any]:
    """A Machine a MachineHealthCheck found unhealthy and left to its owner."""
    return machine(name, conditions=[condition("HealthCheckSucceeded", "False", "UnhealthyNode"),
                                     condition("OwnerRemediated", "False", "WaitingForRemediation")], **args)


@pytest.mark.parametrize(("conditions", "expected"), [
    pytest.param([("HealthCheckSucceeded", "False"), ("OwnerRemediated", "False")], True, id="left-to-the-owner"),
    pytest.param([("HealthCheckSucceeded", "False")], False, id="external-remediation"),
    pytest.param([("HealthCheckSucceeded", "True"), ("OwnerRemediated", "False")], False, id="healthy-again"),
    pytest.param([("HealthCheckSucceeded", "Unknown"), ("OwnerRemediated", "False")], False, id="not-yet-known"),
    pytest.param([], False, id="no-health-check"),
])
def test_needs_remediation(conditions: list[tuple[str, str]], expected: bool) -> None:
    assert needs_remediation(machine("a", conditions=[condition(t, s) for t, s in conditions])) is expected


def remediated_before(retries: int, *, when: str, created: str) -> Change:
    """The target replaces a Machine remediated `retries` times already, last `when`; it was created `created`."""
    record = json.dumps({"machine": "first", "timestamp": when, "retryCount": retries})

    def change(s: ControlPlaneScope) -> None:
        s.machines[0] = marked(created=created, annotations={REMEDIATION_FOR: record})
    return change


def remediation(**settings: int) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.kcp = kcp({"remediation": settings})
    return change


def one_replica(s: ControlPlaneScope) -> None:
    s.kcp = kcp({"replicas": 1})


def only_the_target(s: ControlPlaneScope) -> None:
    s.machines = s.machines[:1]


def in_progress(s: ControlPlaneScope) -> None:
    s.kcp = kcp(annotations={IN_PROGRESS: json.dumps({"machine": "x", "timestamp": at(minutes=-1), "retryCount": 0})})


b_deleting = replaced("b", deleting=True)
c_without_node = replaced("c", node=False)


def b_etcd_down(s: ControlPlaneScope) -> None:
    s.view = view(etcd("node-a", "node-b", "node-c", failures={"node-a": "timeout", "node-b": "connection refused"}))


def etcd_not_inspected(s: ControlPlaneScope) -> None:
    s.view = None


def others_unhealthy(s: ControlPlaneScope) -> None:
    s.machine_conditions["b"] = healthy(APIServerPodHealthy="False")
    s.machine_conditions["c"] = healthy(SchedulerPodHealthy="Unknown")


def one_replica_rolling_out(s: ControlPlaneScope) -> None:
    s.kcp = kcp({"replicas": 1})
    s.machines = s.machines[:2]
    s.view = view(etcd("node-a", "node-b", failures={"node-a": "timeout"}))


def first_machine_failed(s: ControlPlaneScope) -> None:
    s.kcp = kcp(initialized=False)
    s.machines = [marked(node=False)]
    s.view = None
    s.machine_conditions = {}


@pytest.mark.parametrize(("change", "expected"), [
    pytest.param(None, None, id="safe-to-remediate"),
    pytest.param(one_replica, None, id="spec-replicas-one-while-three-machines-run-is-no-reason"),
    pytest.param(only_the_target, (CANNOT, "current replicas are less or equal to 1"), id="one-machine"),
    pytest.param(in_progress, (DEFERRED, "another remediation in progress"), id="another-remediation-in-progress"),
    pytest.param(b_deleting, (DEFERRED, "Machine's deletion to complete"), id="another-machine-deleting"),
    pytest.param(c_without_node, (DEFERRED, "Machine's provisioning to complete"), id="another-machine-without-node"),
    pytest.param(b_etcd_down, (CANNOT, "etcd losing quorum"), id="etcd-would-lose-quorum"),
    pytest.param(etcd_not_inspected, (CANNOT, "etcd losing quorum"), id="etcd-not-inspected"),
    pytest.param(others_unhealthy, (CANNOT, "no other Machine is fully healthy"), id="no-other-healthy-machine"),
    pytest.param(then(remediation(maxRetry=2), remediated_before(2, when=at(minutes=-30), created=at(minutes=-20))),
                 (CANNOT, "already failed 2 times (MaxRetry)"), id="max-retry-reached"),
    pytest.param(then(remediation(maxRetry=2), remediated_before(1, when=at(minutes=-30), created=at(minutes=-20))),
                 None, id="retries-left"),
    pytest.param(then(remediation(retryPeriodSeconds=3600),
                      remediated_before(0, when=at(minutes=-30), created=at(minutes=-20))),
                 (DEFERRED, "already failed in the latest 1h0m0s (RetryPeriodSeconds)"), id="within-retry-period"),
    pytest.param(then(remediation(retryPeriodSeconds=600),
                      remediated_before(0, when=at(minutes=-30), created=at(minutes=-20))),
                 None, id="retry-period-over"),
    pytest.param(then(remediation(maxRetry=1), remediated_before(1, when=at(hours=-3), created=at(minutes=-50))),
                 None, id="last-remediation-longer-ago-than-the-default-min-healthy-period-starts-over"),
    pytest.param(then(remediation(maxRetry=1), remediated_before(1, when=at(minutes=-30), created=at(minutes=-20))),
                 (CANNOT, "already failed 1 times (MaxRetry)"), id="max-retry-reached-within-min-healthy-period"),
    pytest.param(then(remediation(maxRetry=1, minHealthyPeriodSeconds=3600, retryPeriodSeconds=86400),
                      remediated_before(5, when=at(hours=-3), created=at(hours=-2))),
                 None, id="healthy-longer-than-min-healthy-period-starts-over"),
    pytest.param(one_replica_rolling_out, None, id="one-replica-while-rolling-out-counts-current-machines"),
    pytest.param(first_machine_failed, None, id="first-machine-failed-before-init"),
])
def test_refusal_names_the_cause(change: Change | None,
                                 expected: tuple[str, str] | None) -> None:
    s = healthy_scope()
    s.machines[0] = marked()
    s.view = view(etcd("node-a", "node-b", "node-c", failures={"node-a": "timeout"}))
    if change is not None:
        change(s)
    refused = refusal(s, s.machines[0])
    if expected is None:
        assert refused is None
    else:
        assert refused is not None
        reason, fragment = expected
        assert refused[0] == reason
        assert fragment in refused[1], refused[1]
