"""The kubeadm bootstrap controller against a real `herd serve`: the first control plane machine gets the cluster
certificates, the admin kubeconfig and `kubeadm init` data; a second one waits on the init lock; once the control
plane is initialized, both it and a worker get `kubeadm join` data with a bootstrap token made in the workload
cluster (a second `herd serve` stands in for the workload API server), and the token is kept alive."""

from __future__ import annotations

import asyncio
import base64
import datetime
import functools
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from support import waiting
from support.manager import install_crds, running
from support.plane import ServedPlane, management_and_workload

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import CLUSTER, MACHINE
from herd.bootstrap.kubeadm import new_controller
from herd.contract import certificates as certs
from herd.runtime import CONFIGMAP, SECRET, Client, Manager, NotFound, Object
from herd.runtime.conditions import get_condition

NS = "default"
CLUSTER_LABEL = "cluster.x-k8s.io/cluster-name"
CP_LABEL = "cluster.x-k8s.io/control-plane"
TOKEN_TTL = 6.0  # seconds: short, so the test sees the controller extend a pending token
eventually = functools.partial(waiting.eventually, timeout=60.0)


@dataclass
class Planes:
    management: Client
    workload: Client
    workload_port: int
    workload_kubeconfig: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServedPlane, ServedPlane]]:
    with management_and_workload(tmp_path, "--storage", "memory") as both:
        yield both


@pytest.fixture
async def planes(served: tuple[ServedPlane, ServedPlane]) -> AsyncIterator[Planes]:
    management_plane, workload_plane = served
    management = Client.from_kubeconfig(management_plane.kubeconfig)
    workload = Client.from_kubeconfig(workload_plane.kubeconfig)
    await install_crds(management)
    yield Planes(management, workload, workload_plane.port, workload_plane.kubeconfig)
    await workload.close()
    await management.close()


def cluster_object(port: int) -> Object:
    return {"apiVersion": CLUSTER.api_version, "kind": "Cluster", "metadata": {"name": "c1", "namespace": NS},
            "spec": {"controlPlaneEndpoint": {"host": "127.0.0.1", "port": port},
                     "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]},
                                        "services": {"cidrBlocks": ["10.128.0.0/12"]}}}}


async def create_machine(client: Client, name: str, *, control_plane: bool, config_spec: Object | None,
                         annotations: dict[str, str] | None = None) -> Object:
    """A Machine and its KubeadmConfig, owned by the Machine (as the Machine controller would set it)."""
    labels = {CLUSTER_LABEL: "c1", **({CP_LABEL: ""} if control_plane else {})}
    machine = await client.create({
        "apiVersion": MACHINE.api_version, "kind": "Machine",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"clusterName": "c1", "version": "v1.32.2",
                 "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig",
                                             "name": name}},
                 "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine",
                                       "name": name}}}, kind=MACHINE)
    config: Object = {
        "apiVersion": KUBEADM_CONFIG.api_version, "kind": "KubeadmConfig",
        "metadata": {"name": name, "namespace": NS, "labels": labels, "annotations": annotations or {},
                     "ownerReferences": [{"apiVersion": MACHINE.api_version, "kind": "Machine", "name": name,
                                          "uid": machine["metadata"]["uid"], "controller": True}]}}
    if config_spec is not None:
        config["spec"] = config_spec
    return await client.create(config, kind=KUBEADM_CONFIG)


async def get_or_none(client: Client, kind: Any, name: str, namespace: str = NS) -> Object | None:
    try:
        return await client.get(kind, name, namespace)
    except NotFound:
        return None


def data(secret: Object, key: str) -> bytes:
    return base64.b64decode(secret["data"][key])


def condition(obj: Object, condition_type: str) -> tuple[str, str, str] | None:
    found = get_condition(obj, condition_type)
    return None if found is None else (found["status"], found["reason"], found["message"])


def kubeadm_documents(user_data: bytes, path: str) -> list[Object]:
    doc = yaml.safe_load(user_data)
    (entry,) = [f for f in doc["write_files"] if f["path"] == path]
    return list(yaml.safe_load_all(entry["content"]))


