"""The kinds the kubeadm bootstrap controller reads and writes, and small readers of their wire fields."""

from __future__ import annotations

from typing import Any

from herd.api.bootstrap import API_VERSION as BOOTSTRAP_API_VERSION
from herd.api.bootstrap import GROUP as BOOTSTRAP_GROUP
from herd.api.cluster import API_VERSION as CLUSTER_API_VERSION
from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL
from herd.runtime import Kind, Object
from herd.runtime.conditions import is_true

KUBEADM_CONFIG = Kind(BOOTSTRAP_API_VERSION, "KubeadmConfig", "kubeadmconfigs")
MACHINE = Kind(CLUSTER_API_VERSION, "Machine", "machines")
CLUSTER = Kind(CLUSTER_API_VERSION, "Cluster", "clusters")
CONTROL_PLANE_INITIALIZED_CONDITION = "ControlPlaneInitialized"


def _get(obj: Object | None, *path: str) -> Any:
    value: Any = obj
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def owner_machine_name(config: Object) -> str | None:
    """The name of the Machine among the config's ownerReferences (any version of cluster.x-k8s.io)."""
    for ref in _get(config, "metadata", "ownerReferences") or ():
        if ref.get("kind") == MACHINE.kind and str(ref.get("apiVersion", "")).startswith(f"{CLUSTER_GROUP}/"):
            return str(ref.get("name") or "") or None
    return None


def config_ref_name(machine: Object) -> str | None:
    """The KubeadmConfig a Machine's spec.bootstrap.configRef names, if it names one."""
    ref = _get(machine, "spec", "bootstrap", "configRef") or {}
    if ref.get("kind") == KUBEADM_CONFIG.kind and ref.get("apiGroup") == BOOTSTRAP_GROUP:
        return str(ref.get("name") or "") or None
    return None


def is_control_plane(machine: Object) -> bool:
    return MACHINE_CONTROL_PLANE_LABEL in (_get(machine, "metadata", "labels") or {})


def has_node_ref(machine: Object) -> bool:
    return bool(_get(machine, "status", "nodeRef", "name"))


def infrastructure_provisioned(cluster: Object) -> bool:
    return bool(_get(cluster, "status", "initialization", "infrastructureProvisioned"))


def control_plane_initialized(cluster: Object) -> bool:
    """status.initialization.controlPlaneInitialized, or the ControlPlaneInitialized condition upstream reads."""
    return bool(_get(cluster, "status", "initialization", "controlPlaneInitialized")) \
        or is_true(cluster, CONTROL_PLANE_INITIALIZED_CONDITION)


def control_plane_endpoint(cluster: Object) -> tuple[str, int] | None:
    """(host, port) of spec.controlPlaneEndpoint once both are set."""
    endpoint = _get(cluster, "spec", "controlPlaneEndpoint") or {}
    host, port = endpoint.get("host"), endpoint.get("port")
    return (str(host), int(port)) if host and port else None
