"""The core Cluster API kinds the controllers read and write, and the cache indexes they share."""

from __future__ import annotations

from herd.api.cluster import API_VERSION
from herd.runtime import Cache, Kind, Object, ObjectKey, index_by_field

CLUSTER = Kind(API_VERSION, "Cluster", "clusters")
MACHINE = Kind(API_VERSION, "Machine", "machines")
MACHINE_SET = Kind(API_VERSION, "MachineSet", "machinesets")
MACHINE_DEPLOYMENT = Kind(API_VERSION, "MachineDeployment", "machinedeployments")

CLUSTER_NAME_INDEX = "spec.clusterName"
"""Index of Machines, MachineSets and MachineDeployments by the Cluster they belong to."""


def add_cluster_name_index(cache: Cache, kind: Kind) -> None:
    """Index a kind by `spec.clusterName` (once, however many controllers ask)."""
    informer = cache.informer(kind)
    if not informer.store.has_index(CLUSTER_NAME_INDEX):
        informer.add_index(CLUSTER_NAME_INDEX, index_by_field("spec.clusterName"))


def by_cluster(cache: Cache, kind: Kind, cluster: ObjectKey) -> list[Object]:
    """Objects of a kind that belong to the Cluster (index values are names; namespaces are checked here)."""
    return [obj for obj in cache.by_index(kind, CLUSTER_NAME_INDEX, cluster.name)
            if (obj.get("metadata") or {}).get("namespace") == cluster.namespace]


def cluster_of(obj: Object) -> list[ObjectKey]:
    """The key of the Cluster an object names in `spec.clusterName` (for watches)."""
    name = (obj.get("spec") or {}).get("clusterName")
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    return [ObjectKey(namespace, str(name))] if name else []
