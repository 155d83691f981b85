"""The health conditions a KubeadmControlPlane writes on each of its Machines from one look at the workload
cluster (static pods, etcd member, Node), and how it reads them back: no server."""

from __future__ import annotations

from typing import Any

import pytest
from support.controlplane import etcd, healthy, machine, view

from herd.controlplane.kubeadm.health import (
    READINESS_GATES,
    components_failing,
    components_healthy,
    machine_conditions,
)
from herd.controlplane.kubeadm.workload import WorkloadView

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"


def pod(phase: str | None = "Running", ready: str | None = "True", message: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": ready, "message": message}] if ready else []}
    if phase:
        status["phase"] = phase
    return {"status": status}


def node(labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "node-a", "labels": {CONTROL_PLANE_ROLE: ""} if labels is None else labels}}


def workload(*, pods: dict[str, Any] | None = None, nodes: dict[str, Any] | None = None, **etcd_args: Any
             ) -> WorkloadView:
    """node-a with its four static pods running, its control-plane label, and a healthy member in a 3-member etcd;
    `pods` replaces some pods by component (None: absent), `nodes` the Nodes."""
    found = {f"{c}-node-a": pod() for c in COMPONENTS}
    for component, replacement in (pods or {}).items():
        found.pop(f"{component}-node-a")
        if replacement is not None:
            found[f"{component}-node-a"] = replacement
    members = etcd_args.pop("members", ("node-a", "node-b", "node-c"))
    return view(etcd(*members, **etcd_args), pods=found, nodes={"node-a": node()} if nodes is None else nodes)


NOT_INSPECTED = view(None, pods={f"{c}-node-a": pod() for c in COMPONENTS}, nodes={"node-a": node()})
UNREACHABLE = "the workload cluster's API server cannot be reached: connection refused"


@pytest.mark.parametrize(("m", "seen", "type_", "expected"), [
    pytest.param(machine("a"), workload(), "APIServerPodHealthy", ("True", "Running", ""), id="pod-ready"),
    pytest.param(machine("a"), workload(pods={"kube-apiserver": None}), "APIServerPodHealthy",
                 ("False", "DoesNotExist", "Pod does not exist"), id="pod-missing"),
    pytest.param(machine("a"), workload(pods={"kube-scheduler": pod("Pending", "False")}), "SchedulerPodHealthy",
                 ("Unknown", "Provisioning", "Pod is provisioning"), id="pod-pending"),
    pytest.param(machine("a"), workload(pods={"kube-scheduler": pod(None, None)}), "SchedulerPodHealthy",
                 ("Unknown", "Provisioning", "Pod is provisioning"), id="pod-without-phase-yet"),
    pytest.param(machine("a"), workload(pods={"kube-controller-manager": pod(
        "Running", "False", "containers with unready status: [kube-controller-manager]")}),
                 "ControllerManagerPodHealthy",
                 ("False", "Failed", "containers with unready status: [kube-controller-manager]"),
                 id="pod-running-not-ready-says-why"),
    pytest.param(machine("a"), workload(pods={"etcd": pod("Running", None)}), "EtcdPodHealthy",
                 ("False", "Failed", "Pod is not ready"), id="pod-running-without-ready-condition"),
    pytest.param(machine("a"), workload(pods={"etcd": pod("Failed", "False")}), "EtcdPodHealthy",
                 ("False", "Failed", "Pod is not ready"), id="pod-failed"),
    pytest.param(machine("a"), workload(), "EtcdMemberHealthy", ("True", "Healthy", ""), id="etcd-member-healthy"),
    pytest.param(machine("a"), workload(members=("node-b", "node-c")), "EtcdMemberHealthy",
                 ("False", "NotHealthy", "Etcd has no member named node-a"), id="etcd-member-missing"),
    pytest.param(machine("a"), workload(failures={"node-a": "connection refused"}), "EtcdMemberHealthy",
                 ("False", "NotHealthy", "Etcd member on Node node-a does not answer: connection refused"),
                 id="etcd-member-not-answering"),
    pytest.param(machine("a"), workload(errors={"node-a": ("etcdserver: no leader",)}), "EtcdMemberHealthy",
                 ("False", "NotHealthy", "Etcd member reports: etcdserver: no leader"), id="etcd-member-errors"),
    pytest.param(machine("a"), workload(alarms=("NOSPACE on member 2",)), "EtcdMemberHealthy",
                 ("False", "NotHealthy", "Etcd alarms: NOSPACE on member 2"), id="etcd-alarms"),
    pytest.param(machine("a"), NOT_INSPECTED, "EtcdMemberHealthy",
                 ("Unknown", "InspectionFailed", "etcd was not inspected (the etcd CA is not available)"),
                 id="etcd-not-inspected"),
    pytest.param(machine("a"), workload(), "NodeKubeadmLabelsAndTaintsSet", ("True", "Set", ""), id="node-labelled"),
    pytest.param(machine("a"), workload(nodes={"node-a": node({})}), "NodeKubeadmLabelsAndTaintsSet",
                 ("False", "NotSet", f"The Node lacks the {CONTROL_PLANE_ROLE} label kubeadm sets"),
                 id="node-without-control-plane-label"),
    pytest.param(machine("a"), workload(nodes={}), "NodeKubeadmLabelsAndTaintsSet",
                 ("Unknown", "NodeDoesNotExist", "The Node does not exist"), id="node-gone"),
])
def test_machine_condition(m: dict[str, Any], seen: WorkloadView, type_: str, expected: tuple[str, str, str]
                           ) -> None:
    found = {c["type"]: (c["status"], c["reason"], c["message"]) for c in machine_conditions(m, seen)}
    assert set(found) == set(READINESS_GATES)
    assert found[type_] == expected