CP_SPEC = {"clusterConfiguration": {"apiServer": {"certSANs": ["api.c1.example"]}},
           "initConfiguration": {"nodeRegistration": {"kubeletExtraArgs": [{"name": "v", "value": "2"}]}},
           "joinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": [{"name": "v", "value": "2"}]}},
           "preKubeadmCommands": ["echo before"], "postKubeadmCommands": ["echo after"]}


@pytest.mark.timeout(240)
async def test_init_then_lock_then_join_with_bootstrap_tokens(planes: Planes) -> None:
    client, workload = planes.management, planes.workload
    tokens_seen: list[Object] = []

    async def workload_clients(cluster: Object) -> Client:
        tokens_seen.append(cluster)
        return workload

    manager = Manager(client, health_port=None)
    manager.add(new_controller(client, manager.cache, workload_clients=workload_clients, token_ttl=TOKEN_TTL))
    async with running(manager):
        cluster = await client.create(cluster_object(planes.workload_port), kind=CLUSTER)
        await create_machine(client, "cp-0", control_plane=True, config_spec=CP_SPEC)

        async def waiting_for(message: str, name: str = "cp-0") -> bool:
            config = await client.get(KUBEADM_CONFIG, name, NS)
            return condition(config, "DataSecretAvailable") == ("False", "NotAvailable", message)

        await eventually(lambda: waiting_for("Waiting for Cluster status.initialization.infrastructureProvisioned "
                                             "to be true"), what="cp-0 waits for the infrastructure")
        assert await get_or_none(client, SECRET, "c1-ca") is None, "no certificates before the infrastructure"

        await client.patch_status(CLUSTER, "c1", {"status": {"initialization": {"infrastructureProvisioned": True}}},
                                  namespace=NS)

        async def data_secret_created(name: str) -> bool:
            config = await client.get(KUBEADM_CONFIG, name, NS)
            return bool(((config.get("status") or {}).get("initialization") or {}).get("dataSecretCreated"))

        await eventually(lambda: data_secret_created("cp-0"), what="cp-0 bootstrap data")

        # the cluster certificates: typed, labelled, owned by the Cluster
        cas = {purpose: await client.get(SECRET, f"c1-{purpose}", NS) for purpose in ("ca", "etcd", "proxy", "sa")}
        for secret in cas.values():
            assert secret["type"] == "cluster.x-k8s.io/secret"
            assert secret["metadata"]["labels"][CLUSTER_LABEL] == "c1"
            assert secret["metadata"]["ownerReferences"][0]["uid"] == cluster["metadata"]["uid"]
            assert set(secret["data"]) == {"tls.crt", "tls.key"}
        ca_cert = x509.load_pem_x509_certificate(data(cas["ca"], "tls.crt"))
        assert data(cas["sa"], "tls.crt").startswith(b"-----BEGIN PUBLIC KEY-----")

        # the admin kubeconfig
        kubeconfig_secret = await client.get(SECRET, "c1-kubeconfig", NS)
        assert kubeconfig_secret["type"] == "cluster.x-k8s.io/secret"
        kubeconfig = yaml.safe_load(data(kubeconfig_secret, "value"))
        assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{planes.workload_port}"
        assert base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]) == data(
            cas["ca"], "tls.crt")

        # the bootstrap data: kubeadm init with the cluster's certificates
        config = await client.get(KUBEADM_CONFIG, "cp-0", NS)
        assert config["status"]["dataSecretName"] == "cp-0"
        assert config["status"]["observedGeneration"] == config["metadata"]["generation"]
        assert condition(config, "Ready") == ("True", "Ready", "")
        assert condition(config, "CertificatesAvailable") == ("True", "Available", "")
        assert condition(config, "Paused") == ("False", "NotPaused", "")
        secret = await client.get(SECRET, "cp-0", NS)
        assert secret["type"] == "cluster.x-k8s.io/secret" and data(secret, "format") == b"cloud-config"
        assert secret["metadata"]["labels"][CLUSTER_LABEL] == "c1"
        (owner,) = secret["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["uid"], owner["controller"]) == ("KubeadmConfig", config["metadata"]["uid"], True)
        user_data = yaml.safe_load(data(secret, "value"))
        assert user_data["runcmd"][0] == "echo before" and user_data["runcmd"][-1] == "echo after"
        assert user_data["runcmd"][1].startswith("kubeadm init --config /run/kubeadm/kubeadm.yaml")
        files = {f["path"]: f for f in user_data["write_files"]}
        assert files["/etc/kubernetes/pki/ca.crt"]["content"].encode() == data(cas["ca"], "tls.crt")
        assert files["/etc/kubernetes/pki/ca.key"]["permissions"] == "0600"
        cluster_configuration, _ = kubeadm_documents(data(secret, "value"), "/run/kubeadm/kubeadm.yaml")
        assert cluster_configuration["controlPlaneEndpoint"] == f"127.0.0.1:{planes.workload_port}"
        assert cluster_configuration["kubernetesVersion"] == "v1.32.2"
        assert cluster_configuration["networking"]["podSubnet"] == "192.168.0.0/16"

        # the init lock names cp-0
        lock = await client.get(CONFIGMAP, "c1-lock", NS)
        assert "cp-0" in lock["data"]["lock-information"]

        # a second control plane machine and a worker wait for the control plane
        await create_machine(client, "cp-1", control_plane=True, config_spec=CP_SPEC)
        await create_machine(client, "md-0", control_plane=False, config_spec={
            "joinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": [{"name": "v", "value": "2"}]}}})
        waiting = "Waiting for Cluster control plane to be initialized"
        await eventually(lambda: waiting_for(waiting, "cp-1"), what="cp-1 waits on the init lock")
        await eventually(lambda: waiting_for(waiting, "md-0"), what="md-0 waits for the control plane")
        assert await get_or_none(client, SECRET, "cp-1") is None and await get_or_none(client, SECRET, "md-0") is None
        assert tokens_seen == [], "no token before the control plane exists"

        # the control plane is initialized: the lock goes, both join
        await client.patch_status(CLUSTER, "c1", {"status": {"initialization": {"controlPlaneInitialized": True}}},
                                  namespace=NS)
        await eventually(lambda: data_secret_created("cp-1"), what="cp-1 bootstrap data")
        await eventually(lambda: data_secret_created("md-0"), what="md-0 bootstrap data")
        assert await get_or_none(client, CONFIGMAP, "c1-lock") is None, "the init lock is released"

        spki = ca_cert.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        expected_hash = "sha256:" + hashlib.sha256(spki).hexdigest()
        tokens: dict[str, str] = {}
        for name, control_plane in (("cp-1", True), ("md-0", False)):
            config = await client.get(KUBEADM_CONFIG, name, NS)
            discovery = config["spec"]["joinConfiguration"]["discovery"]["bootstrapToken"]
            assert discovery["caCertHashes"] == [expected_hash]
            assert discovery["apiServerEndpoint"] == f"127.0.0.1:{planes.workload_port}"
            tokens[name] = discovery["token"]
            user_data_bytes = data(await client.get(SECRET, name, NS), "value")
            (join,) = kubeadm_documents(user_data_bytes, "/run/kubeadm/kubeadm-join-config.yaml")
            assert join["kind"] == "JoinConfiguration"
            assert join["discovery"]["bootstrapToken"] == discovery
            paths = {f["path"] for f in yaml.safe_load(user_data_bytes)["write_files"]}
            if control_plane:
                assert join["controlPlane"] == {} and "/etc/kubernetes/pki/sa.key" in paths
            else:
                assert "controlPlane" not in join and not any(p.startswith("/etc/kubernetes/pki") for p in paths)
                assert {"key": "node.cluster.x-k8s.io/uninitialized", "effect": "NoSchedule"} in join[
                    "nodeRegistration"]["taints"]
            assert condition(config, "Ready") == ("True", "Ready", "")

        # the tokens live in the workload cluster's kube-system
        token_secret = await workload.get(SECRET, f"bootstrap-token-{tokens['md-0'][:6]}", "kube-system")
        assert token_secret["type"] == "bootstrap.kubernetes.io/token"
        assert data(token_secret, "token-secret").decode() == tokens["md-0"].split(".")[1]
        assert data(token_secret, "auth-extra-groups") == b"system:bootstrappers:kubeadm:default-node-token"
        await workload.get(SECRET, f"bootstrap-token-{tokens['cp-1'][:6]}", "kube-system")

        # until the machine has a Node, its token keeps being extended
        first_expiration = data(token_secret, "expiration")

        async def extended() -> bool:
            latest = await workload.get(SECRET, f"bootstrap-token-{tokens['md-0'][:6]}", "kube-system")
            return data(latest, "expiration") > first_expiration

        await eventually(extended, timeout=30, what="the pending token is extended")


