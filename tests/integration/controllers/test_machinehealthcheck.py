"""The MachineHealthCheck controller against a real `herd serve`, with a second one as the workload cluster.

The tests play every other controller by hand: the Cluster is marked initialized, the Machines are owned by a
hand-made MachineSet and carry nodeRefs, and the Nodes a kubelet would register are created in the workload server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from support.manager import management_client, running_manager
from support.objects import condition, has
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_HEALTH_CHECK, MACHINE_SET
from herd.controllers import machinehealthcheck
from herd.runtime import EVENT, NODE, SECRET, Client, conditions

INFRA = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine", "name": "unused"}
FAST = 0.3


@contextlib.asynccontextmanager
async def pool_of_three(planes: tuple[ServedPlane, ServedPlane], ns: str,
                        cluster: str) -> AsyncIterator[tuple[Client, Client, list[str]]]:
    """Only the MachineHealthCheck controller running, and an initialized Cluster whose MachineSet owns three
    Machines with Ready Nodes; yields the management and workload clients and the Machines' names."""
    health_checks = functools.partial(machinehealthcheck.new_controller, unreachable_requeue_after=FAST)
    workload = Client.from_kubeconfig(planes[1].kubeconfig)
    try:
        async with management_client(planes[0].kubeconfig, ns) as client, \
                running_manager(client, health_checks, secret_recheck_seconds=FAST):
            await create_initialized_cluster(client, planes[1], cluster, ns)
            owner = await create_machine_set(client, "workers", ns, cluster)
            names = [f"{cluster}-{suffix}" for suffix in "abc"]
            for name in names:
                await create_owned_machine(client, workload, owner, name, ns, cluster)
            yield client, workload, names
    finally:
        await workload.close()


async def create_initialized_cluster(client: Client, workload: ServedPlane, name: str, ns: str) -> None:
    """A Cluster whose infrastructure is ready and control plane initialized, reachable through its kubeconfig."""
    await client.create({"apiVersion": CLUSTER.api_version, "kind": "Cluster",
                         "metadata": {"name": name, "namespace": ns}, "spec": {"paused": False}})
    now = conditions.now_rfc3339()
    await client.patch_status(CLUSTER, name, {"status": {
        "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
        "conditions": [{"type": t, "status": "True", "reason": t, "message": "", "lastTransitionTime": now}
                       for t in ("InfrastructureReady", "ControlPlaneInitialized")]}}, namespace=ns)
    value = base64.b64encode(workload.kubeconfig.read_bytes()).decode()
    await client.create({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                         "metadata": {"name": f"{name}-kubeconfig", "namespace": ns,
                                      "labels": {"cluster.x-k8s.io/cluster-name": name}},
                         "data": {"value": value}}, kind=SECRET)


async def create_machine_set(client: Client, name: str, ns: str, cluster: str) -> dict[str, Any]:
    """A MachineSet nobody reconciles: it only owns the Machines, as a real one would."""
    labels = {"pool": name}
    return await client.create({
        "apiVersion": MACHINE_SET.api_version, "kind": "MachineSet", "metadata": {"name": name, "namespace": ns},
        "spec": {"clusterName": cluster, "replicas": 0, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"clusterName": cluster, "bootstrap": {"dataSecretName": "data"},
                                       "infrastructureRef": INFRA}}}})


async def create_owned_machine(client: Client, workload: Client, owner: dict[str, Any], name: str, ns: str,
                               cluster: str) -> None:
    """A Machine of the MachineSet, with a Ready Node in the workload cluster and the nodeRef to it."""
    provider_id = f"dev://{ns}/{name}"
    meta = owner["metadata"]
    await client.create({
        "apiVersion": MACHINE.api_version, "kind": "Machine",
        "metadata": {"name": name, "namespace": ns, "labels": {"pool": meta["name"]},
                     "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": "MachineSet",
                                          "name": meta["name"], "uid": meta["uid"], "controller": True}]},
        "spec": {"clusterName": cluster, "bootstrap": {"dataSecretName": "data"}, "infrastructureRef": INFRA,
                 "providerID": provider_id}})
    await workload.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                           "spec": {"providerID": provider_id}})
    await set_ready(workload, name, "True")
    await client.patch_status(MACHINE, name, {"status": {"nodeRef": {"name": name}}}, namespace=ns)


async def set_ready(workload: Client, node: str, status: str) -> None:
    """Play the kubelet (or the node lifecycle controller): the Node's Ready condition changes now."""
    now = conditions.now_rfc3339()
    await workload.patch_status(NODE, node, {"status": {"conditions": [
        {"type": "Ready", "status": status, "reason": "Kubelet", "message": "", "lastHeartbeatTime": now,
         "lastTransitionTime": now}]}})