@pytest.mark.parametrize(("m", "seen", "expected"), [
    pytest.param(machine("a", deleting=True), workload(), ("False", "Deleting", "Machine is deleting"),
                 id="deleting"),
    pytest.param(machine("a"), view(error=UNREACHABLE), ("Unknown", "ConnectionDown", UNREACHABLE),
                 id="workload-unreachable"),
    pytest.param(machine("a"), None, ("Unknown", "ConnectionDown", "Remote connection not established yet"),
                 id="not-looked-at-yet"),
    pytest.param(machine("a", node=False), workload(), ("Unknown", "Provisioning", "Waiting for the Machine's Node"),
                 id="no-node-yet"),
])
def test_every_condition_says_the_same_when_the_machine_cannot_be_inspected(
        m: dict[str, Any], seen: WorkloadView | None, expected: tuple[str, str, str]) -> None:
    found = {c["type"]: (c["status"], c["reason"], c["message"]) for c in machine_conditions(m, seen)}
    assert found == dict.fromkeys(READINESS_GATES, expected)


@pytest.mark.parametrize(("conditions", "is_healthy", "is_failing"), [
    pytest.param(healthy(), True, False, id="all-true"),
    pytest.param(healthy(NodeKubeadmLabelsAndTaintsSet="False"), True, False, id="node-labels-are-no-component"),
    pytest.param(healthy(SchedulerPodHealthy="Unknown"), False, False, id="one-unknown"),
    pytest.param(healthy(EtcdMemberHealthy="False"), False, True, id="etcd-member-false"),
    pytest.param(healthy(APIServerPodHealthy="False"), False, True, id="api-server-false"),
    pytest.param([c for c in healthy() if c["type"] != "EtcdPodHealthy"], False, False, id="one-missing"),
    pytest.param([], False, False, id="none"),
])
def test_components_healthy_and_failing(conditions: list[dict[str, str]], is_healthy: bool,
                                        is_failing: bool) -> None:
    assert (components_healthy(conditions), components_failing(conditions)) == (is_healthy, is_failing)