@pytest.mark.timeout(180)
async def test_a_paused_config_is_left_alone(planes: Planes) -> None:
    client = planes.management

    async def no_workload(cluster: Object) -> Client:
        raise AssertionError("a paused config needs no workload cluster")

    manager = Manager(client, health_port=None)
    manager.add(new_controller(client, manager.cache, workload_clients=no_workload))
    async with running(manager):
        await client.create(cluster_object(planes.workload_port), kind=CLUSTER)
        await client.patch_status(CLUSTER, "c1", {"status": {"initialization": {"infrastructureProvisioned": True}}},
                                  namespace=NS)
        await create_machine(client, "cp-0", control_plane=True, config_spec=CP_SPEC,
                             annotations={"cluster.x-k8s.io/paused": ""})

        async def paused() -> bool:
            config = await client.get(KUBEADM_CONFIG, "cp-0", NS)
            return condition(config, "Paused") == ("True", "Paused",
                                                   "KubeadmConfig has the cluster.x-k8s.io/paused annotation")

        await eventually(paused, what="Paused condition")
        assert await get_or_none(client, SECRET, "c1-ca") is None
        assert await get_or_none(client, SECRET, "cp-0") is None

        # unpausing lets it proceed
        await client.patch(KUBEADM_CONFIG, "cp-0", {"metadata": {"annotations": {"cluster.x-k8s.io/paused": None}}},
                           namespace=NS)

        async def created() -> bool:
            return await get_or_none(client, SECRET, "cp-0") is not None

        await eventually(created, what="bootstrap data after unpausing")


@pytest.mark.timeout(180)
async def test_tokens_reach_the_workload_cluster_through_the_kubeconfig_secret(planes: Planes) -> None:
    """Without an injected `workload_clients`, the controller builds its client from `<cluster>-kubeconfig`."""
    client = planes.management
    manager = Manager(client, health_port=None)
    manager.add(new_controller(client, manager.cache))
    cluster = await client.create(cluster_object(planes.workload_port), kind=CLUSTER)
    await client.patch_status(CLUSTER, "c1", {"status": {"initialization": {
        "infrastructureProvisioned": True, "controlPlaneInitialized": True}}}, namespace=NS)
    # an initialized cluster: its CA exists, and its kubeconfig reaches the (stand-in) workload API server
    ca = certs.new_ca(algorithm="ECDSA-P256")
    await client.create(certs.cluster_secret(cluster, "c1-ca", {"tls.crt": ca.cert, "tls.key": ca.key}), kind=SECRET)
    await client.create(certs.cluster_secret(cluster, "c1-kubeconfig",
                                             {"value": planes.workload_kubeconfig.read_bytes()}), kind=SECRET)
    async with running(manager):
        await create_machine(client, "md-0", control_plane=False, config_spec=None)

        async def joined() -> bool:
            config = await client.get(KUBEADM_CONFIG, "md-0", NS)
            return bool(((config.get("status") or {}).get("initialization") or {}).get("dataSecretCreated"))

        await eventually(joined, what="md-0 bootstrap data")
    config = await client.get(KUBEADM_CONFIG, "md-0", NS)
    token = config["spec"]["joinConfiguration"]["discovery"]["bootstrapToken"]["token"]
    secret = await planes.workload.get(SECRET, f"bootstrap-token-{token[:6]}", "kube-system")
    assert data(secret, "token-id").decode() == token[:6]


