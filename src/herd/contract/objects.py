"""Reads of Cluster API objects (plain dicts) that controllers of every layer share."""

from __future__ import annotations

from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_CONTROL_PLANE_LABEL
from herd.api.objects import nested
from herd.runtime import Object


def is_control_plane_machine(machine: Object) -> bool:
    """Whether a Machine belongs to the control plane (it carries the control-plane label)."""
    return MACHINE_CONTROL_PLANE_LABEL in (nested(machine, "metadata", "labels") or {})


def owner_named(obj: Object, group: str, kind: str) -> str | None:
    """The name of the first owner of this API group (any version) and kind, controller or not, as upstream's
    owner lookups do."""
    for ref in nested(obj, "metadata", "ownerReferences") or ():
        if ref.get("kind") == kind and str(ref.get("apiVersion", "")).rpartition("/")[0] == group:
            return str(ref.get("name") or "") or None
    return None


def owner_cluster_name(obj: Object) -> str | None:
    """The Cluster a provider object belongs to: its Cluster owner, else its cluster-name label."""
    return owner_named(obj, CLUSTER_GROUP, "Cluster") \
        or (nested(obj, "metadata", "labels") or {}).get(CLUSTER_NAME_LABEL) or None
