"""The core Cluster API kinds the controllers read and write, and the cache indexes they share."""

from __future__ import annotations

from herd.api.cluster import API_VERSION
from herd.runtime import Cache, Kind, Object, ObjectKey, PredicateFuncs, index_by_field

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


def by_cluster(cache: Cache, kind: Kind, cluster: ObjectKey, *, copy: bool = True) -> list[Object]:
    """Objects of a kind that belong to the Cluster (index values are names; namespaces are checked here);
    `copy=False` returns the cache's own objects, for callers that only read them."""
    return [obj for obj in cache.by_index(kind, CLUSTER_NAME_INDEX, cluster.name, copy=copy)
            if (obj.get("metadata") or {}).get("namespace") == cluster.namespace]


def cluster_of(obj: Object) -> list[ObjectKey]:
    """The key of the Cluster an object names in `spec.clusterName` (for watches)."""
    name = (obj.get("spec") or {}).get("clusterName")
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    return [ObjectKey(namespace, str(name))] if name else []


def _cluster_watch_state(cluster: Object) -> tuple[object, ...]:
    """What Machines read of their Cluster: everything but the status, save initialization and the
    ControlPlaneInitialized condition (the rest of the status changes with every Machine's)."""
    meta = {k: v for k, v in (cluster.get("metadata") or {}).items() if k not in ("resourceVersion", "managedFields")}
    status = cluster.get("status") or {}
    initialized = [(c.get("status"), c.get("lastTransitionTime")) for c in status.get("conditions") or []
                   if c.get("type") == "ControlPlaneInitialized"]
    return meta, cluster.get("spec"), status.get("initialization"), initialized


CLUSTER_STATE_CHANGED = PredicateFuncs(
    on_update=lambda old, new: _cluster_watch_state(old) != _cluster_watch_state(new))
"""Let Cluster updates through unless only status fields a Machine does not read changed: a watch that
enqueues every Machine of the Cluster would otherwise reconcile the whole fleet on each Machine's change."""
