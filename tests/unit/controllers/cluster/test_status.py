"""The Cluster's phase, counters and conditions for each situation, from a scope: no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.api.objects import is_paused
from herd.contract import conditions as cond
from herd.controllers.cluster import status
from herd.controllers.cluster.scope import ClusterScope
from herd.runtime.clustercache import HealthState
from herd.runtime.conditions import get_condition

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
INFRA_REF = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevCluster", "name": "c-infra"}
CP_REF = {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": "c-cp"}
ENDPOINT = {"host": "10.0.0.1", "port": 6443}


def cluster(*, spec: dict[str, Any] | None = None, status_: dict[str, Any] | None = None,
            deleting: bool = False, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "c", "namespace": "ns", "uid": "cluster-uid", "generation": 1}
    if deleting:
        meta["deletionTimestamp"] = "2025-06-01T11:59:00Z"
    st = dict(status_ or {})
    if conditions:
        st["conditions"] = conditions
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "metadata": meta,
            "spec": dict(spec or {}), "status": st}


def machine(name: str, *, control_plane: bool = False, ready: bool | None = None, node: bool = False,
            owned: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "labels": {},
                            "creationTimestamp": "2025-06-01T11:00:00Z"}
    if control_plane:
        meta["labels"]["cluster.x-k8s.io/control-plane"] = ""
    if owned:
        meta["ownerReferences"] = [{"kind": "Cluster", "name": "c", "uid": "cluster-uid"}]
    st: dict[str, Any] = {}
    if ready is not None:
        st["conditions"] = [{"type": t, "status": "True" if ready else "False", "reason": "R", "message": ""}
                            for t in ("Ready", "Available", "UpToDate")]
    if node:
        st["nodeRef"] = {"name": f"{name}-node"}
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": meta, "spec": {},
            "status": st}


def provisioned() -> dict[str, Any]:
    return {"initialization": {"infrastructureProvisioned": True}}


def infra(ready: str | None = None, provisioned_: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "DevCluster", "metadata": {"name": "c-infra"},
                           "status": {"initialization": {"provisioned": provisioned_}}}
    if ready is not None:
        obj["status"]["conditions"] = [{"type": "Ready", "status": ready, "reason": "InfraReason", "message": "m"}]
    return obj


def healthy() -> HealthState:
    return HealthState(last_probe_time=NOW, last_probe_success_time=NOW - timedelta(seconds=5))


def scope(obj: dict[str, Any], **kw: Any) -> ClusterScope:
    return ClusterScope(cluster=obj, now=NOW, **kw)


def summary(obj: dict[str, Any], type_: str) -> tuple[str, str, str]:
    found = get_condition(obj, type_) or {}
    return found.get("status", ""), found.get("reason", ""), found.get("message", "")


@pytest.mark.parametrize(("spec", "st", "deleting", "phase"), [
    ({}, {}, False, "Pending"),
    ({"infrastructureRef": INFRA_REF}, {}, False, "Provisioning"),
    ({"infrastructureRef": INFRA_REF}, provisioned(), False, "Provisioning"),  # no endpoint yet
    ({"infrastructureRef": INFRA_REF, "controlPlaneEndpoint": ENDPOINT}, provisioned(), False, "Provisioned"),
    ({"infrastructureRef": INFRA_REF, "controlPlaneEndpoint": ENDPOINT},
     {**provisioned(), "deprecated": {"v1beta1": {"failureReason": "Broken"}}}, False, "Failed"),
    ({"infrastructureRef": INFRA_REF, "controlPlaneEndpoint": ENDPOINT}, provisioned(), True, "Deleting"),
])
def test_phase(spec: dict[str, Any], st: dict[str, Any], deleting: bool, phase: str) -> None:
    s = scope(cluster(spec=spec, status_=st, deleting=deleting))
    status.set_phase(s)
    assert s.cluster["status"]["phase"] == phase


@pytest.mark.parametrize(("spec", "st", "infra_obj", "not_found", "deleting", "expected"), [
    ({"infrastructureRef": INFRA_REF}, {}, infra(), False, False,
     ("False", "NotReady", "DevCluster status.initialization.provisioned is false")),
    ({"infrastructureRef": INFRA_REF}, provisioned(), infra(provisioned_=True), False, False, ("True", "Ready", "")),
    ({"infrastructureRef": INFRA_REF}, {}, infra(ready="False"), False, False, ("False", "InfraReason", "m")),
    ({"infrastructureRef": INFRA_REF}, {}, None, True, False, ("False", "ObjectDoesNotExist",
                                                              "DevCluster does not exist")),
    ({"infrastructureRef": INFRA_REF}, provisioned(), None, True, False,
     ("False", "ObjectDeleted", "DevCluster has been deleted while the cluster still exists")),
    ({"infrastructureRef": INFRA_REF}, provisioned(), None, True, True,
     ("False", "ObjectDeleted", "DevCluster has been deleted")),
    ({"infrastructureRef": INFRA_REF}, {}, None, False, False,
     ("Unknown", "InternalError", "Please check controller logs for errors")),
    ({"topology": {"classRef": {"name": "cc"}, "version": "v1.33.0"}}, {}, None, False, False,
     ("False", "ObjectDoesNotExist", "Waiting for cluster topology to be reconciled")),
])
def test_infrastructure_ready(spec: dict[str, Any], st: dict[str, Any], infra_obj: dict[str, Any] | None,
                              not_found: bool, deleting: bool, expected: tuple[str, str, str]) -> None:
    s = scope(cluster(spec=spec, status_=st, deleting=deleting), infra_cluster=infra_obj,
              infra_cluster_not_found=not_found)
    c = status.infrastructure_ready_condition(s)
    assert (c["status"], c["reason"], c["message"]) == expected


@pytest.mark.parametrize(("spec", "st", "cp", "cp_not_found", "machines", "expected"), [
    ({"controlPlaneRef": CP_REF}, {}, {"kind": "KubeadmControlPlane", "status": {}}, False, [],
     ("False", "NotInitialized", "Control plane not yet initialized")),
    ({"controlPlaneRef": CP_REF}, {}, None, True, [],
     ("Unknown", "ObjectDoesNotExist", "KubeadmControlPlane does not exist")),
    ({"controlPlaneRef": CP_REF}, {"initialization": {"controlPlaneInitialized": True}}, {"kind": "K"}, False, [],
     ("True", "Initialized", "")),
    ({}, {}, None, False, [machine("cp-0", control_plane=True)],
     ("False", "NotInitialized", "Waiting for the first control plane machine to have status.nodeRef set")),
    ({}, {"initialization": {"controlPlaneInitialized": True}}, None, False,
     [machine("cp-0", control_plane=True, node=True)], ("True", "Initialized", "")),
])
def test_control_plane_initialized(spec: dict[str, Any], st: dict[str, Any], cp: dict[str, Any] | None,
                                   cp_not_found: bool, machines: list[dict[str, Any]],
                                   expected: tuple[str, str, str]) -> None:
    s = scope(cluster(spec=spec, status_=st), control_plane=cp, control_plane_not_found=cp_not_found)
    s.set_machines(machines)
    c = status.control_plane_initialized_condition(s)
    assert c is not None
    assert (c["status"], c["reason"], c["message"]) == expected


def test_control_plane_initialized_stays_true_once_reported() -> None:
    obj = cluster(conditions=[{"type": "ControlPlaneInitialized", "status": "True", "reason": "Initialized"}])
    assert status.control_plane_initialized_condition(scope(obj)) is None


@pytest.mark.parametrize(("health", "existing", "expected"), [
    (HealthState(), None, ("False", "ProbeFailed", "Remote connection not established yet")),
    (HealthState(), "True", None),  # too early to tell: keep what was reported
    (healthy(), None, ("True", "ProbeSucceeded", "")),
    (HealthState(last_probe_success_time=NOW - timedelta(minutes=10), consecutive_failures=50), None,
     ("False", "ProbeFailed", "Remote connection probe failed, probe last succeeded at 2025-06-01T11:50:00Z")),
    (HealthState(consecutive_failures=5), None, ("False", "ProbeFailed", "Remote connection probe failed")),
])
def test_remote_connection_probe(health: HealthState, existing: str | None,
                                 expected: tuple[str, str, str] | None) -> None:
    conditions = [{"type": "RemoteConnectionProbe", "status": existing, "reason": "X"}] if existing else None
    c = status.remote_connection_probe_condition(scope(cluster(conditions=conditions), health=health))
    assert (None if c is None else (c["status"], c["reason"], c["message"])) == expected


def md(name: str, available: str) -> dict[str, Any]:
    return {"kind": "MachineDeployment", "metadata": {"name": name},
            "spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                                                "conditions": [{"type": "Available", "status": available,
                                                                "reason": "R", "message": f"{name} says"}]}}


@pytest.mark.parametrize(("mds", "expected"), [
    ([], ("True", "NoWorkers", "")),
    ([md("md-a", "True"), md("md-b", "True")], ("True", "Available", "* MachineDeployment md-a: md-a says\n"
                                                 "* MachineDeployment md-b: md-b says")),
    ([md("md-a", "True"), md("md-b", "False")], ("False", "NotAvailable", "* MachineDeployment md-b: md-b says")),
    ([md("md-a", "Unknown")], ("Unknown", "AvailableUnknown", "* MachineDeployment md-a: md-a says")),
])
def test_workers_available(mds: list[dict[str, Any]], expected: tuple[str, str, str]) -> None:
    c = status.workers_available_condition(scope(cluster(), machine_deployments=mds))
    assert (c["status"], c["reason"], c["message"]) == expected


def test_replica_counters_count_stand_alone_machines_and_machine_deployments() -> None:
    s = scope(cluster(), machine_deployments=[md("md-a", "True")])
    s.set_machines([machine("cp-0", control_plane=True, ready=True), machine("cp-1", control_plane=True, ready=False),
                    machine("w-0", ready=True), machine("w-owned-by-set", ready=True, owned=False)])
    status.set_control_plane_replicas(s)
    status.set_workers_replicas(s)
    assert s.cluster["status"]["controlPlane"] == {
        "desiredReplicas": 2, "replicas": 2, "readyReplicas": 1, "availableReplicas": 1, "upToDateReplicas": 1}
    assert s.cluster["status"]["workers"] == {
        "desiredReplicas": 3, "replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 1}


def test_control_plane_counters_come_from_the_control_plane_object() -> None:
    cp = {"kind": "KubeadmControlPlane", "spec": {"replicas": 3},
          "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 3}}
    s = scope(cluster(spec={"controlPlaneRef": CP_REF}), control_plane=cp)
    status.set_control_plane_replicas(s)
    assert s.cluster["status"]["controlPlane"] == {
        "desiredReplicas": 3, "replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 3}


@pytest.mark.parametrize(("deleting", "reason", "expected"), [
    (False, "", ("False", "NotDeleting", "")),
    (True, "WaitingForWorkersDeletion", ("True", "WaitingForWorkersDeletion", "* Worker Machines: w-0")),
])
def test_deleting(deleting: bool, reason: str, expected: tuple[str, str, str]) -> None:
    s = scope(cluster(deleting=deleting), deleting_reason=reason, deleting_message=expected[2])
    c = status.deleting_condition(s)
    assert (c["status"], c["reason"], c["message"]) == expected


def test_a_provisioned_cluster_with_a_working_connection_is_available() -> None:
    s = scope(cluster(spec={"infrastructureRef": INFRA_REF, "controlPlaneEndpoint": ENDPOINT},
                      status_={"initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True}}),
              infra_cluster=infra(provisioned_=True), health=healthy())
    s.set_machines([machine("cp-0", control_plane=True, ready=True, node=True)])
    status.update_status(s)
    assert s.cluster["status"]["phase"] == "Provisioned"
    assert summary(s.cluster, "Available") == ("True", "Available", "")
    for type_ in ("InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable", "WorkersAvailable",
                  "RemoteConnectionProbe", "ControlPlaneMachinesReady", "WorkerMachinesReady"):
        assert summary(s.cluster, type_)[0] == "True", type_
    for type_ in ("Deleting", "RollingOut", "ScalingUp", "ScalingDown", "Remediating"):
        assert summary(s.cluster, type_)[0] == "False", type_


def test_a_cluster_waiting_for_its_infrastructure_says_why_it_is_not_available() -> None:
    s = scope(cluster(spec={"infrastructureRef": INFRA_REF}), infra_cluster=infra())
    status.update_status(s)
    assert summary(s.cluster, "Available") == ("False", "NotAvailable", "\n".join([
        "* RemoteConnectionProbe: Remote connection not established yet",
        "* InfrastructureReady: DevCluster status.initialization.provisioned is false",
        "* ControlPlaneAvailable: Waiting for the first control plane Machine"]))


def test_a_deleting_cluster_is_not_available_and_gone_providers_are_no_issue() -> None:
    spec = {"infrastructureRef": INFRA_REF, "controlPlaneRef": CP_REF, "controlPlaneEndpoint": ENDPOINT}
    initialized = {"initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True}}
    s = scope(cluster(spec=spec, status_=initialized, deleting=True),
              infra_cluster_not_found=True, control_plane_not_found=True, health=healthy(),
              deleting_reason="WaitingForInfrastructureDeletion",
              deleting_message="Waiting for DevCluster to be deleted")
    status.update_status(s)
    assert s.cluster["status"]["phase"] == "Deleting"
    assert summary(s.cluster, "Available") == ("False", "NotAvailable",
                                               "* Deleting: Waiting for DevCluster to be deleted")


def test_paused_condition() -> None:
    obj = cluster(spec={"paused": True})
    assert is_paused(obj, obj)
    assert cond.paused_condition(obj, obj) == {"type": "Paused", "status": "True", "reason": "Paused",
                                               "message": "Cluster spec.paused is set to true"}
    obj["metadata"]["annotations"] = {"cluster.x-k8s.io/paused": ""}
    assert cond.paused_condition(obj, obj)["message"] == ("Cluster spec.paused is set to true, "
                                                          "Cluster has the cluster.x-k8s.io/paused annotation")
    assert cond.paused_condition(None, cluster())["status"] == "False"


def test_deletion_lists_what_it_waits_for() -> None:
    from herd.controllers.cluster.deletion import pending_message
    workers = [machine(f"w-{i}") for i in range(7)]
    assert pending_message([("MachineDeployments", [md("md-a", "True")]), ("MachineSets", []),
                            ("Worker Machines", workers)]) == \
        "* MachineDeployments: md-a\n* Worker Machines: w-0, w-1, w-2, w-3, w-4, ... (2 more)"


def test_machines_ready_aggregates_at_most_three_messages_control_plane_first() -> None:
    machines = [machine(f"w-{i}", ready=False) for i in range(5)] + [machine("cp-0", control_plane=True, ready=False)]
    for i, m in enumerate(machines):
        for c in m["status"]["conditions"]:
            c["message"] = "same trouble" if i < 4 else f"trouble {i}"
    c = cond.aggregate(machines, "Ready", "MachinesReady", reasons=cond.Reasons("NotReady", "ReadyUnknown", "Ready"))
    assert (c["status"], c["reason"]) == ("False", "NotReady")
    assert c["message"] == ("* Machine cp-0: trouble 5\n* Machines w-0, w-1, w-2, ... (1 more): same trouble\n"
                            "* Machine w-4: trouble 4")


@pytest.mark.parametrize(("labels", "expected"), [
    ({"cluster.x-k8s.io/v1beta2": "v1beta2"}, ("infrastructure.cluster.x-k8s.io/v1beta2", "v1beta2")),
    ({"cluster.x-k8s.io/v1beta2": "v1alpha1_v1beta2"}, ("infrastructure.cluster.x-k8s.io/v1beta2", "v1beta2")),
    ({"cluster.x-k8s.io/v1beta1": "v1beta1"}, ("infrastructure.cluster.x-k8s.io/v1beta1", "v1beta1")),
    ({}, None),
])
def test_provider_kinds_come_from_the_crds_contract_label(labels: dict[str, str],
                                                          expected: tuple[str, str] | None) -> None:
    from herd.contract.references import provider_kind_from_crd
    crd = {"metadata": {"name": "devclusters.infrastructure.cluster.x-k8s.io", "labels": labels},
           "spec": {"group": "infrastructure.cluster.x-k8s.io", "scope": "Namespaced",
                    "names": {"kind": "DevCluster", "plural": "devclusters"},
                    "versions": [{"name": v, "served": True, "subresources": {"status": {}}}
                                 for v in ("v1alpha1", "v1beta1", "v1beta2")]}}
    found = provider_kind_from_crd(crd)
    assert (None if found is None else (found.kind.api_version, found.contract)) == expected
    if found is not None:
        assert found.kind.plural == "devclusters" and found.kind.namespaced and found.kind.status_subresource


async def test_phases_all_run_and_the_soonest_requeue_wins() -> None:
    from herd.contract.phases import run_phases
    from herd.runtime import Result
    ran: list[str] = []

    async def later(_: object) -> Result:
        ran.append("later")
        return Result(requeue_after=30)

    async def sooner(_: object) -> Result:
        ran.append("sooner")
        return Result(requeue_after=5)

    async def failing(_: object) -> None:
        ran.append("failing")
        raise RuntimeError("boom")

    assert await run_phases(None, [later, sooner]) == Result(requeue_after=5)
    with pytest.raises(RuntimeError, match="boom"):
        await run_phases(None, [failing, later])
    assert ran == ["later", "sooner", "failing", "later"]
