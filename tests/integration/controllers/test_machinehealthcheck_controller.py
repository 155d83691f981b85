"""The MachineHealthCheck controller against a real `herd serve`, with a second one as the workload cluster.

The tests play every other controller by hand: the Cluster is marked initialized, the Machines are owned by a
hand-made MachineSet and carry nodeRefs, and the Nodes a kubelet would register are created in the workload server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
from herd_plane import ServedPlane, start_plane

from herd.api.registry import all_crds
from herd.controllers import machinehealthcheck
from herd.controllers.kinds import CLUSTER, MACHINE, MACHINE_SET
from herd.controllers.machinehealthcheck import MACHINE_HEALTH_CHECK
from herd.runtime import CRD, NODE, SECRET, AlreadyExists, Client, Kind, Manager, NotFound, conditions
from herd.runtime.clustercache import ClusterCache

NAMESPACE_KIND = Kind("v1", "Namespace", "namespaces", namespaced=False)
INFRA = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine", "name": "unused"}
FAST = 0.3


@pytest.fixture(scope="module")
def planes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedPlane, ServedPlane]]:
    """The management plane and a workload cluster's API server."""
    base = tmp_path_factory.mktemp("planes")
    management = start_plane(base / "management", base / "cache-m")
    try:
        workload = start_plane(base / "workload", base / "cache-w")
    except BaseException:
        management.stop()
        raise
    yield management, workload
    workload.stop()
    management.stop()


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(0.05)


async def install_crds(client: Client) -> None:
    for crd in all_crds():
        with contextlib.suppress(AlreadyExists):
            await client.create(crd, kind=CRD)

    async def served() -> bool:
        try:
            for kind in ("Machine", "MachineSet", "MachineHealthCheck"):
                await client.mapper.kind_for(CLUSTER.api_version, kind)
        except NotFound:
            return False
        return True

    await eventually(served, what="CRDs served")


@contextlib.asynccontextmanager
async def health_checks(planes: tuple[ServedPlane, ServedPlane], namespace: str) -> AsyncIterator[Client]:
    """A manager running only the MachineHealthCheck controller; yields a management client."""
    client = Client.from_kubeconfig(planes[0].kubeconfig)
    await install_crds(client)
    with contextlib.suppress(AlreadyExists):
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                            kind=NAMESPACE_KIND)
    manager = Manager(client, health_port=None)
    cluster_cache = ClusterCache(client, secret_recheck_seconds=FAST)
    manager.add(machinehealthcheck.new_controller(client, cluster_cache, manager.cache,
                                                  unreachable_requeue_after=FAST))
    task = asyncio.create_task(manager.run())
    try:
        assert await manager.wait_leading(timeout=60)
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await cluster_cache.close()
        await client.close()


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


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    return (conditions.get_condition(obj, type_) if obj else None) or {}


def has(client: Client, kind: Kind, name: str, ns: str, check: Callable[[dict[str, Any]], bool]
        ) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            return check(await client.get(kind, name, ns))
        except NotFound:
            return False
    return probe


async def test_a_machine_whose_node_stays_not_ready_is_handed_to_its_owner_for_remediation(
        planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns, cluster = "mhc-remediate", "one"
    workload = Client.from_kubeconfig(planes[1].kubeconfig)
    try:
        async with health_checks(planes, ns) as client:
            await create_initialized_cluster(client, planes[1], cluster, ns)
            owner = await create_machine_set(client, "workers", ns, cluster)
            names = ["one-a", "one-b", "one-c"]
            for name in names:
                await create_owned_machine(client, workload, owner, name, ns, cluster)
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
    finally:
        await workload.close()


async def test_too_many_unhealthy_machines_stop_remediation(planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns, cluster = "mhc-limit", "two"
    workload = Client.from_kubeconfig(planes[1].kubeconfig)
    try:
        async with health_checks(planes, ns) as client:
            await create_initialized_cluster(client, planes[1], cluster, ns)
            owner = await create_machine_set(client, "workers", ns, cluster)
            names = ["two-a", "two-b", "two-c"]
            for name in names:
                await create_owned_machine(client, workload, owner, name, ns, cluster)
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
    finally:
        await workload.close()
