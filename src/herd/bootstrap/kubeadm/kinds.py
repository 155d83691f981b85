"""Small readers of the wire fields the kubeadm bootstrap controller looks at (the kinds come from herd.api)."""

from __future__ import annotations

from herd.api.bootstrap import GROUP as BOOTSTRAP_GROUP
from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.cluster import MACHINE
from herd.api.objects import nested
from herd.contract.objects import owner_named
from herd.runtime import Object
from herd.runtime.conditions import is_true

CONTROL_PLANE_INITIALIZED_CONDITION = "ControlPlaneInitialized"


def owner_machine_name(config: Object) -> str | None:
    """The name of the Machine among the config's ownerReferences (any version of cluster.x-k8s.io)."""
    return owner_named(config, CLUSTER_GROUP, MACHINE.kind)


def config_ref_name(machine: Object) -> str | None:
    """The KubeadmConfig a Machine's spec.bootstrap.configRef names, if it names one."""
    ref = nested(machine, "spec", "bootstrap", "configRef") or {}
    if ref.get("kind") == KUBEADM_CONFIG.kind and ref.get("apiGroup") == BOOTSTRAP_GROUP:
        return str(ref.get("name") or "") or None
    return None


def has_node_ref(machine: Object) -> bool:
    return bool(nested(machine, "status", "nodeRef", "name"))


def infrastructure_provisioned(cluster: Object) -> bool:
    return bool(nested(cluster, "status", "initialization", "infrastructureProvisioned"))


def control_plane_initialized(cluster: Object) -> bool:
    """status.initialization.controlPlaneInitialized, or the ControlPlaneInitialized condition upstream reads."""
    return bool(nested(cluster, "status", "initialization", "controlPlaneInitialized")) \
        or is_true(cluster, CONTROL_PLANE_INITIALIZED_CONDITION)


def control_plane_endpoint(cluster: Object) -> tuple[str, int] | None:
    """(host, port) of spec.controlPlaneEndpoint once both are set."""
    endpoint = nested(cluster, "spec", "controlPlaneEndpoint") or {}
    host, port = endpoint.get("host"), endpoint.get("port")
    return (str(host), int(port)) if host and port else None
