"""The Dev provider's own annotations and names, and small helpers to read objects (its kinds come from herd.api)."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from herd.runtime import Kind, Object

# Fault injection: set on a DevMachine, in effect while present.
FAIL_ANNOTATION: Final = "herd.dev/fail"
# apiserver-down stops the cluster's API server; etcd-member-down stops the machine's etcd member (its pod turns
# not Ready) and apiserver-pod-down marks only the machine's kube-apiserver pod not Ready.
Fault = Literal["node-not-ready", "vm-gone", "apiserver-down", "etcd-member-down", "apiserver-pod-down"]
FAULTS: tuple[Fault, ...] = get_args(Fault)
# When each simulated component of a DevMachine is (or was) up, as JSON {"vm": time, …}: decided once, with its
# jitter, so a restarted controller continues the same timeline instead of starting over.
READY_AT_ANNOTATION: Final = "herd.dev/ready-at"

PROVIDER_ID_PREFIX: Final = "in-memory://"
KUBECONFIG_SECRET_SUFFIX: Final = "-kubeconfig"
BOOTSTRAP_DATA_KEY: Final = "value"  # the data secret's key holding the user data, as the contract says
MACHINE_ADDRESS: Final = "127.0.0.1"  # every simulated machine lives on this host


# Workload cluster kinds the simulated kubeadm and kubelets write besides Nodes, Leases and ConfigMaps.
POD: Final = Kind("v1", "Pod", "pods")
DEPLOYMENT: Final = Kind("apps/v1", "Deployment", "deployments")
DAEMONSET: Final = Kind("apps/v1", "DaemonSet", "daemonsets")


def provider_id(namespace: str, machine_name: str) -> str:
    """The providerID of a simulated machine and of its Node."""
    return f"{PROVIDER_ID_PREFIX}{namespace}/{machine_name}"


def cluster_key(namespace: str, cluster_name: str) -> str:
    """How workload API servers, kubelets and clients are keyed: `<namespace>/<cluster>`."""
    return f"{namespace}/{cluster_name}"


def meta(obj: Object) -> dict[str, Any]:
    """The object's metadata (empty when missing)."""
    found: dict[str, Any] = obj.get("metadata") or {}
    return found


def name_of(obj: Object) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Object) -> str:
    return str(meta(obj).get("namespace") or "")


def annotations_of(obj: Object) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def labels_of(obj: Object) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


def fault_of(obj: Object) -> Fault | None:
    """The fault injected on a DevMachine, if the annotation names a known one."""
    value = annotations_of(obj).get(FAIL_ANNOTATION, "").strip()
    for fault in FAULTS:
        if value == fault:
            return fault
    return None


def reference(obj: Object, field_name: str) -> tuple[str, str, str] | None:
    """(apiGroup, kind, name) of a contract reference in spec (e.g. `infrastructureRef`), or None."""
    ref = (obj.get("spec") or {}).get(field_name)
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    return str(ref.get("apiGroup") or ""), str(ref.get("kind") or ""), str(ref["name"])


def refers_to(obj: Object, field_name: str, kind: Kind) -> str | None:
    """The name `spec.<field_name>` refers to, when it references an object of `kind`."""
    ref = reference(obj, field_name)
    if ref is None or ref[1] != kind.kind or (ref[0] and ref[0] != kind.group):
        return None
    return ref[2]
