"""The KubeadmControlPlane's status as `kubectl get kcp -o yaml` shows it, for each situation, from a scope: no
server."""

from __future__ import annotations

import pytest
from support.controlplane import (
    Change,
    condition,
    etcd,
    healthy,
    healthy_scope,
    kcp,
    machine,
    replaced,
    scope,
    then,
    view,
)

from herd.controlplane.kubeadm.scope import ControlPlaneScope
from herd.controlplane.kubeadm.status import update_status
from herd.runtime.conditions import get_condition

CANNOT_REMEDIATE = "KubeadmControlPlane can't remediate this Machine because this could result in etcd losing quorum"


def test_counters_version_and_selector() -> None:
    machines = [machine("a", version="v1.30.10", conditions=[condition("Ready"), condition("Available")]),
                machine("b", version="v1.30.9", conditions=[condition("Ready"), condition("Available", "False")]),
                machine("c", conditions=[condition("Ready", "Unknown")]),
                machine("d", version="v1.30.10", deleting=True)]
    s = scope(kcp(), machines, outdated={"a": ["Version v1.30.10 is not v1.31.0"],
                                         "b": ["Version v1.30.9 is not v1.31.0"]})
    update_status(s)
    status = s.kcp["status"]
    assert {k: status[k] for k in ("replicas", "readyReplicas", "availableReplicas", "upToDateReplicas", "version",
                                   "selector")} == {
        "replicas": 4, "readyReplicas": 2, "availableReplicas": 1, "upToDateReplicas": 2,
        "version": "v1.30.9",  # the lowest, compared as versions and not as text
        "selector": "cluster.x-k8s.io/cluster-name=prod,cluster.x-k8s.io/control-plane"}


def test_no_version_before_the_first_machine() -> None:
    s = scope(kcp(initialized=False))
    update_status(s)
    assert "version" not in s.kcp["status"]
    assert s.kcp["status"]["replicas"] == 0


def replicas(n: int) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.kcp["spec"]["replicas"] = n
    return change


def blocked_up(*blockers: str) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.scale_up_blockers = list(blockers)
    return change


def blocked_down(*blockers: str) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.scale_down_blockers = list(blockers)
    return change


def outdated(**reasons: list[str]) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.outdated = dict(reasons)
    return change


def kcp_deleting(s: ControlPlaneScope) -> None:
    s.kcp["metadata"]["deletionTimestamp"] = "2025-06-01T11:59:00Z"


c_deleting = replaced("c", deleting=True)


def remediating_a(s: ControlPlaneScope) -> None:
    s.machines[0] = machine("a", conditions=[condition("OwnerRemediated", "False", "CannotBeRemediated",
                                                       CANNOT_REMEDIATE)])
    s.remediating = ["a", "b"]


def waiting_for_workers(s: ControlPlaneScope) -> None:
    kcp_deleting(s)
    s.deleting_message = ("WaitingForWorkersDeletion", "* Worker Machines: w1, w2")


def not_initialized_nothing_known(s: ControlPlaneScope) -> None:
    s.kcp = kcp(initialized=False)
    s.certificates_error = "Secret prod-ca has no tls.key"
    s.view = None


def etcd_view(members: tuple[str, ...] = ("node-a", "node-b", "node-c"), *, failures: dict[str, str] | None = None,
              alarms: tuple[str, ...] = ()) -> Change:
    def change(s: ControlPlaneScope) -> None:
        s.view = view(etcd(*members, failures=failures, alarms=alarms))
    return change


def components(**by_machine: dict[str, str]) -> Change:
    def change(s: ControlPlaneScope) -> None:
        for name, overrides in by_machine.items():
            s.machine_conditions[name] = healthy(**overrides)
    return change


def ready(**by_machine: str) -> Change:
    """Each Machine's Ready condition: True unless given ("" for not reported yet)."""
    def change(s: ControlPlaneScope) -> None:
        for m in s.machines:
            status = by_machine.get(m["metadata"]["name"], "True")
            message = "" if status == "True" else f"Node node-{m['metadata']['name']} is not ready"
            m["status"]["conditions"] = [condition("Ready", status, "R", message)] if status else []
    return change


def no_machines(s: ControlPlaneScope) -> None:
    s.machines = []
    s.machine_conditions = {}


def etcd_members_disagree(s: ControlPlaneScope) -> None:
    s.view = view(etcd("node-a", "node-b", "node-c"))
    assert s.view.etcd is not None
    s.view.etcd.disagreement = "etcd members do not agree on the member list"


