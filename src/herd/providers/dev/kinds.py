"""The kinds the Dev provider reads and writes, its own annotations and names, and small helpers to read objects."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from herd.api.cluster import API_VERSION as CLUSTER_API_VERSION
from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_CONTROL_PLANE_LABEL, PAUSED_ANNOTATION
from herd.api.infrastructure import API_VERSION as INFRA_API_VERSION
from herd.runtime import Kind, Object

DEV_CLUSTER = Kind(INFRA_API_VERSION, "DevCluster", "devclusters")
DEV_MACHINE = Kind(INFRA_API_VERSION, "DevMachine", "devmachines")
CLUSTER = Kind(CLUSTER_API_VERSION, "Cluster", "clusters")
MACHINE = Kind(CLUSTER_API_VERSION, "Machine", "machines")

# Fault injection: set on a DevMachine, in effect while present.
FAIL_ANNOTATION: Final = "herd.dev/fail"
Fault = Literal["node-not-ready", "vm-gone", "apiserver-down"]
FAULTS: tuple[Fault, ...] = get_args(Fault)
# When each simulated component of a DevMachine is (or was) up, as JSON {"vm": time, …}: decided once, with its
# jitter, so a restarted controller continues the same timeline instead of starting over.
READY_AT_ANNOTATION: Final = "herd.dev/ready-at"

PROVIDER_ID_PREFIX: Final = "in-memory://"
KUBECONFIG_SECRET_SUFFIX: Final = "-kubeconfig"
BOOTSTRAP_DATA_KEY: Final = "value"  # the data secret's key holding the user data, as the contract says
MACHINE_ADDRESS: Final = "127.0.0.1"  # every simulated machine lives on this host


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


def is_deleting(obj: Object) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def fault_of(obj: Object) -> Fault | None:
    """The fault injected on a DevMachine, if the annotation names a known one."""
    value = annotations_of(obj).get(FAIL_ANNOTATION, "").strip()
    for fault in FAULTS:
        if value == fault:
            return fault
    return None


def is_control_plane(machine: Object) -> bool:
    """Whether a Machine belongs to the control plane (it carries the control-plane label)."""
    return MACHINE_CONTROL_PLANE_LABEL in labels_of(machine)


def is_paused(cluster: Object | None, obj: Object) -> bool:
    """Paused through the Cluster's spec.paused or the paused annotation on the object itself."""
    return bool(((cluster or {}).get("spec") or {}).get("paused")) or PAUSED_ANNOTATION in annotations_of(obj)


def owner_named(obj: Object, group: str, kind: str) -> str | None:
    """The name of the first owner of this group and kind (controller or not), as upstream's owner lookups do."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("kind") == kind and str(ref.get("apiVersion", "")).rpartition("/")[0] == group:
            return str(ref.get("name") or "") or None
    return None


def owner_cluster_name(obj: Object) -> str | None:
    """The Cluster an infrastructure object belongs to: its Cluster owner, else its cluster-name label."""
    return owner_named(obj, CLUSTER_GROUP, "Cluster") or labels_of(obj).get(CLUSTER_NAME_LABEL) or None


def has_finalizer(obj: Object, finalizer: str) -> bool:
    return finalizer in (meta(obj).get("finalizers") or [])


def add_finalizer(obj: Object, finalizer: str) -> bool:
    """Add the finalizer; returns whether it was missing."""
    finalizers = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if finalizer in finalizers:
        return False
    finalizers.append(finalizer)
    return True


def remove_finalizer(obj: Object, finalizer: str) -> None:
    finalizers = meta(obj).get("finalizers") or []
    if finalizer in finalizers:
        obj["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]


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
