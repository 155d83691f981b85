"""The Dev provider's inMemory backend against a real `herd serve`, with herd's own API server as the simulated
workload clusters' API servers. The test plays the Cluster, Machine and bootstrap controllers by hand: it creates
the Cluster and Machines, renders the bootstrap data and writes the `<cluster>-kubeconfig` Secret
(support.devworld)."""

from __future__ import annotations

import pytest
import yaml
from support.devworld import (
    CP_PROVISIONING,
    control_plane_and_worker,
    equals,
    eventually,
    init_user_data,
    make_world,
    node_is,
    port_closed,
    ready_condition,
    running_provider,
)
from support.objects import gone

from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.apiserver.kubeconfig import build_kubeconfig
from herd.apiserver.pki import CertificateAuthority
from herd.providers.dev.workload import client_from_kubeconfig
from herd.runtime import Client, ClientError, Unauthorized, conditions
from herd.runtime.objects import CONFIGMAP, LEASE, NODE

# ----- the tests -----------------------------------------------------------------------------------------------

async def test_a_control_plane_machine_boots_the_workload_cluster_from_its_bootstrap_data(
        client: Client, provider: None) -> None:
    world = await make_world(client)
    await world.machine("demo-cp-0", init_user_data(world), control_plane=True, provisioning=CP_PROVISIONING)
    await eventually(lambda: equals(world.condition("demo-cp-0", "Ready"), ("True", "Ready")), "DevMachine Ready")
    devmachine = await world.devmachine("demo-cp-0")
    assert devmachine["spec"]["providerID"] == f"in-memory://{world.namespace}/demo-cp-0"
    assert devmachine["status"]["initialization"] == {"provisioned": True}
    assert {"type": "InternalIP", "address": "127.0.0.1"} in devmachine["status"]["addresses"]
    for condition_type in ("VMProvisioned", "NodeProvisioned", "EtcdProvisioned", "APIServerProvisioned"):
        assert await world.condition("demo-cp-0", condition_type) == ("True", "Provisioned")
    assert set(yaml.safe_load(devmachine["metadata"]["annotations"]["herd.dev/ready-at"])) == {
        "vm", "node", "etcd", "apiServer", "registered"}
    assert "dockermachine.infrastructure.cluster.x-k8s.io" in devmachine["metadata"]["finalizers"]

    # the workload API server answers at the endpoint, with a certificate from the cluster's CA
    workload = world.workload()
    try:
        node = await workload.get(NODE, "demo-cp-0")
        assert node["spec"]["providerID"] == f"in-memory://{world.namespace}/demo-cp-0"
        assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
        assert ready_condition(node)["status"] == "True"

        async def lease_renewed() -> bool:
            # as a kubelet with node leases: the Lease is the heartbeat; Node status is posted when it changes
            lease = await workload.get(LEASE, "demo-cp-0", "kube-node-lease")
            return bool(lease["spec"]["renewTime"] != first_renewal)

        first_renewal = (await workload.get(LEASE, "demo-cp-0", "kube-node-lease"))["spec"]["renewTime"]
        await eventually(lease_renewed, "a renewed node Lease", timeout=10)
        assert (await workload.get(LEASE, "demo-cp-0", "kube-node-lease"))["spec"]["holderIdentity"] == "demo-cp-0"
        cluster_info = await workload.get(CONFIGMAP, "cluster-info", "kube-public")
        assert "certificate-authority-data" in cluster_info["data"]["kubeconfig"]
    finally:
        await workload.close()

    # a client certificate from another CA is refused, and so is a request without credentials
    cert, key = CertificateAuthority.generate("stranger").issue_client_cert("kubernetes-admin", ["system:masters"])
    for credentials, refusal in (({"client_cert_pem": cert, "client_key_pem": key}, ClientError), ({}, Unauthorized)):
        stranger = client_from_kubeconfig(build_kubeconfig(server=f"https://127.0.0.1:{world.port}", user_name="x",
                                                           ca_pem=world.ca.cert_pem, cluster_name="c", **credentials))
        try:
            with pytest.raises(refusal):
                await stranger.get(NODE, "demo-cp-0")
        finally:
            await stranger.close()