UNREACHABLE = "the workload cluster's API server cannot be reached: connection refused"


def workload_unreachable(s: ControlPlaneScope) -> None:
    s.view = view(error=UNREACHABLE)


NODE_BLOCKER = "Waiting for Machine c to have a Node"
ETCD_BLOCKER = "Machine b does not have healthy control plane components: EtcdMemberHealthy"


@pytest.mark.parametrize(("change", "type_", "expected"), [
    pytest.param(None, "ScalingUp", ("False", "NotScalingUp", ""), id="scaling-up-at-size"),
    pytest.param(replicas(5), "ScalingUp", ("True", "ScalingUp", "Scaling up from 3 to 5 replicas"),
                 id="scaling-up"),
    pytest.param(then(replicas(5), blocked_up(NODE_BLOCKER, ETCD_BLOCKER)), "ScalingUp",
                 ("True", "ScalingUp", f"Scaling up from 3 to 5 replicas is blocked because:\n* {NODE_BLOCKER}\n"
                                       f"* {ETCD_BLOCKER}"), id="scaling-up-blocked-names-the-blockers"),
    pytest.param(blocked_up(ETCD_BLOCKER), "ScalingUp",
                 ("True", "ScalingUp", f"Adding a replica is blocked because:\n* {ETCD_BLOCKER}"),
                 id="rollout-adding-a-replica-blocked"),
    pytest.param(None, "ScalingDown", ("False", "NotScalingDown", ""), id="scaling-down-at-size"),
    pytest.param(replicas(1), "ScalingDown", ("True", "ScalingDown", "Scaling down from 3 to 1 replicas"),
                 id="scaling-down"),
    pytest.param(then(replicas(1), blocked_down(NODE_BLOCKER)), "ScalingDown",
                 ("True", "ScalingDown", f"Scaling down from 3 to 1 replicas is blocked because:\n* {NODE_BLOCKER}"),
                 id="scaling-down-blocked"),
    pytest.param(kcp_deleting, "ScalingDown", ("True", "ScalingDown", "Scaling down from 3 to 0 replicas"),
                 id="scaling-down-to-zero-while-deleting"),
    pytest.param(outdated(c=["KubeadmConfig is not up-to-date"], b=["Version v1.30.4 is not v1.31.0"]),
                 "MachinesUpToDate", ("False", "NotUpToDate", "* Machines b, c are not up-to-date"),
                 id="machines-up-to-date-lists-outdated"),
    pytest.param(None, "MachinesUpToDate", ("True", "UpToDate", ""), id="machines-up-to-date"),
    pytest.param(outdated(c=["KubeadmConfig is not up-to-date", "Version v1.30.4 is not v1.31.0"],
                          b=["Version v1.30.4 is not v1.31.0"]), "RollingOut",
                 ("True", "RollingOut", "Rolling out 2 not up-to-date replicas\n* KubeadmConfig is not up-to-date\n"
                                        "* Version v1.30.4 is not v1.31.0"), id="rolling-out-says-why"),
    pytest.param(outdated(b=["Version v1.30.4 is not v1.31.0"]), "RollingOut",
                 ("True", "RollingOut", "Rolling out 1 not up-to-date replica\n* Version v1.30.4 is not v1.31.0"),
                 id="rolling-out-one"),
    pytest.param(then(c_deleting, outdated(c=["Version v1.30.4 is not v1.31.0"])), "RollingOut",
                 ("False", "NotRollingOut", ""), id="deleting-outdated-machine-is-no-rollout"),
    pytest.param(remediating_a, "Remediating",
                 ("True", "Remediating", f"* Machine a: {CANNOT_REMEDIATE}\n* Machine b: Remediation pending"),
                 id="remediating-lists-machines-with-their-owner-remediated-message"),
    pytest.param(None, "Remediating", ("False", "NotRemediating", ""), id="not-remediating"),
    pytest.param(None, "Deleting", ("False", "NotDeleting", ""), id="not-deleting"),
    pytest.param(waiting_for_workers, "Deleting", ("True", "WaitingForWorkersDeletion", "* Worker Machines: w1, w2"),
                 id="deleting-waits-for-workers"),
    pytest.param(kcp_deleting, "Deleting", ("True", "DeletionCompleted", ""), id="deleting-without-word-yet"),
    pytest.param(None, "Available", ("True", "Available", ""), id="available"),
    pytest.param(not_initialized_nothing_known, "Available",
                 ("False", "NotAvailable", "* Control plane not yet initialized\n"
                                           "* Cluster certificates are not available\n"
                                           "* Workload cluster not inspected yet"), id="not-available-lists-why"),
    pytest.param(kcp_deleting, "Available", ("False", "NotAvailable", "* Control plane is being deleted"),
                 id="not-available-while-deleting"),
    pytest.param(workload_unreachable, "Available",
                 ("False", "NotAvailable", f"* {UNREACHABLE}"),
                 id="not-available-unreachable"),
    pytest.param(etcd_view(failures={"node-a": "timeout", "node-b": "timeout"}), "Available",
                 ("False", "NotAvailable", "* Etcd has 1 healthy members of 3: no quorum"), id="etcd-without-quorum"),
    pytest.param(etcd_view(failures={"node-a": "timeout"}), "Available", ("True", "Available", ""),
                 id="etcd-with-quorum"),
    pytest.param(components(a={"APIServerPodHealthy": "False"}, b={"EtcdMemberHealthy": "Unknown"},
                            c={"SchedulerPodHealthy": "False"}), "Available",
                 ("False", "NotAvailable", "* No Machine with healthy control plane components"),
                 id="no-healthy-machine"),
    pytest.param(None, "EtcdClusterHealthy", ("True", "Healthy", ""), id="etcd-healthy"),
    pytest.param(etcd_view(("node-a", "node-b", "node-c", "node-gone")), "EtcdClusterHealthy",
                 ("False", "NotHealthy", "* Etcd member node-gone does not have a corresponding Machine"),
                 id="etcd-member-without-machine"),
    pytest.param(etcd_view(failures={"node-b": "connection refused"}, alarms=("NOSPACE on member 3",)),
                 "EtcdClusterHealthy",
                 ("False", "NotHealthy", "* Machine b: connection refused\n* Alarm NOSPACE on member 3"),
                 id="etcd-member-down-and-alarm"),
    pytest.param(workload_unreachable, "EtcdClusterHealthy",
                 ("Unknown", "HealthUnknown", UNREACHABLE),
                 id="etcd-unknown-when-unreachable"),
    pytest.param(None, "ControlPlaneComponentsHealthy", ("True", "Healthy", ""), id="components-healthy"),
    pytest.param(components(b={"APIServerPodHealthy": "False", "SchedulerPodHealthy": "False"}),
                 "ControlPlaneComponentsHealthy",
                 ("False", "NotHealthy", "* Machine b: APIServerPodHealthy, SchedulerPodHealthy not healthy"),
                 id="components-not-healthy-named"),
    pytest.param(components(c={"EtcdPodHealthy": "Unknown"}), "ControlPlaneComponentsHealthy",
                 ("Unknown", "HealthUnknown", "Some control plane components are still starting"),
                 id="components-starting"),
    pytest.param(no_machines, "ControlPlaneComponentsHealthy", ("Unknown", "HealthUnknown", "Not inspected yet"),
                 id="components-not-inspected"),
    pytest.param(etcd_members_disagree, "EtcdClusterHealthy",
                 ("False", "NotHealthy", "* etcd members do not agree on the member list"), id="etcd-disagreement"),
    pytest.param(ready(), "MachinesReady", ("True", "Ready", ""), id="machines-ready"),
    pytest.param(ready(b="False"), "MachinesReady", ("False", "NotReady", "* Machine b: Node node-b is not ready"),
                 id="machine-not-ready"),
    pytest.param(ready(c=""), "MachinesReady",
                 ("Unknown", "ReadyUnknown", "* Machine c: Condition Ready not yet reported"), id="ready-not-reported"),
    pytest.param(no_machines, "MachinesReady", ("True", "NoReplicas", ""), id="machines-ready-without-machines"),
    pytest.param(no_machines, "MachinesUpToDate", ("True", "NoReplicas", ""), id="up-to-date-without-machines"),
    pytest.param(None, "Initialized", ("True", "Initialized", ""), id="initialized"),
    pytest.param(not_initialized_nothing_known, "Initialized",
                 ("False", "NotInitialized", "Control plane not yet initialized"), id="not-initialized"),
    pytest.param(not_initialized_nothing_known, "CertificatesAvailable",
                 ("False", "NotAvailable", "Secret prod-ca has no tls.key"), id="certificates-missing"),
])
def test_condition(change: Change | None, type_: str, expected: tuple[str, str, str]) -> None:
    s = healthy_scope()
    if change is not None:
        change(s)
    update_status(s)
    found = get_condition(s.kcp, type_) or {}
    assert (found.get("status"), found.get("reason"), found.get("message")) == expected
