"""What a KubeadmControlPlane sees of a simulated workload cluster, read the way it reads a real one: control plane
Nodes, their static pods in kube-system, kubeadm's addons, and the stacked etcd through a port-forward to each
`etcd-<node>` pod with a client certificate from the etcd CA. Faults and deletions change what it sees."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

from cryptography import x509
from support.devworld import (
    CP_PROVISIONING,
    World,
    create_bootstrap_token,
    eventually,
    init_user_data,
    join_user_data,
    make_world,
)
from support.objects import gone

from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.controlplane.kubeadm.etcd import EtcdClient, EtcdError, EtcdMember, EtcdStatus, etcd_client_tls
from herd.runtime import Client, ClientError, Kind
from herd.runtime.objects import CONFIGMAP, NODE
from herd.runtime.portforward import PortForward

POD = Kind("v1", "Pod", "pods")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
DAEMONSET = Kind("apps/v1", "DaemonSet", "daemonsets")
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
NODES = ("demo-cp-0", "demo-cp-1", "demo-cp-2")
TOKEN = "cpjoin.0123456789abcdef"


@contextlib.asynccontextmanager
async def three_control_plane_machines(client: Client, *, in_memory: dict[str, Any] | None = None,
                                       cluster_configuration: str = "") -> AsyncIterator[tuple[World, Client]]:
    """A cluster initialised by demo-cp-0 that demo-cp-1 and demo-cp-2 joined as control plane machines."""
    world = await make_world(client, in_memory=in_memory)
    await world.machine(NODES[0], init_user_data(world, cluster_configuration), control_plane=True,
                        provisioning=CP_PROVISIONING)
    workload = world.workload()
    try:
        await eventually(lambda: workload.get(NODE, NODES[0]), "the first control plane Node")
        await create_bootstrap_token(workload, TOKEN)
        for name in NODES[1:]:
            await world.machine(name, join_user_data(world, TOKEN, control_plane=True), control_plane=True,
                                provisioning=CP_PROVISIONING)
        every_pod = {f"{component}-{node}" for component in COMPONENTS for node in NODES}

        async def all_ready() -> bool:
            return await ready_pods(workload, NODES) == every_pod

        await eventually(all_ready, "12 static pods Ready")
        yield world, workload
    finally:
        await workload.close()


async def ready_pods(workload: Client, nodes: tuple[str, ...]) -> set[str]:
    pods = (await workload.list(POD, namespace="kube-system")).items
    return {p["metadata"]["name"] for p in pods if p["spec"].get("nodeName") in nodes and pod_ready(p)}


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


async def ask_etcd(world: World, workload: Client, node: str) -> tuple[EtcdStatus, list[EtcdMember]]:
    """The member on `node`'s own status and member list, through the workload API server's port-forward."""
    tls = etcd_client_tls(world.etcd_ca.cert_pem, world.etcd_ca.key_pem)
    async with (PortForward(workload, "kube-system", f"etcd-{node}", 2379) as forward,
                EtcdClient(f"https://127.0.0.1:{forward.port}", tls, timeout=3.0) as etcd):
        return await etcd.status(), await etcd.member_list()


async def answers(world: World, workload: Client, node: str) -> bool:
    try:
        await ask_etcd(world, workload, node)
    except (EtcdError, ClientError, OSError):
        return False
    return True


async def pod(workload: Client, name: str) -> dict[str, Any]:
    return await workload.get(POD, name, "kube-system")


async def test_a_kubeadm_control_plane_sees_nodes_static_pods_etcd_and_addons(client: Client, provider: None) -> None:
    async with three_control_plane_machines(client) as (world, workload):
        nodes = (await workload.list(NODE)).items
        assert sorted(n["metadata"]["name"] for n in nodes) == list(NODES)

        etcd_pod = await pod(workload, "etcd-demo-cp-1")
        assert etcd_pod["metadata"]["labels"] == {"component": "etcd", "tier": "control-plane"}
        assert etcd_pod["spec"]["nodeName"] == "demo-cp-1"
        assert etcd_pod["status"]["phase"] == "Running"
        assert {c["type"]: c["status"] for c in etcd_pod["status"]["conditions"]}.items() >= {
            "Ready": "True", "ContainersReady": "True", "PodScheduled": "True", "Initialized": "True"}.items()
        assert etcd_pod["spec"]["containers"][0]["image"] == "registry.k8s.io/etcd:3.5.16-0"
        apiserver = await pod(workload, "kube-apiserver-demo-cp-2")
        assert apiserver["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.32.0"
        assert apiserver["metadata"]["ownerReferences"][0]["kind"] == "Node"

        # each member answers through its pod: three members named after the Nodes, one leader they agree on
        leaders = set()
        for node in NODES:
            status, members = await ask_etcd(world, workload, node)
            assert sorted(m.name for m in members) == list(NODES)
            leaders.add(status.leader_id)
        assert len(leaders) == 1 and None not in leaders

        # the API server's serving certificate, read through the kube-apiserver pod, is from the cluster CA
        context = ssl.create_default_context(cadata=world.ca.cert_pem.decode())
        context.check_hostname = False
        async with PortForward(workload, "kube-system", "kube-apiserver-demo-cp-0", 6443) as forward:
            _, writer = await asyncio.open_connection("127.0.0.1", forward.port, ssl=context)
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            writer.close()
        assert x509.load_der_x509_certificate(der).issuer == x509.load_pem_x509_certificate(world.ca.cert_pem).subject

        # kubeadm init's addons
        coredns = await workload.get(DEPLOYMENT, "coredns", "kube-system")
        assert coredns["metadata"]["labels"]["k8s-app"] == "kube-dns"
        assert coredns["spec"]["template"]["spec"]["containers"][0]["image"] == \
            "registry.k8s.io/coredns/coredns:v1.12.0"
        assert "kubernetes cluster.local" in (await workload.get(CONFIGMAP, "coredns", "kube-system"))["data"][
            "Corefile"]
        proxy = await workload.get(DAEMONSET, "kube-proxy", "kube-system")
        assert proxy["metadata"]["labels"]["k8s-app"] == "kube-proxy"
        assert proxy["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-proxy:v1.32.0"
        assert "config.conf" in (await workload.get(CONFIGMAP, "kube-proxy", "kube-system"))["data"]


async def test_etcd_and_apiserver_pod_faults_show_and_heal(client: Client, provider: None) -> None:
    async with three_control_plane_machines(client) as (world, workload):
        await world.annotate("demo-cp-1", "etcd-member-down")

        async def etcd_down() -> bool:
            return not pod_ready(await pod(workload, "etcd-demo-cp-1")) and \
                not await answers(world, workload, "demo-cp-1")

        await eventually(etcd_down, "etcd-demo-cp-1 not Ready and its member silent")
        status, members = await ask_etcd(world, workload, "demo-cp-0")  # the others keep a quorum and a leader
        assert len(members) == 3 and status.leader_id is not None
        assert pod_ready(await pod(workload, "kube-apiserver-demo-cp-1"))
        await world.annotate("demo-cp-1", None)

        async def etcd_back() -> bool:
            return pod_ready(await pod(workload, "etcd-demo-cp-1")) and await answers(world, workload, "demo-cp-1")

        await eventually(etcd_back, "etcd-demo-cp-1 Ready and answering again")

        await world.annotate("demo-cp-2", "apiserver-pod-down")
        await eventually(lambda: _not(pod_ready_named(workload, "kube-apiserver-demo-cp-2")), "apiserver pod down")
        assert pod_ready(await pod(workload, "etcd-demo-cp-2"))
        await world.annotate("demo-cp-2", None)
        await eventually(lambda: pod_ready_named(workload, "kube-apiserver-demo-cp-2"), "apiserver pod Ready again")

        # a vanished VM takes its etcd member along; its pods are marked not Ready with its Node
        await world.annotate("demo-cp-2", "vm-gone")

        async def machine_gone() -> bool:
            pods = [await pod(workload, f"{component}-demo-cp-2") for component in COMPONENTS]
            return not any(pod_ready(p) for p in pods) and not await answers(world, workload, "demo-cp-2")

        await eventually(machine_gone, "demo-cp-2's pods not Ready and its member silent")
        await world.annotate("demo-cp-2", None)

        async def machine_back() -> bool:
            return await ready_pods(workload, ("demo-cp-2",)) == {f"{c}-demo-cp-2" for c in COMPONENTS} and \
                await answers(world, workload, "demo-cp-2")

        await eventually(machine_back, "demo-cp-2 back")


async def test_a_deleted_control_plane_machine_leaves_a_silent_etcd_member(client: Client, provider: None) -> None:
    async with three_control_plane_machines(client) as (world, workload):
        await client.delete(DEV_MACHINE, "demo-cp-2", world.namespace)
        await eventually(gone(client, DEV_MACHINE, "demo-cp-2", world.namespace), "DevMachine deleted")
        for component in COMPONENTS:
            await eventually(gone(workload, POD, f"{component}-demo-cp-2", "kube-system"), f"{component} pod gone")
        assert not await answers(world, workload, "demo-cp-2")
        _, members = await ask_etcd(world, workload, "demo-cp-0")
        assert sorted(m.name for m in members) == list(NODES), "removing the member is the control plane's job"


async def test_failure_domains_images_and_recreated_mirror_pods(client: Client, provider: None) -> None:
    domains = [{"name": "fd-a", "controlPlane": True, "attributes": {"rack": "1"}}, {"name": "fd-b"}]
    settings = "imageRepository: mirror.example/k8s\ndns:\n  imageTag: v1.11.3\n"
    async with three_control_plane_machines(client, in_memory={"failureDomains": domains},
                                            cluster_configuration=settings) as (world, workload):
        devcluster = await client.get(DEV_CLUSTER, "demo", world.namespace)
        assert devcluster["status"]["failureDomains"] == domains

        coredns = await workload.get(DEPLOYMENT, "coredns", "kube-system")
        assert coredns["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.example/k8s/coredns:v1.11.3"
        proxy = await workload.get(DAEMONSET, "kube-proxy", "kube-system")
        assert proxy["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.example/k8s/kube-proxy:v1.32.0"
        # a joined machine's static pods follow the cluster's kubeadm-config, as kubeadm join reads it
        scheduler = await pod(workload, "kube-scheduler-demo-cp-2")
        assert scheduler["spec"]["containers"][0]["image"] == "mirror.example/k8s/kube-scheduler:v1.32.0"

        # a mirror pod deleted by someone is brought back by its kubelet
        await workload.delete(POD, "kube-scheduler-demo-cp-2", "kube-system")
        await eventually(lambda: pod_ready_named(workload, "kube-scheduler-demo-cp-2"), "mirror pod re-created")


async def pod_ready_named(workload: Client, name: str) -> bool:
    return pod_ready(await pod(workload, name))


async def _not(value: Any) -> bool:
    return not await value
