"""The Cluster and Machine controllers against a real `herd serve`, with a second one as the workload cluster.

The tests play the providers' part by hand: they mark the DevCluster, KubeadmConfig and DevMachine
provisioned through the contract fields, and create the Nodes (and Pods) a kubelet would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from support.manager import management_client, running_manager
from support.objects import condition, get_or_none, gone, has
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import CLUSTER, MACHINE
from herd.api.controlplane import KUBEADM_CONTROL_PLANE as KCP
from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.controllers import cluster as cluster_controller
from herd.controllers import machine as machine_controller
from herd.runtime import NODE, SECRET, Client, Kind, conditions
from herd.runtime.clustercache import POD

FAST = 0.3  # every wait of the controllers, shortened so the tests move quickly


@contextlib.asynccontextmanager
async def controllers(planes: tuple[ServedPlane, ServedPlane], namespace: str) -> AsyncIterator[Client]:
    """A manager running the Cluster and Machine controllers in-process; yields a management client."""
    cluster = functools.partial(cluster_controller.new_controller, probe_interval=FAST, external_ready_wait=FAST,
                                delete_requeue_after=FAST)
    machine = functools.partial(machine_controller.new_controller, external_ready_wait=FAST, node_wait=FAST,
                                drain_requeue_after=FAST)
    async with management_client(planes[0].kubeconfig, namespace) as client, \
            running_manager(client, cluster, machine, secret_recheck_seconds=FAST):
        yield client


# ----- objects -----

def ref(api_version: str, kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": api_version.rpartition("/")[0], "kind": kind, "name": name}


def cluster_object(name: str, ns: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": CLUSTER.api_version, "kind": "Cluster", "metadata": {"name": name, "namespace": ns},
            "spec": {"infrastructureRef": ref(DEV_CLUSTER.api_version, "DevCluster", f"{name}-infra"), **spec}}


async def create_cluster(client: Client, name: str, ns: str, **spec: Any) -> None:
    await client.create({"apiVersion": DEV_CLUSTER.api_version, "kind": "DevCluster",
                         "metadata": {"name": f"{name}-infra", "namespace": ns},
                         "spec": {"backend": {"inMemory": {}}}})
    await client.create(cluster_object(name, ns, **spec))


async def create_machine(client: Client, name: str, ns: str, cluster: str, *, control_plane: bool = False,
                         annotations: dict[str, str] | None = None) -> None:
    await client.create({"apiVersion": KUBEADM_CONFIG.api_version, "kind": "KubeadmConfig",
                         "metadata": {"name": f"{name}-config", "namespace": ns}})
    await client.create({"apiVersion": DEV_MACHINE.api_version, "kind": "DevMachine",
                         "metadata": {"name": f"{name}-infra", "namespace": ns},
                         "spec": {"backend": {"inMemory": {}}}})
    labels = {"cluster.x-k8s.io/control-plane": "", "node-role.kubernetes.io/control-plane": ""} \
        if control_plane else {"node.cluster.x-k8s.io/pool": "workers"}
    await client.create({
        "apiVersion": MACHINE.api_version, "kind": "Machine",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations or {}},
        "spec": {"clusterName": cluster, "version": "v1.33.0",
                 "bootstrap": {"configRef": ref(KUBEADM_CONFIG.api_version, "KubeadmConfig", f"{name}-config")},
                 "infrastructureRef": ref(DEV_MACHINE.api_version, "DevMachine", f"{name}-infra")}})


async def provision_machine(client: Client, name: str, ns: str, cluster: str) -> str:
    """Play the bootstrap and infrastructure providers: data Secret created, machine provisioned."""
    await client.patch_status(KUBEADM_CONFIG, f"{name}-config", {"status": {
        "dataSecretName": f"{name}-bootstrap", "initialization": {"dataSecretCreated": True}}}, namespace=ns)
    provider_id = f"dev://{ns}/{cluster}/{name}"
    await client.patch(DEV_MACHINE, f"{name}-infra", {"spec": {"providerID": provider_id}}, namespace=ns)
    await client.patch_status(DEV_MACHINE, f"{name}-infra", {"status": {
        "initialization": {"provisioned": True},
        "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}]}}, namespace=ns)
    return provider_id


async def create_node(workload: Client, name: str, provider_id: str) -> None:
    """Play the kubelet: register a Ready Node."""
    await workload.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                           "spec": {"providerID": provider_id}})
    now = conditions.now_rfc3339()
    await workload.patch_status(NODE, name, {"status": {"conditions": [
        {"type": t, "status": s, "reason": r, "message": "", "lastHeartbeatTime": now, "lastTransitionTime": now}
        for t, s, r in (("Ready", "True", "KubeletReady"), ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                        ("PIDPressure", "False", "KubeletHasSufficientPID"))]}})


async def connect_workload(client: Client, workload_plane: ServedPlane, cluster: str, ns: str) -> None:
    """The `<cluster>-kubeconfig` Secret, pointing at the second `herd serve`."""
    value = base64.b64encode(workload_plane.kubeconfig.read_bytes()).decode()
    await client.create({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                         "metadata": {"name": f"{cluster}-kubeconfig", "namespace": ns,
                                      "labels": {"cluster.x-k8s.io/cluster-name": cluster}},
                         "data": {"value": value}}, kind=SECRET)


def status(obj: dict[str, Any] | None, *path: str) -> Any:
    value: Any = obj
    for part in path:
        value = (value or {}).get(part)
    return value


async def create_reconciled_machine(client: Client, name: str, ns: str, cluster: str) -> None:
    """A worker Machine, once the Machine controller has put its finalizer on it."""
    await create_machine(client, name, ns, cluster)
    await eventually(has(client, MACHINE, name, ns, lambda m: bool(m["metadata"].get("finalizers"))),
                     what=f"{name} reconciled")


async def delete_cluster_watching(client: Client, ns: str, cluster: str,
                                  watched: dict[str, tuple[Kind, str]]) -> asyncio.Task[list[str]]:
    """Delete the Cluster; the task returns the labels of the `watched` objects in the order they disappear."""
    recorder = asyncio.create_task(deletion_order(client, ns, watched))
    await client.delete(CLUSTER, cluster, ns)
    return recorder


async def deletion_order(client: Client, ns: str, watched: dict[str, tuple[Kind, str]]) -> list[str]:
    """The labels of the `watched` objects in the order they disappear (returns once all have)."""
    order: list[str] = []
    while len(order) < len(watched):
        for label, (kind, name) in watched.items():
            if label not in order and await get_or_none(client, kind, name, ns) is None:
                order.append(label)
        await asyncio.sleep(0.02)
    return order


# ----- tests -----

async def test_a_machine_reaches_running_and_the_cluster_provisioned_then_deletion_goes_outside_in(
        planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns = "lifecycle"
    async with controllers(planes, ns) as client:
        workload = Client.from_kubeconfig(planes[1].kubeconfig)
        try:
            await create_cluster(client, "c1", ns)
            await eventually(has(client, CLUSTER, "c1", ns, lambda c: "cluster.cluster.x-k8s.io"
                                 in c["metadata"].get("finalizers", [])
                                 and status(c, "status", "phase") == "Provisioning"),
                             what="Cluster Provisioning with its finalizer")
            await eventually(has(client, DEV_CLUSTER, "c1-infra", ns, lambda i: bool(
                i["metadata"].get("ownerReferences"))), what="DevCluster owned")
            infra = await client.get(DEV_CLUSTER, "c1-infra", ns)
            assert infra["metadata"]["ownerReferences"][0]["kind"] == "Cluster"
            assert infra["metadata"]["ownerReferences"][0]["controller"] is True
            assert infra["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] == "c1"

            await client.patch(DEV_CLUSTER, "c1-infra", {"spec": {"controlPlaneEndpoint": {
                "host": "127.0.0.1", "port": planes[1].port}}}, namespace=ns)
            await client.patch_status(DEV_CLUSTER, "c1-infra", {"status": {
                "initialization": {"provisioned": True}, "failureDomains": [{"name": "fd1", "controlPlane": True}]}},
                namespace=ns)
            await eventually(has(client, CLUSTER, "c1", ns, lambda c: status(c, "status", "phase") == "Provisioned"),
                             what="Cluster Provisioned")
            cluster = await client.get(CLUSTER, "c1", ns)
            assert cluster["spec"]["controlPlaneEndpoint"] == {"host": "127.0.0.1", "port": planes[1].port}
            assert cluster["status"]["failureDomains"] == [{"name": "fd1", "controlPlane": True}]
            assert condition(cluster, "InfrastructureReady")["status"] == "True"
            assert condition(cluster, "ControlPlaneInitialized")["status"] == "False"

            await create_machine(client, "cp-0", ns, "c1", control_plane=True)
            await eventually(has(client, MACHINE, "cp-0", ns, lambda m: status(m, "status", "phase") == "Pending"
                                 and condition(m, "BootstrapConfigReady").get("status") == "False"),
                             what="Machine Pending, waiting for bootstrap data")
            await eventually(has(client, KUBEADM_CONFIG, "cp-0-config", ns, lambda c: bool(
                c["metadata"].get("ownerReferences"))), what="KubeadmConfig owned")
            config = await client.get(KUBEADM_CONFIG, "cp-0-config", ns)
            assert config["metadata"]["ownerReferences"][0]["kind"] == "Machine"

            provider_id = await provision_machine(client, "cp-0", ns, "c1")
            await eventually(has(client, MACHINE, "cp-0", ns, lambda m: status(m, "status", "phase") == "Provisioned"),
                             what="Machine Provisioned")
            machine = await client.get(MACHINE, "cp-0", ns)
            assert machine["spec"]["bootstrap"]["dataSecretName"] == "cp-0-bootstrap"
            assert machine["spec"]["providerID"] == provider_id
            assert machine["status"]["addresses"] == [{"type": "InternalIP", "address": "10.0.0.7"}]
            assert condition(machine, "NodeHealthy")["status"] == "Unknown"

            await connect_workload(client, planes[1], "c1", ns)
            await create_node(workload, "cp-0-node", provider_id)
            await eventually(has(client, MACHINE, "cp-0", ns, lambda m: status(m, "status", "phase") == "Running"
                                 and condition(m, "Available").get("status") == "True"),
                             what="Machine Running and Available")
            machine = await client.get(MACHINE, "cp-0", ns)
            assert machine["status"]["nodeRef"] == {"name": "cp-0-node"}
            for type_ in ("BootstrapConfigReady", "InfrastructureReady", "NodeReady", "NodeHealthy", "Ready"):
                assert condition(machine, type_)["status"] == "True", type_
            node = await workload.get(NODE, "cp-0-node")
            assert node["metadata"]["annotations"]["cluster.x-k8s.io/machine"] == "cp-0"
            assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
            await eventually(has(client, CLUSTER, "c1", ns, lambda c: condition(c, "Available").get("status")
                                 == "True"), what="Cluster Available")
            # the Cluster sums up its Machines a moment after they change
            await eventually(has(client, CLUSTER, "c1", ns, lambda c: status(c, "status", "controlPlane",
                                                                             "readyReplicas") == 1),
                             what="Cluster counts the ready control plane Machine")
            cluster = await client.get(CLUSTER, "c1", ns)
            assert cluster["status"]["initialization"] == {"infrastructureProvisioned": True,
                                                           "controlPlaneInitialized": True}
            assert condition(cluster, "RemoteConnectionProbe")["status"] == "True"
            assert cluster["status"]["controlPlane"]["readyReplicas"] == 1

            # a worker with a pre-drain hook and Pods on its Node: hook, then drain, then the Node goes
            hook = "pre-drain.delete.hook.machine.cluster.x-k8s.io/test"
            await create_machine(client, "w-0", ns, "c1", annotations={hook: ""})
            worker_id = await provision_machine(client, "w-0", ns, "c1")
            await create_node(workload, "w-0-node", worker_id)
            await eventually(has(client, MACHINE, "w-0", ns, lambda m: status(m, "status", "phase") == "Running"),
                             what="worker Running")
            assert (await workload.get(NODE, "w-0-node"))["metadata"]["labels"]["node.cluster.x-k8s.io/pool"] \
                == "workers"
            for pod, extra in (("app", {}), ("static", {"annotations": {"kubernetes.io/config.mirror": "x"}})):
                await workload.create({"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": pod, "namespace": "default", **extra},
                                       "spec": {"nodeName": "w-0-node", "containers": [{"name": "c", "image": "i"}]}})
            await client.delete(MACHINE, "w-0", ns)
            await eventually(has(client, MACHINE, "w-0", ns, lambda m: condition(m, "Deleting").get("reason")
                                 == "WaitingForPreDrainHook"), what="waiting for the pre-drain hook")
            assert await get_or_none(workload, POD, "app", "default") is not None
            await client.patch(MACHINE, "w-0", {"metadata": {"annotations": {hook: None}}}, namespace=ns)
            await eventually(gone(client, MACHINE, "w-0", ns), what="worker Machine deleted")
            assert await get_or_none(workload, POD, "app", "default") is None, "evicted"
            assert await get_or_none(workload, POD, "static", "default") is not None, "mirror Pods stay"
            assert await get_or_none(workload, NODE, "w-0-node") is None, "the Node goes after the machine"
            assert await get_or_none(client, DEV_MACHINE, "w-0-infra", ns) is None
            assert await get_or_none(client, KUBEADM_CONFIG, "w-0-config", ns) is None

            # deleting the Cluster: workers first, then the control plane Machines, then the infrastructure
            await create_reconciled_machine(client, "w-1", ns, "c1")
            recorder = await delete_cluster_watching(client, ns, "c1", {
                "w-1": (MACHINE, "w-1"), "cp-0": (MACHINE, "cp-0"), "infra": (DEV_CLUSTER, "c1-infra"),
                "cluster": (CLUSTER, "c1")})
            await eventually(has(client, CLUSTER, "c1", ns, lambda c: condition(c, "Deleting").get("reason") in (
                "WaitingForWorkersDeletion", "WaitingForControlPlaneDeletion", "WaitingForInfrastructureDeletion")),
                what="Cluster Deleting")
            assert await asyncio.wait_for(recorder, 60) == ["w-1", "cp-0", "infra", "cluster"]
            assert await get_or_none(workload, NODE, "cp-0-node") is not None, \
                "a deleted cluster's Nodes are not drained"
        finally:
            await workload.close()


async def test_paused_clusters_and_machines_only_report_paused(planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns = "paused"
    async with controllers(planes, ns) as client:
        await create_cluster(client, "p1", ns, paused=True)
        await create_machine(client, "m-0", ns, "p1")
        await eventually(has(client, CLUSTER, "p1", ns, lambda c: condition(c, "Paused").get("status") == "True"),
                         what="Cluster Paused")
        await eventually(has(client, MACHINE, "m-0", ns, lambda m: condition(m, "Paused").get("status") == "True"),
                         what="Machine Paused")
        cluster = await client.get(CLUSTER, "p1", ns)
        assert condition(cluster, "Paused")["message"] == "Cluster spec.paused is set to true"
        assert not cluster["metadata"].get("finalizers")
        assert "phase" not in cluster.get("status", {})
        assert not (await client.get(DEV_CLUSTER, "p1-infra", ns))["metadata"].get("ownerReferences")
        machine = await client.get(MACHINE, "m-0", ns)
        assert not machine["metadata"].get("finalizers")
        assert not (await client.get(KUBEADM_CONFIG, "m-0-config", ns))["metadata"].get("ownerReferences")

        await client.patch(CLUSTER, "p1", {"spec": {"paused": False}}, namespace=ns)
        await eventually(has(client, MACHINE, "m-0", ns, lambda m: condition(m, "Paused").get("status") == "False"
                             and "machine.cluster.x-k8s.io" in m["metadata"].get("finalizers", [])),
                         what="Machine reconciled once unpaused")
        await eventually(has(client, KUBEADM_CONFIG, "m-0-config", ns,
                             lambda c: bool(c["metadata"].get("ownerReferences"))), what="config owned")
        await eventually(has(client, CLUSTER, "p1", ns, lambda c: status(c, "status", "phase") == "Provisioning"),
                         what="Cluster reconciled once unpaused")




async def test_a_cluster_follows_its_control_plane_object_and_deletes_it_before_the_infrastructure(
        planes: tuple[ServedPlane, ServedPlane]) -> None:
    ns = "with-cp"
    async with controllers(planes, ns) as client:
        await client.create({"apiVersion": KCP.api_version, "kind": "KubeadmControlPlane",
                             "metadata": {"name": "k1-cp", "namespace": ns},
                             "spec": {"version": "v1.33.0", "replicas": 3, "machineTemplate": {"spec": {
                                 "infrastructureRef": ref(DEV_MACHINE.api_version, "DevMachineTemplate", "t")}}}})
        await create_cluster(client, "k1", ns, controlPlaneRef=ref(KCP.api_version, "KubeadmControlPlane", "k1-cp"))
        await eventually(has(client, KCP, "k1-cp", ns, lambda k: bool(k["metadata"].get("ownerReferences"))),
                         what="control plane owned by the Cluster")
        await client.patch(DEV_CLUSTER, "k1-infra", {"spec": {"controlPlaneEndpoint": {
            "host": "10.1.2.3", "port": 6443}}}, namespace=ns)
        await client.patch_status(DEV_CLUSTER, "k1-infra", {"status": {"initialization": {"provisioned": True}}},
                                  namespace=ns)
        await eventually(has(client, CLUSTER, "k1", ns, lambda c: condition(c, "ControlPlaneInitialized").get(
            "reason") == "NotInitialized"), what="waiting for the control plane")
        await client.patch_status(KCP, "k1-cp", {"status": {
            "initialization": {"controlPlaneInitialized": True}, "replicas": 3, "readyReplicas": 2,
            "availableReplicas": 2, "upToDateReplicas": 3, "conditions": [{
                "type": "Available", "status": "False", "reason": "NotAvailable", "message": "etcd is unhappy",
                "lastTransitionTime": conditions.now_rfc3339()}]}}, namespace=ns)
        await eventually(has(client, CLUSTER, "k1", ns, lambda c: condition(c, "ControlPlaneInitialized").get(
            "status") == "True" and status(c, "status", "phase") == "Provisioned"),
            what="control plane initialized")
        await eventually(has(client, CLUSTER, "k1", ns, lambda c: status(c, "status", "controlPlane", "readyReplicas")
                             == 2), what="control plane counters")
        cluster = await client.get(CLUSTER, "k1", ns)
        assert cluster["spec"]["controlPlaneEndpoint"] == {"host": "10.1.2.3", "port": 6443}
        assert cluster["status"]["controlPlane"] == {"desiredReplicas": 3, "replicas": 3, "readyReplicas": 2,
                                                     "availableReplicas": 2, "upToDateReplicas": 3}
        assert condition(cluster, "ControlPlaneAvailable")["message"] == "etcd is unhappy"
        assert condition(cluster, "Available")["status"] == "False"

        await create_reconciled_machine(client, "w-0", ns, "k1")
        recorder = await delete_cluster_watching(client, ns, "k1", {
            "worker": (MACHINE, "w-0"), "control plane": (KCP, "k1-cp"), "infra": (DEV_CLUSTER, "k1-infra"),
            "cluster": (CLUSTER, "k1")})
        assert await asyncio.wait_for(recorder, 60) == ["worker", "control plane", "infra", "cluster"]
