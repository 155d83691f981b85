"""The Dev provider's simulated world for integration tests: the provider running in-process with real workload
API servers, and one cluster per namespace set up as the Cluster, Machine and kubeadm controllers would (the
Cluster and Machines, rendered bootstrap data, the `<cluster>-kubeconfig` Secret)."""

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

import yaml

from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.apiserver.kubeconfig import build_kubeconfig
from herd.apiserver.pki import CertificateAuthority
from herd.cli.workload_servers import WorkloadServers
from herd.providers.dev import DevProvider
from herd.providers.dev.workload import ca_cert_hash, client_from_kubeconfig
from herd.runtime import Client, ClientError, Manager, conditions
from herd.runtime.objects import NAMESPACE, NODE, SECRET

from . import waiting
from .manager import running

INFRA = "infrastructure.cluster.x-k8s.io"
_namespaces = itertools.count()
# client and connection errors count as "not yet": the workload API servers come and go in these tests
eventually = functools.partial(waiting.eventually, retry_on=(ClientError, OSError))


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


# ----- playing the other controllers' part ---------------------------------------------------------------------

@dataclass
class World:
    """One cluster in its own namespace, as the Cluster controller and kubeadm providers would have made it."""

    client: Client
    namespace: str
    port: int
    ca: CertificateAuthority
    etcd_ca: CertificateAuthority
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


async def make_world(client: Client, *, in_memory: dict[str, Any] | None = None) -> World:
    """A Cluster with its DevCluster (`in_memory`: its spec.backend.inMemory), provisioned, and its admin kubeconfig
    Secret."""
    namespace = f"dev-{next(_namespaces)}-{int(time.time()) % 100000}"
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, kind=NAMESPACE)
    meta = {"name": "demo", "namespace": namespace}
    infrastructure_ref = {"apiGroup": INFRA, "kind": "DevCluster", "name": "demo"}
    cluster = await client.create({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "metadata": meta,
                                   "spec": {"infrastructureRef": infrastructure_ref}})
    await client.create({"apiVersion": f"{INFRA}/v1beta2", "kind": "DevCluster",
                         "spec": {"backend": {"inMemory": in_memory or {}}},
                         "metadata": {**meta, "ownerReferences": [_owner(cluster)]}})

    async def provisioned() -> bool:
        devcluster = await client.get(DEV_CLUSTER, "demo", namespace)
        return bool(devcluster.get("status", {}).get("initialization", {}).get("provisioned"))

    await eventually(provisioned, "DevCluster provisioned")
    port = int((await client.get(DEV_CLUSTER, "demo", namespace))["spec"]["controlPlaneEndpoint"]["port"])
    ca, etcd_ca = CertificateAuthority.generate("kubernetes"), CertificateAuthority.generate("etcd-ca")
    admin_cert, admin_key = ca.issue_client_cert("kubernetes-admin", ["system:masters"])
    kubeconfig = build_kubeconfig(server=f"https://127.0.0.1:{port}", ca_pem=ca.cert_pem, cluster_name="demo",
                                  user_name="demo-admin", client_cert_pem=admin_cert, client_key_pem=admin_key)
    await client.create({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
                         "metadata": {"name": "demo-kubeconfig", "namespace": namespace},
                         "data": {"value": _b64(yaml.safe_dump(kubeconfig))}}, kind=SECRET)
    return World(client, namespace, port, ca, etcd_ca, kubeconfig)


def user_data(files: dict[str, str | bytes], command: str) -> str:
    """Cloud-init as the kubeadm bootstrap provider lays it out."""
    entries = [f"-   path: {path}\n    owner: root:root\n    permissions: '0600'\n    content: |\n"
               + textwrap.indent(content.decode() if isinstance(content, bytes) else content, " " * 6)
               for path, content in files.items()]
    return "## template: jinja\n#cloud-config\nwrite_files:\n" + "".join(entries) + \
        f"runcmd:\n  - '{command} && echo success > /run/cluster-api/bootstrap-success.complete'\n"


def pki_files(world: World) -> dict[str, str | bytes]:
    """The cluster and etcd CAs, as the kubeadm bootstrap provider writes them on control plane machines."""
    return {"/etc/kubernetes/pki/ca.crt": world.ca.cert_pem, "/etc/kubernetes/pki/ca.key": world.ca.key_pem,
            "/etc/kubernetes/pki/etcd/ca.crt": world.etcd_ca.cert_pem,
            "/etc/kubernetes/pki/etcd/ca.key": world.etcd_ca.key_pem}


def init_user_data(world: World, cluster_configuration: str = "") -> str:
    """`kubeadm init`; `cluster_configuration`: more ClusterConfiguration fields, as YAML lines."""
    kubeadm = textwrap.dedent(f"""\
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        controlPlaneEndpoint: 127.0.0.1:{world.port}
        """) + cluster_configuration + textwrap.dedent("""\
        ---
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: InitConfiguration
        nodeRegistration:
          name: '{{ ds.meta_data.local_hostname }}'
        """)
    return user_data({**pki_files(world), "/run/kubeadm/kubeadm.yaml": kubeadm},
                     "kubeadm init --config /run/kubeadm/kubeadm.yaml")


def join_user_data(world: World, token: str, *, control_plane: bool = False) -> str:
    """`kubeadm join`; a control plane join carries the cluster's CAs, as the KubeadmControlPlane's does."""
    kubeadm = textwrap.dedent(f"""\
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: JoinConfiguration
        discovery:
          bootstrapToken:
            apiServerEndpoint: 127.0.0.1:{world.port}
            token: {token}
            caCertHashes: ["{ca_cert_hash(world.ca.cert_pem)}"]
        """) + ("controlPlane:\n  localAPIEndpoint: {}\n" if control_plane else "")
    files: dict[str, str | bytes] = pki_files(world) if control_plane else {}
    return user_data({**files, "/run/kubeadm/kubeadm-join-config.yaml": kubeadm},
                     "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml")


async def create_bootstrap_token(workload: Client, token: str) -> None:
    """A bootstrap token in the workload cluster, as the kubeadm bootstrap provider makes one."""
    token_id, secret = token.split(".")
    data = {"token-id": token_id, "token-secret": secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    await workload.create({"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                           "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
                           "data": {k: _b64(v) for k, v in data.items()}}, kind=SECRET)


async def add_worker(world: World, workload: Client, name: str, token: str) -> None:
    """A bootstrap token in the workload cluster, then a joining Machine."""
    await create_bootstrap_token(workload, token)
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


async def equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected

