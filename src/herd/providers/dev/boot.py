"""What `kubeadm init` and `kubeadm join` do against the workload cluster's API, simulated.

init: publish `cluster-info` (kube-public) and `kubeadm-config` (kube-system), install the CoreDNS and kube-proxy
addons (`addons`), then register the Node with the cluster's admin credentials. join: discover the cluster CA
(from the data's own ca.crt, or from `cluster-info` checked against the pinned `caCertHashes`) and register the
Node authenticated by the bootstrap token.
"""

from __future__ import annotations

import base64
import contextlib
from datetime import datetime
from typing import Any

import yaml

from herd.runtime import CONFIGMAP, NODE, AlreadyExists, Client, ConnectionPool, Object

from .addons import install_addons
from .cloudinit import SAFE_LOADER, BootPlan, BootstrapDataError
from .kinds import MACHINE_ADDRESS
from .status import node_conditions
from .workload import ca_cert_hash, token_client

CONTROL_PLANE_ROLE_LABEL = "node-role.kubernetes.io/control-plane"
EXCLUDE_FROM_LOAD_BALANCERS_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
CLUSTER_INFO = ("kube-public", "cluster-info")
KUBEADM_CONFIG = ("kube-system", "kubeadm-config")
# A simulated machine's size: enough for schedulers and autoscalers to have something to read.
_CAPACITY = {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"}


def node_object(name: str, provider_id: str, *, control_plane: bool, plan: BootPlan | None, version: str | None,
                now: datetime) -> Object:
    """The Node a simulated kubelet registers: labels and taints from the kubeadm nodeRegistration, Ready."""
    node_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if plan is not None:
        node_labels.update(plan.node_labels)
    if control_plane:
        node_labels[CONTROL_PLANE_ROLE_LABEL] = ""
        node_labels[EXCLUDE_FROM_LOAD_BALANCERS_LABEL] = ""
    taints = plan.taints if plan is not None else None
    if taints is None:  # kubeadm's default: control plane Nodes repel ordinary workloads
        taints = [{"key": CONTROL_PLANE_ROLE_LABEL, "effect": "NoSchedule"}] if control_plane else []
    spec: dict[str, Any] = {"providerID": provider_id}
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": node_labels}, "spec": spec,
        "status": {
            "conditions": node_conditions([], "True", now),
            "addresses": [{"type": "InternalIP", "address": MACHINE_ADDRESS}, {"type": "Hostname", "address": name}],
            "capacity": dict(_CAPACITY), "allocatable": dict(_CAPACITY),
            "nodeInfo": {"kubeletVersion": version or "", "kubeProxyVersion": version or "",
                         "operatingSystem": "linux", "architecture": "amd64", "osImage": "herd in-memory VM",
                         "containerRuntimeVersion": "herd://simulated", "kernelVersion": "", "machineID": "",
                         "systemUUID": "", "bootID": ""},
        },
    }


async def create_node(client: Client, node: Object) -> Object | None:
    """Register the Node and return it; one registered before (e.g. by a restarted kubelet) is fine (None)."""
    try:
        return await client.create(node, kind=NODE)
    except AlreadyExists:
        return None


async def publish_init_objects(client: Client, server: str, plan: BootPlan, version: str | None) -> None:
    """What `kubeadm init` uploads for joining nodes and for the control plane provider, and the addons it
    installs; `version` is the machine's Kubernetes version."""
    assert plan.ca_cert is not None
    cluster_info = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "", "cluster": {
        "server": server, "certificate-authority-data": base64.b64encode(plan.ca_cert).decode("ascii")}}],
        "contexts": [], "users": [], "preferences": {}}
    await _create_config_map(client, *CLUSTER_INFO, {"kubeconfig": yaml.safe_dump(cluster_info, sort_keys=False)})
    if plan.cluster_configuration is not None:
        await _create_config_map(client, *KUBEADM_CONFIG, {
            "ClusterConfiguration": yaml.safe_dump(plan.cluster_configuration, sort_keys=False)})
    version = version or str((plan.cluster_configuration or {}).get("kubernetesVersion") or "")
    await install_addons(client, plan.cluster_configuration, version, server)


async def _create_config_map(client: Client, namespace: str, name: str, data: dict[str, str]) -> None:
    with contextlib.suppress(AlreadyExists):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": name, "namespace": namespace}, "data": data}, kind=CONFIGMAP)


async def join_node(server: str, plan: BootPlan, node: Object, *, pool: ConnectionPool | None = None,
                    ) -> Object | None:
    """Register the Node as `kubeadm join` would: trust the cluster CA, authenticate with the bootstrap token.
    `pool` shares connections among joining nodes (see `token_client`)."""
    assert plan.token is not None
    ca_cert = plan.ca_cert or plan.discovery_ca or await discover_ca(server, plan, pool=pool)
    client = token_client(server, plan.token, ca_cert=ca_cert, pool=pool)
    try:
        return await create_node(client, node)
    finally:
        await client.close()


async def discover_ca(server: str, plan: BootPlan, *, pool: ConnectionPool | None = None) -> bytes:
    """The cluster CA from `cluster-info`, accepted only if it matches a pinned hash (or pinning is waived)."""
    if not plan.ca_cert_hashes and not plan.unsafe_skip_ca_verification:
        raise BootstrapDataError("token discovery without discovery.bootstrapToken.caCertHashes is refused unless "
                                 "unsafeSkipCAVerification is set, as kubeadm does")
    assert plan.token is not None
    client = token_client(server, plan.token, ca_cert=None, pool=pool)  # unverified until the pin is checked below
    try:
        config_map = await client.get(CONFIGMAP, CLUSTER_INFO[1], CLUSTER_INFO[0])
    finally:
        await client.close()
    try:
        kubeconfig = yaml.load((config_map.get("data") or {}).get("kubeconfig") or "", Loader=SAFE_LOADER)
        ca_cert = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
        found = ca_cert_hash(ca_cert)
    except (KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
        raise BootstrapDataError("the cluster-info ConfigMap holds no usable CA certificate") from None
    pins = {pin.lower() for pin in plan.ca_cert_hashes}
    if pins and not plan.unsafe_skip_ca_verification and found not in pins:
        raise BootstrapDataError(f"the cluster CA ({found}) matches none of discovery.bootstrapToken.caCertHashes")
    return ca_cert