async def create_health_check(client: Client, name: str, ns: str, cluster: str, pool: str,
                              **remediation: Any) -> None:
    await client.create({
        "apiVersion": MACHINE_HEALTH_CHECK.api_version, "kind": "MachineHealthCheck",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"clusterName": cluster, "selector": {"matchLabels": {"pool": pool}},
                 "checks": {"unhealthyNodeConditions": [{"type": "Ready", "status": "False", "timeoutSeconds": 1}]},
                 **({"remediation": remediation} if remediation else {})}})


async def test_a_machine_whose_node_stays_not_ready_is_handed_to_its_owner_for_remediation(
        planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns, cluster = "mhc-remediate", "one"
    async with pool_of_three(planes, ns, cluster) as (client, workload, names):
        await create_health_check(client, "workers", ns, cluster, "workers")

        await eventually(has(client, MACHINE_HEALTH_CHECK, "workers", ns, lambda m: (
            m.get("status", {}).get("currentHealthy") == 3
            and m["status"].get("expectedMachines") == 3
            and m["status"].get("targets") == names
            and condition(m, "RemediationAllowed").get("status") == "True")), what="all three healthy")
        for name in names:
            machine = await client.get(MACHINE, name, ns)
            assert condition(machine, "HealthCheckSucceeded").get("status") == "True"

        await set_ready(workload, "one-b", "False")
        await eventually(has(client, MACHINE, "one-b", ns, lambda m: (
            condition(m, "OwnerRemediated").get("reason") == "WaitingForRemediation")), what="one-b remediated")
        sick = await client.get(MACHINE, "one-b", ns)
        assert condition(sick, "OwnerRemediated")["status"] == "False"
        verdict = condition(sick, "HealthCheckSucceeded")
        assert (verdict["status"], verdict["reason"]) == ("False", "UnhealthyNode")
        assert "Condition Ready on Node" in verdict["message"]
        for name in ("one-a", "one-c"):
            machine = await client.get(MACHINE, name, ns)
            assert condition(machine, "HealthCheckSucceeded").get("status") == "True"
            assert condition(machine, "OwnerRemediated") == {}
        await eventually(has(client, MACHINE_HEALTH_CHECK, "workers", ns, lambda m: (
            m["status"].get("currentHealthy") == 2)), what="two healthy")
        told = await client.list(EVENT, namespace=ns, field_selector="involvedObject.name=one-b")
        assert [(e["reason"], e["message"]) for e in told.items] == [
            ("MachineMarkedUnhealthy", f"Machine {ns}/one-b has been marked as unhealthy by {ns}/workers")]


async def test_too_many_unhealthy_machines_stop_remediation(planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns, cluster = "mhc-limit", "two"
    async with pool_of_three(planes, ns, cluster) as (client, workload, names):
        await create_health_check(client, "workers", ns, cluster, "workers",
                                  triggerIf={"unhealthyLessThanOrEqualTo": 1})
        await eventually(has(client, MACHINE_HEALTH_CHECK, "workers", ns, lambda m: (
            m.get("status", {}).get("currentHealthy") == 3)), what="all three healthy")

        await set_ready(workload, "two-a", "False")
        await set_ready(workload, "two-b", "False")
        await eventually(has(client, MACHINE_HEALTH_CHECK, "workers", ns, lambda m: (
            condition(m, "RemediationAllowed").get("status") == "False")), what="remediation refused")
        mhc = await client.get(MACHINE_HEALTH_CHECK, "workers", ns)
        refused = condition(mhc, "RemediationAllowed")
        assert refused["reason"] == "TooManyUnhealthy"
        assert "2 of 3 Machines are unhealthy" in refused["message"]
        assert "unhealthyLessThanOrEqualTo (1)" in refused["message"]
        assert mhc["status"]["remediationsAllowed"] == 0
        assert mhc["status"]["currentHealthy"] == 1
        for name in ("two-a", "two-b"):
            await eventually(has(client, MACHINE, name, ns, lambda m: (
                condition(m, "HealthCheckSucceeded").get("reason") == "UnhealthyNode")), what=f"{name} judged")
        await asyncio.sleep(1.0)  # remediation must not follow, even a little later
        for name in names:
            machine = await client.get(MACHINE, name, ns)
            assert condition(machine, "OwnerRemediated") == {}
        told = await client.list(EVENT, namespace=ns, field_selector="involvedObject.kind=MachineHealthCheck")
        assert {(e["type"], e["reason"], e["message"]) for e in told.items} == {
            ("Warning", "RemediationRestricted", refused["message"])}