async def test_a_restarted_provider_continues_the_machine_instead_of_starting_over(client: Client) -> None:
    async with running_provider(client):
        world = await make_world(client)
        slow = {**CP_PROVISIONING, "node": {"provisioning": {"startupDuration": "2s"}}}
        await world.machine("demo-cp-0", init_user_data(world), control_plane=True, provisioning=slow)
        await eventually(lambda: equals(world.condition("demo-cp-0", "VMProvisioned"), ("True", "Provisioned")),
                         "VM provisioned")
        before = yaml.safe_load((await world.devmachine("demo-cp-0"))["metadata"]["annotations"]["herd.dev/ready-at"])
    assert await port_closed(world.port)
    async with running_provider(client):
        await eventually(lambda: equals(world.condition("demo-cp-0", "Ready"), ("True", "Ready")),
                         "DevMachine Ready after the restart")
        after = yaml.safe_load((await world.devmachine("demo-cp-0"))["metadata"]["annotations"]["herd.dev/ready-at"])
        assert {k: after[k] for k in before} == before, "the moments decided before the restart are kept"
    # once booted, a restart brings the API server back (empty) and the kubelet registers its Node again
    async with running_provider(client):
        workload = world.workload()
        try:
            await eventually(lambda: node_is(workload, "demo-cp-0", "True"), "Node registered again")
        finally:
            await workload.close()


async def test_a_worker_joins_with_the_bootstrap_token_and_faults_take_effect(
        client: Client, provider: None) -> None:
    async with control_plane_and_worker(client, "abcdef.0123456789abcdef") as (world, workload):
        worker = await workload.get(NODE, "demo-md-0")
        assert worker["spec"]["providerID"] == f"in-memory://{world.namespace}/demo-md-0"
        assert "node-role.kubernetes.io/control-plane" not in worker["metadata"]["labels"]
        assert await world.condition("demo-md-0", "EtcdProvisioned") is None

        # node-not-ready: the kubelet reports the Node NotReady while the annotation is there
        await world.annotate("demo-md-0", "node-not-ready")
        await eventually(lambda: node_is(workload, "demo-md-0", "False"), "Node NotReady")
        await world.annotate("demo-md-0", None)
        await eventually(lambda: node_is(workload, "demo-md-0", "True"), "Node Ready again")

        # vm-gone: the DevMachine reports its VM missing, the Node goes Unknown
        await world.annotate("demo-md-0", "vm-gone")

        async def vm_gone() -> bool:
            vm = conditions.get_condition(await world.devmachine("demo-md-0"), "VMProvisioned") or {}
            return (vm.get("status"), vm.get("reason")) == ("False", "VMGone") and "gone" in vm.get("message", "") \
                and await world.condition("demo-md-0", "Ready") == ("False", "NotReady")

        await eventually(vm_gone, "DevMachine reports the VM gone")
        await eventually(lambda: node_is(workload, "demo-md-0", "Unknown"), "Node Unknown")
        await world.annotate("demo-md-0", None)
        await eventually(lambda: node_is(workload, "demo-md-0", "True"), "Node Ready after the VM is back")

        # apiserver-down (set on the worker: it concerns the whole cluster): the endpoint stops answering, then returns
        await world.annotate("demo-md-0", "apiserver-down")
        await eventually(lambda: port_closed(world.port), "API server down")
        await eventually(lambda: equals(world.condition("demo-cp-0", "APIServerProvisioned"),
                                         ("False", "APIServerDown")), "the control plane machine reports it")
        await world.annotate("demo-md-0", None)
        await eventually(lambda: node_is(workload, "demo-md-0", "True"), "API server back, with its data")
        assert await node_is(workload, "demo-cp-0", "True")


async def test_deleting_machines_and_the_devcluster_tears_the_workload_cluster_down(
        client: Client, provider: None) -> None:
    async with control_plane_and_worker(client, "zyxwvu.0123456789abcdef") as (world, workload):
        await client.delete(DEV_MACHINE, "demo-md-0", world.namespace)
        await eventually(gone(workload, NODE, "demo-md-0"), "worker Node deleted")
        await eventually(gone(client, DEV_MACHINE, "demo-md-0", world.namespace), "worker DevMachine deleted")
        assert await node_is(workload, "demo-cp-0", "True")
    await client.delete(DEV_CLUSTER, "demo", world.namespace)
    await eventually(gone(client, DEV_CLUSTER, "demo", world.namespace), "DevCluster deleted")
    assert await port_closed(world.port), "the workload API server stops with its DevCluster"