@pytest.mark.timeout(180)
async def test_a_lost_join_token_is_replaced_until_the_node_joins(planes: Planes) -> None:
    """The workload cluster loses a pending join token: a new token, and bootstrap data that carries it. Once the
    Machine has a Node, a lost token is not replaced (and the workload cluster is no longer asked)."""
    client, workload = planes.management, planes.workload
    workload_calls: list[float] = []

    async def workload_clients(cluster: Object) -> Client:
        workload_calls.append(time.monotonic())
        return workload

    cluster = await client.create(cluster_object(planes.workload_port), kind=CLUSTER)
    await client.patch_status(CLUSTER, "c1", {"status": {"initialization": {
        "infrastructureProvisioned": True, "controlPlaneInitialized": True}}}, namespace=NS)
    ca = certs.new_ca(algorithm="ECDSA-P256")
    await client.create(certs.cluster_secret(cluster, "c1-ca", {"tls.crt": ca.cert, "tls.key": ca.key}), kind=SECRET)

    async def config_token() -> str | None:
        config = await client.get(KUBEADM_CONFIG, "md-0", NS)
        if not ((config.get("status") or {}).get("initialization") or {}).get("dataSecretCreated"):
            return None
        token: str | None = config["spec"]["joinConfiguration"]["discovery"]["bootstrapToken"].get("token")
        return token

    async def token_secret(token: str) -> Object | None:
        return await get_or_none(workload, SECRET, f"bootstrap-token-{token[:6]}", "kube-system")

    async def bootstrap_tokens() -> set[str]:
        secrets = (await workload.list(SECRET, namespace="kube-system")).items
        return {s["metadata"]["name"] for s in secrets if s.get("type") == "bootstrap.kubernetes.io/token"}

    manager = Manager(client, health_port=None)
    manager.add(new_controller(client, manager.cache, workload_clients=workload_clients, token_ttl=TOKEN_TTL))
    async with running(manager):
        await create_machine(client, "md-0", control_plane=False, config_spec=None)

        async def joined() -> bool:
            return await config_token() is not None

        await eventually(joined, what="md-0 bootstrap data")
        first = await config_token()
        assert first is not None
        assert await token_secret(first) is not None, "the first token exists in the workload cluster"
        assert first.encode() in data(await client.get(SECRET, "md-0", NS), "value")

        # the workload cluster loses the token before the machine's Node exists: a new token, new bootstrap data
        await workload.delete(SECRET, f"bootstrap-token-{first[:6]}", namespace="kube-system")

        async def replaced() -> bool:
            return await config_token() not in (None, first)

        await eventually(replaced, timeout=30, what="a new token in the config")
        second = await config_token()
        assert second is not None and second[:6] != first[:6]
        second_secret = await token_secret(second)
        assert second_secret is not None, "the new token exists in the workload cluster"
        assert data(second_secret, "token-secret").decode() == second.split(".")[1]
        expires = datetime.datetime.fromisoformat(data(second_secret, "expiration").decode().replace("Z", "+00:00"))
        assert expires > datetime.datetime.now(datetime.UTC), "the new token is not expired"
        assert await token_secret(first) is None, "the lost token is not recreated"
        data_secret = await client.get(SECRET, "md-0", NS)
        user_data = data(data_secret, "value")
        assert second.encode() in user_data and first.encode() not in user_data
        (join,) = kubeadm_documents(user_data, "/run/kubeadm/kubeadm-join-config.yaml")
        assert join["discovery"]["bootstrapToken"]["token"] == second
        assert condition(await client.get(KUBEADM_CONFIG, "md-0", NS), "Ready") == ("True", "Ready", "")

        # the Node has joined: its token is no longer kept alive, nor replaced when lost
        await client.patch_status(MACHINE, "md-0", {"status": {"nodeRef": {"name": "md-0-node"}}}, namespace=NS)

        async def node_ref_seen() -> bool:
            machine = manager.cache.get(MACHINE, NS, "md-0") or {}
            return bool((machine.get("status") or {}).get("nodeRef"))

        await eventually(node_ref_seen, what="the controller's cache sees the nodeRef")
        await asyncio.sleep(1.0)  # any reconcile that read the Machine before its nodeRef has finished
        calls, tokens_before = len(workload_calls), await bootstrap_tokens()
        await workload.delete(SECRET, f"bootstrap-token-{second[:6]}", namespace="kube-system")
        # without the nodeRef, the controller would replace the token within one refresh interval (TOKEN_TTL / 3)
        await asyncio.sleep(2 * TOKEN_TTL / 3 + 1.0)
        assert await config_token() == second, "no new token once the machine has a Node"
        assert await client.get(SECRET, "md-0", NS) == data_secret, "the bootstrap data is not written again"
        assert await bootstrap_tokens() == tokens_before - {f"bootstrap-token-{second[:6]}"}
        assert len(workload_calls) == calls, "the workload cluster is not asked about the token any more"
