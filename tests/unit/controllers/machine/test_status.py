"""The Machine's phase and conditions for each stage of its life, from a scope: no server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.contract import conditions as cond
from herd.controllers.machine import status
from herd.controllers.machine.node import is_managed_label, node_info, node_patch
from herd.controllers.machine.scope import CONNECTION_DOWN, MachineScope
from herd.runtime.clustercache import HealthState
from herd.runtime.conditions import get_condition

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
PROVIDER_ID = "dev://ns/c/m"


def cluster(*, infra: bool = True, cp_initialized: bool = True, paused: bool = False) -> dict[str, Any]:
    conditions = [{"type": "ControlPlaneInitialized", "status": "True" if cp_initialized else "False",
                   "reason": "R", "lastTransitionTime": "2025-06-01T11:00:00Z"}]
    return {"kind": "Cluster", "metadata": {"name": "c", "namespace": "ns", "uid": "u"},
            "spec": {"paused": True} if paused else {},
            "status": {"initialization": {"infrastructureProvisioned": infra}, "conditions": conditions}}


def node(ready: str = "True", pressure: str = "False", message: str = "") -> dict[str, Any]:
    conds = [{"type": "Ready", "status": ready, "message": message}]
    conds += [{"type": t, "status": pressure} for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
    return {"kind": "Node", "metadata": {"name": "m-node", "labels": {}}, "spec": {"providerID": PROVIDER_ID},
            "status": {"conditions": conds}}


@dataclass
class Stage:
    """A Machine at some point of its life, and what the controller read around it."""

    bootstrap_created: bool = False
    infra_provisioned: bool = False
    provider_id: str = ""
    node_ref: bool = False
    node: dict[str, Any] | None = None
    node_error: str = ""
    deleting: bool = False
    deleting_reason: str = ""
    cluster: dict[str, Any] = field(default_factory=cluster)
    health: HealthState = field(default_factory=lambda: HealthState(last_probe_success_time=NOW))
    min_ready_seconds: int = 0
    ready_since: str = "2025-06-01T11:00:00Z"

    def scope(self) -> MachineScope:
        meta: dict[str, Any] = {"name": "m", "namespace": "ns", "generation": 1}
        if self.deleting:
            meta["deletionTimestamp"] = "2025-06-01T11:59:00Z"
        init: dict[str, Any] = {}
        if self.bootstrap_created:
            init["bootstrapDataSecretCreated"] = True
        if self.infra_provisioned:
            init["infrastructureProvisioned"] = True
        st: dict[str, Any] = {"initialization": init} if init else {}
        if self.node_ref:
            st["nodeRef"] = {"name": "m-node"}
        spec: dict[str, Any] = {
            "clusterName": "c", "minReadySeconds": self.min_ready_seconds,
            "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig",
                                        "name": "m-config"}},
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine",
                                  "name": "m-infra"}}
        if self.provider_id:
            spec["providerID"] = self.provider_id
        machine = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": meta, "spec": spec,
                   "status": st}
        config = {"kind": "KubeadmConfig", "status": {"initialization": {"dataSecretCreated": self.bootstrap_created}}}
        infra = {"kind": "DevMachine", "status": {"initialization": {"provisioned": self.infra_provisioned}}}
        return MachineScope(machine=machine, cluster=self.cluster, bootstrap_config=config, infra_machine=infra,
                            node=self.node, node_error=self.node_error, health=self.health, now=NOW,
                            reconcile_delete_executed=self.deleting, deleting_reason=self.deleting_reason)


def conditions_of(machine: dict[str, Any], *types: str) -> dict[str, tuple[str, str, str]]:
    out = {}
    for type_ in types:
        found = get_condition(machine, type_) or {}
        out[type_] = (found.get("status", ""), found.get("reason", ""), found.get("message", ""))
    return out


RUNNING = Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, node_ref=True, node=node())

CASES = {
    "no bootstrap data": (Stage(), "Pending", {
        "BootstrapConfigReady": ("False", "NotReady", "KubeadmConfig status.initialization.dataSecretCreated is false"),
        "InfrastructureReady": ("False", "NotReady", "DevMachine status.initialization.provisioned is false"),
        "NodeHealthy": ("Unknown", "InspectionFailed", "Waiting for DevMachine to report spec.providerID"),
        "Ready": ("False", "NotReady", "* BootstrapConfigReady: KubeadmConfig status.initialization.dataSecretCreated "
                  "is false\n* InfrastructureReady: DevMachine status.initialization.provisioned is false\n"
                  "* NodeHealthy: Waiting for DevMachine to report spec.providerID"),
        "Available": ("False", "NotReady", "")}),
    "infrastructure not provisioned": (Stage(bootstrap_created=True), "Provisioning", {
        "BootstrapConfigReady": ("True", "Ready", ""),
        "InfrastructureReady": ("False", "NotReady", "DevMachine status.initialization.provisioned is false")}),
    "no node yet": (Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID), "Provisioned", {
        "InfrastructureReady": ("True", "Ready", ""),
        "NodeReady": ("Unknown", "InspectionFailed", f"Waiting for a Node with spec.providerID {PROVIDER_ID} to exist"),
        "NodeHealthy": ("Unknown", "InspectionFailed",
                        f"Waiting for a Node with spec.providerID {PROVIDER_ID} to exist")}),
    "cluster infrastructure not provisioned": (
        Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, cluster=cluster(infra=False)),
        "Provisioned", {"NodeHealthy": ("Unknown", "InspectionFailed", "Waiting for Cluster status.initialization."
                                        "infrastructureProvisioned to be true")}),
    "control plane not initialized": (
        Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID,
              cluster=cluster(cp_initialized=False)),
        "Provisioned", {"NodeHealthy": ("Unknown", "InspectionFailed",
                                        "Waiting for Cluster control plane to be initialized")}),
    "no connection yet": (
        Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, health=HealthState()),
        "Provisioned", {"NodeHealthy": ("Unknown", "ConnectionDown", "Remote connection not established yet")}),
    "connection lost long ago": (
        Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, node_ref=True,
              node_error=CONNECTION_DOWN, health=HealthState(last_probe_success_time=NOW - timedelta(minutes=10),
                                                             consecutive_failures=60)),
        "Running", {"NodeHealthy": ("Unknown", "ConnectionDown", "Last successful probe at 2025-06-01T11:50:00Z")}),
    "node not ready": (Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, node_ref=True,
                             node=node(ready="False", message="kubelet stopped")), "Running", {
        "NodeReady": ("False", "NodeNotReady", "* Node.Ready: kubelet stopped"),
        "NodeHealthy": ("False", "NodeNotHealthy", "* Node.Ready: kubelet stopped"),
        "Ready": ("False", "NotReady", "* NodeHealthy:\n  * Node.Ready: kubelet stopped"),
        "Available": ("False", "NotReady", "")}),
    "node under pressure": (Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID,
                                  node_ref=True, node=node(pressure="True")), "Running", {
        "NodeReady": ("True", "NodeReady", ""),
        "NodeHealthy": ("False", "NodeNotHealthy", "* Node.AllConditions: Condition is True")}),
    "node deleted": (Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, node_ref=True),
                     "Running", {"NodeHealthy": ("False", "NodeDeleted",
                                                 "Node m-node has been deleted while the Machine still exists")}),
    "running": (RUNNING, "Running", {
        "BootstrapConfigReady": ("True", "Ready", ""), "InfrastructureReady": ("True", "Ready", ""),
        "NodeReady": ("True", "NodeReady", ""), "NodeHealthy": ("True", "NodeHealthy", ""),
        "Deleting": ("False", "NotDeleting", ""), "Paused": ("", "", ""),
        "Ready": ("True", "Ready", ""), "Available": ("True", "Available", "")}),
    "deleting": (Stage(bootstrap_created=True, infra_provisioned=True, provider_id=PROVIDER_ID, node_ref=True,
                       node=node(), deleting=True, deleting_reason="DrainingNode"), "Deleting", {
        "Deleting": ("True", "DrainingNode", ""),
        "Ready": ("False", "NotReady", "* Deleting: Machine deletion in progress, stage: DrainingNode")}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_phase_and_conditions(case: str) -> None:
    stage, phase, expected = CASES[case]
    s = stage.scope()
    status.update_status(s)
    assert s.machine["status"]["phase"] == phase
    assert s.machine["status"]["lastUpdated"] == "2025-06-01T12:00:00Z"
    assert conditions_of(s.machine, *expected) == expected


def test_a_ready_machine_waits_min_ready_seconds_before_it_is_available() -> None:
    s = Stage(**{**RUNNING.__dict__, "min_ready_seconds": 600}).scope()
    s.machine["status"]["conditions"] = [{"type": "Ready", "status": "True", "reason": "Ready",
                                          "lastTransitionTime": "2025-06-01T11:55:00Z"}]
    wait = status.update_status(s)
    assert conditions_of(s.machine, "Available")["Available"] == ("False", "WaitingForMinReadySeconds", "")
    assert wait == 300


def test_a_machine_looks_again_soon_while_its_workload_cluster_was_never_probed() -> None:
    # just after a restart nothing else wakes the Machine once the first probe answers: it would stay Unknown
    unprobed = Stage(**{**RUNNING.__dict__, "health": HealthState()}).scope()
    assert status.update_status(unprobed) == status.UNPROBED_RECHECK_SECONDS
    assert status.update_status(RUNNING.scope()) == 0


def test_a_machine_with_bootstrap_data_given_directly_is_bootstrap_ready() -> None:
    s = Stage().scope()
    s.machine["spec"]["bootstrap"] = {"dataSecretName": "given"}
    assert status.bootstrap_config_ready_condition(s) == {
        "type": "BootstrapConfigReady", "status": "True", "reason": "DataSecretProvided", "message": ""}


def test_providers_ready_conditions_are_mirrored() -> None:
    s = Stage().scope()
    assert s.infra_machine is not None
    s.infra_machine["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "VMBooting",
                                                "message": "waiting for the VM"}]
    assert status.infrastructure_ready_condition(s) == {
        "type": "InfrastructureReady", "status": "False", "reason": "VMBooting", "message": "waiting for the VM"}


def test_missing_provider_objects() -> None:
    s = Stage().scope()
    s.bootstrap_config, s.bootstrap_config_not_found = None, True
    assert status.bootstrap_config_ready_condition(s)["reason"] == "ObjectDoesNotExist"
    s.infra_machine, s.infra_machine_not_found = None, True
    s.machine["metadata"]["deletionTimestamp"] = "2025-06-01T11:59:00Z"
    s.machine["status"]["initialization"] = {"infrastructureProvisioned": True}
    assert status.infrastructure_ready_condition(s)["message"] == "DevMachine has been deleted"


def test_deletion_completed_sets_phase_deleted() -> None:
    s = Stage(deleting=True, deleting_reason="DeletionCompleted").scope()
    status.set_phase(s)
    assert s.machine["status"]["phase"] == "Deleted"


def test_paused_machine_condition() -> None:
    s = Stage(cluster=cluster(paused=True)).scope()
    assert cond.paused_condition(s.cluster, s.machine)["message"] == "Cluster spec.paused is set to true"
    s.machine["metadata"]["annotations"] = {"cluster.x-k8s.io/paused": ""}
    assert cond.paused_condition(None, s.machine)["message"] == "Machine has the cluster.x-k8s.io/paused annotation"


@pytest.mark.parametrize(("key", "managed"), [
    ("node-role.kubernetes.io/worker", True), ("node-restriction.kubernetes.io/zone", True),
    ("team.node-restriction.kubernetes.io/x", True), ("node.cluster.x-k8s.io/pool", True),
    ("cluster.x-k8s.io/cluster-name", False), ("app", False), ("evil-node.cluster.x-k8s.io/x", False),
])
def test_managed_labels(key: str, managed: bool) -> None:
    assert is_managed_label(key) is managed


def test_node_patch_syncs_managed_labels_and_removes_those_taken_off_the_machine() -> None:
    machine = {"kind": "Machine", "metadata": {"name": "m", "namespace": "ns", "labels": {
        "node-role.kubernetes.io/worker": "", "app": "x"}}, "spec": {"clusterName": "c"}}
    n = node()
    n["metadata"]["labels"] = {"node.cluster.x-k8s.io/old": "1", "kubernetes.io/hostname": "h"}
    n["metadata"]["annotations"] = {"cluster.x-k8s.io/labels-from-machine": "node.cluster.x-k8s.io/old"}
    n["spec"]["taints"] = [{"key": "node.cluster.x-k8s.io/uninitialized", "effect": "NoSchedule"}]
    patch = node_patch(machine, n)
    assert patch is not None
    assert patch["metadata"]["labels"] == {"node.cluster.x-k8s.io/old": None, "kubernetes.io/hostname": "h",
                                           "node-role.kubernetes.io/worker": ""}
    assert patch["metadata"]["annotations"]["cluster.x-k8s.io/machine"] == "m"
    assert patch["metadata"]["annotations"]["cluster.x-k8s.io/labels-from-machine"] == \
        "node-role.kubernetes.io/worker"
    assert patch["spec"] == {"taints": []}, "the uninitialized taint goes once labels are synced"


def test_node_info_is_copied_only_when_complete() -> None:
    info = {f: "x" for f in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                             "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion", "operatingSystem",
                             "architecture")}
    assert node_info({"status": {"nodeInfo": info}}) == info
    assert node_info({"status": {"nodeInfo": {"machineID": "x"}}}) is None


@pytest.mark.parametrize(("meta", "skipped"), [
    ({}, False),
    ({"ownerReferences": [{"kind": "DaemonSet", "name": "ds", "controller": True}]}, True),
    ({"ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "controller": True}]}, False),
    ({"annotations": {"kubernetes.io/config.mirror": "hash"}}, True),
    ({"labels": {"cluster.x-k8s.io/drain": "skip"}}, True),
])
def test_drain_skips_daemonset_mirror_and_labelled_pods(meta: dict[str, Any], skipped: bool) -> None:
    from herd.controllers.machine.drain import skip_pod
    assert skip_pod({"metadata": {"name": "p", "namespace": "ns", **meta}}) is skipped


def test_drain_reports_what_it_waits_for() -> None:
    from herd.controllers.machine.drain import PDB_VIOLATION, STILL_TERMINATING, DrainResult
    result = DrainResult()
    for name in ("a", "b"):
        result.add(STILL_TERMINATING, {"metadata": {"name": name, "namespace": "ns"}})
    result.add(PDB_VIOLATION, {"metadata": {"name": "c", "namespace": "ns"}})
    assert not result.done
    assert result.message() == (f"* Pods ns/a, ns/b: {STILL_TERMINATING}\n* Pod ns/c: {PDB_VIOLATION}")
