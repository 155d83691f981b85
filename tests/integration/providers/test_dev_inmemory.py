"""The Dev provider's inMemory backend against a real `herd serve`, with herd's own API server as the simulated
workload clusters' API servers. The test plays the Cluster, Machine and bootstrap controllers by hand: it creates
the Cluster and Machines, renders the bootstrap data and writes the `<cluster>-kubeconfig` Secret."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from support import waiting
from support.manager import install_crds, running
from support.objects import gone
from support.plane import ServedPlane

from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.apiserver.kubeconfig import build_kubeconfig
from herd.apiserver.pki import CertificateAuthority
from herd.cli.workload_servers import WorkloadServers
from herd.providers.dev import DevProvider
from herd.providers.dev.workload import ca_cert_hash, client_from_kubeconfig
from herd.runtime import Client, ClientError, Manager, Unauthorized, conditions
from herd.runtime.objects import CONFIGMAP, LEASE, NAMESPACE, NODE, SECRET

INFRA = "infrastructure.cluster.x-k8s.io"
_namespaces = itertools.count()
# client and connection errors count as "not yet": the workload API servers come and go in these tests
eventually = functools.partial(waiting.eventually, retry_on=(ClientError, OSError))


@pytest.fixture
async def client(shared_plane: ServedPlane) -> AsyncIterator[Client]:
    management = Client.from_kubeconfig(shared_plane.kubeconfig)
    await install_crds(management)
    yield management
    await management.close()


@contextlib.asynccontextmanager
async def running_provider(client: Client) -> AsyncIterator[None]:
    """The provider on a manager, in-process, with the real workload API servers; leaving is the process dying
    (its kubelets and workload API servers go with it)."""
    servers = WorkloadServers()
    manager = Manager(client, health_port=None)
    provider = DevProvider(client, servers, cache=manager.cache, heartbeat_interval=0.3)
    provider.add_to(manager)
    try:
        async with running(manager, timeout=30):
            yield
    finally:
        await provider.close()
        await servers.close()


@pytest.fixture
async def provider(client: Client) -> AsyncIterator[None]:
    async with running_provider(client):
        yield


# ----- playing the other controllers' part ---------------------------------------------------------------------

@dataclass
class World:
    """One cluster in its own namespace, as the Cluster controller and kubeadm providers would have made it."""

    client: Client
    namespace: str
    port: int
    ca: CertificateAuthority
    kubeconfig: dict[str, Any]

    def workload(self) -> Client:
        return client_from_kubeconfig(self.kubeconfig)

    async def devmachine(self, name: str) -> dict[str, Any]:
        return await self.client.get(DEV_MACHINE, name, self.namespace)

    async def condition(self, name: str, condition_type: str) -> tuple[str, str] | None:
        found = conditions.get_condition(await self.devmachine(name), condition_type)
        return (found["status"], found["reason"]) if found else None

    async def machine(self, name: str, user_data: str, *, control_plane: bool,
                      provisioning: dict[str, Any] | None = None) -> None:
        labels = {"cluster.x-k8s.io/cluster-name": "demo"} | ({"cluster.x-k8s.io/control-plane": ""}
                                                                if control_plane else {})
        meta = {"name": name, "namespace": self.namespace, "labels": labels}
        await self.client.create({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                                  "metadata": {**meta, "name": f"{name}-bootstrap"},
                                  "data": {"value": _b64(user_data), "format": _b64("cloud-config")}}, kind=SECRET)
        machine = await self.client.create({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": meta,
            "spec": {"clusterName": "demo", "version": "v1.32.0", "bootstrap": {"dataSecretName": f"{name}-bootstrap"},
                     "infrastructureRef": {"apiGroup": INFRA, "kind": "DevMachine", "name": name}}})
        await self.client.create({"apiVersion": f"{INFRA}/v1beta2", "kind": "DevMachine",
                                  "metadata": {**meta, "ownerReferences": [_owner(machine)]},
                                  "spec": {"backend": {"inMemory": provisioning or {}}}})

    async def annotate(self, name: str, fault: str | None) -> None:
        await self.client.patch(DEV_MACHINE, name, {"metadata": {"annotations": {"herd.dev/fail": fault}}},
                                namespace=self.namespace)


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


async def make_world(client: Client) -> World:
    namespace = f"dev-{next(_namespaces)}-{int(time.time()) % 100000}"
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, kind=NAMESPACE)
    meta = {"name": "demo", "namespace": namespace}
    infrastructure_ref = {"apiGroup": INFRA, "kind": "DevCluster", "name": "demo"}
    cluster = await client.create({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "metadata": meta,
                                   "spec": {"infrastructureRef": infrastructure_ref}})
    await client.create({"apiVersion": f"{INFRA}/v1beta2", "kind": "DevCluster", "spec": {"backend": {"inMemory": {}}},
                         "metadata": {**meta, "ownerReferences": [_owner(cluster)]}})

    async def provisioned() -> bool:
        devcluster = await client.get(DEV_CLUSTER, "demo", namespace)
        return bool(devcluster.get("status", {}).get("initialization", {}).get("provisioned"))

    await eventually(provisioned, "DevCluster provisioned")
    port = int((await client.get(DEV_CLUSTER, "demo", namespace))["spec"]["controlPlaneEndpoint"]["port"])
    ca = CertificateAuthority.generate("kubernetes")
    admin_cert, admin_key = ca.issue_client_cert("kubernetes-admin", ["system:masters"])
    kubeconfig = build_kubeconfig(server=f"https://127.0.0.1:{port}", ca_pem=ca.cert_pem, cluster_name="demo",
                                  user_name="demo-admin", client_cert_pem=admin_cert, client_key_pem=admin_key)
    await client.create({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                         "metadata": {"name": "demo-kubeconfig", "namespace": namespace},
                         "data": {"value": _b64(yaml.safe_dump(kubeconfig))}}, kind=SECRET)
    return World(client, namespace, port, ca, kubeconfig)


def user_data(files: dict[str, str | bytes], command: str) -> str:
    """Cloud-init as the kubeadm bootstrap provider lays it out."""
    entries = [f"-   path: {path}\n    owner: root:root\n    permissions: '0600'\n    content: |\n"
               + textwrap.indent(content.decode() if isinstance(content, bytes) else content, " " * 6)
               for path, content in files.items()]
    return "## template: jinja\n#cloud-config\nwrite_files:\n" + "".join(entries) + \
        f"runcmd:\n  - '{command} && echo success > /run/cluster-api/bootstrap-success.complete'\n"


def init_user_data(world: World) -> str:
    kubeadm = textwrap.dedent(f"""\
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        controlPlaneEndpoint: 127.0.0.1:{world.port}
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        nodeRegistration:
          name: '{{{{ ds.meta_data.local_hostname }}}}'
        """)
    return user_data({"/etc/kubernetes/pki/ca.crt": world.ca.cert_pem, "/etc/kubernetes/pki/ca.key": world.ca.key_pem,
                      "/run/kubeadm/kubeadm.yaml": kubeadm}, "kubeadm init --config /run/kubeadm/kubeadm.yaml")


def join_user_data(world: World, token: str) -> str:
    kubeadm = textwrap.dedent(f"""\
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: JoinConfiguration
        discovery:
          bootstrapToken:
            apiServerEndpoint: 127.0.0.1:{world.port}
            token: {token}
            caCertHashes: ["{ca_cert_hash(world.ca.cert_pem)}"]
        """)
    return user_data({"/run/kubeadm/kubeadm-join-config.yaml": kubeadm},
                     "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml")


async def add_worker(world: World, workload: Client, name: str, token: str) -> None:
    """A bootstrap token in the workload cluster (as the kubeadm bootstrap provider makes), then a joining Machine."""
    token_id, secret = token.split(".")
    data = {"token-id": token_id, "token-secret": secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    await workload.create({"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                           "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
                           "data": {k: _b64(v) for k, v in data.items()}}, kind=SECRET)
    await world.machine(name, join_user_data(world, token), control_plane=False,
                        provisioning={"vm": {"provisioning": {"startupDuration": "100ms"}}})
    await eventually(lambda: node_is(workload, name, "True"), f"{name} Node Ready")


def ready_condition(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def node_is(workload: Client, name: str, status: str) -> bool:
    return bool(ready_condition(await workload.get(NODE, name))["status"] == status)


async def port_closed(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


@contextlib.asynccontextmanager
async def control_plane_and_worker(client: Client, token: str) -> AsyncIterator[tuple[World, Client]]:
    """A world whose control plane Node is Ready and whose worker demo-md-0 has joined with `token`; yields it and
    a client of its workload cluster."""
    world = await make_world(client)
    await world.machine("demo-cp-0", init_user_data(world), control_plane=True)
    workload = world.workload()
    try:
        await eventually(lambda: node_is(workload, "demo-cp-0", "True"), "control plane Node Ready")
        await add_worker(world, workload, "demo-md-0", token)
        yield world, workload
    finally:
        await workload.close()


CP_PROVISIONING = {"vm": {"provisioning": {"startupDuration": "300ms", "startupJitter": "0.5"}},
                   "node": {"provisioning": {"startupDuration": "200ms"}},
                   "etcd": {"provisioning": {"startupDuration": "100ms"}},
                   "apiServer": {"provisioning": {"startupDuration": "200ms"}}}


# ----- the tests -----------------------------------------------------------------------------------------------

async def test_a_control_plane_machine_boots_the_workload_cluster_from_its_bootstrap_data(
        client: Client, provider: None) -> None:
    world = await make_world(client)
    await world.machine("demo-cp-0", init_user_data(world), control_plane=True, provisioning=CP_PROVISIONING)
    await eventually(lambda: _equals(world.condition("demo-cp-0", "Ready"), ("True", "Ready")), "DevMachine Ready")
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
        await eventually(lambda: _equals(world.condition("demo-cp-0", "VMProvisioned"), ("True", "Provisioned")),
                         "VM provisioned")
        before = yaml.safe_load((await world.devmachine("demo-cp-0"))["metadata"]["annotations"]["herd.dev/ready-at"])
    assert await port_closed(world.port)
    async with running_provider(client):
        await eventually(lambda: _equals(world.condition("demo-cp-0", "Ready"), ("True", "Ready")),
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
        await eventually(lambda: _equals(world.condition("demo-cp-0", "APIServerProvisioned"),
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


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected

