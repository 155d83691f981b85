"""The cache indexes several controllers share (by cluster, by controller owner, by providerID), and the reads
and watch predicates built on them. The kinds themselves come from `herd.api.cluster`."""

from __future__ import annotations

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import CLUSTER_NAMESPACE_ANNOTATION, MACHINE_ANNOTATION
from herd.runtime import Cache, Kind, Object, ObjectKey, PredicateFuncs, index_by_field, lasting_metadata
from herd.runtime.objects import controller_owner, deep_copy
from herd.runtime.store import IndexFunc

CLUSTER_NAME_INDEX = "spec.clusterName"
"""Index of Machines, MachineSets and MachineDeployments by the Cluster they belong to."""


def _index_once(cache: Cache, kind: Kind, name: str, func: IndexFunc) -> None:
    """Add the named index on a kind unless it is there already (several controllers ask for the same)."""
    informer = cache.informer(kind)
    if not informer.store.has_index(name):
        informer.add_index(name, func)


def add_cluster_name_index(cache: Cache, kind: Kind) -> None:
    """Index a kind by `spec.clusterName` (once, however many controllers ask)."""
    _index_once(cache, kind, CLUSTER_NAME_INDEX, index_by_field("spec.clusterName"))


def by_cluster(cache: Cache, kind: Kind, cluster: ObjectKey, *, copy: bool = True) -> list[Object]:
    """Objects of a kind that belong to the Cluster (index values are names; namespaces are checked here);
    `copy=False` returns the cache's own objects, for callers that only read them."""
    return [obj for obj in cache.by_index(kind, CLUSTER_NAME_INDEX, cluster.name, copy=copy)
            if (obj.get("metadata") or {}).get("namespace") == cluster.namespace]


CONTROLLER_INDEX = "metadata.ownerReferences.controller"
"""Index of Machines and MachineSets by the uid of their controller owner ("" for orphans)."""


def _controller_uid(obj: Object) -> list[str]:
    return [str((controller_owner(obj) or {}).get("uid") or "")]


def add_controller_index(cache: Cache, kind: Kind) -> None:
    """Index a kind by its controller owner's uid (once, however many controllers ask)."""
    _index_once(cache, kind, CONTROLLER_INDEX, _controller_uid)


def controlled_by(cache: Cache, kind: Kind, owner: Object, *, copy: bool = True) -> list[Object]:
    """The objects of a kind whose controller owner is `owner` (see `add_controller_index`), by key."""
    uid = (owner.get("metadata") or {}).get("uid")
    if not uid:
        return []
    return cache.by_index(kind, CONTROLLER_INDEX, str(uid), copy=copy)


def orphans(cache: Cache, kind: Kind, namespace: str, *, copy: bool = True) -> list[Object]:
    """The objects of a kind in the namespace with no controller owner, by key."""
    found = [obj for obj in cache.by_index(kind, CONTROLLER_INDEX, "", copy=False)
             if (obj.get("metadata") or {}).get("namespace") == namespace]
    return [deep_copy(obj) for obj in found] if copy else found


def latest_in_cache(cache: Cache, kind: Kind, obj: Object) -> Object:
    """The cache's current copy (read only) of an object read earlier from it, if it is still the same object
    (same uid), else `obj`. The cache only moves forward: a write that starts from this copy after a long
    reconcile does not meet a Conflict just because the reconcile's own list has grown stale."""
    meta = obj["metadata"]
    cached = cache.get(kind, meta.get("namespace") or "", meta["name"], copy=False)
    return cached if cached is not None and cached["metadata"].get("uid") == meta.get("uid") else obj


def cluster_of(obj: Object) -> list[ObjectKey]:
    """The key of the Cluster an object names in `spec.clusterName` (for watches)."""
    name = (obj.get("spec") or {}).get("clusterName")
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    return [ObjectKey(namespace, str(name))] if name else []


_WATCHED_CLUSTER_CONDITIONS = ("ControlPlaneInitialized", "InfrastructureReady", "RemoteConnectionProbe")


def _cluster_watch_state(cluster: Object) -> tuple[object, ...]:
    """What the controllers of a Cluster's machines (Machine, MachineSet, MachineDeployment, MachineHealthCheck)
    read of it: everything but the status, save initialization and the ControlPlaneInitialized,
    InfrastructureReady and RemoteConnectionProbe conditions (the rest of the status changes with every
    Machine's). A Machine waits for the first successful probe before it reports on its Node; a health check
    times a Node's start from the first two."""
    meta = lasting_metadata(cluster)
    status = cluster.get("status") or {}
    watched = [(c.get("type"), c.get("status"), c.get("lastTransitionTime")) for c in status.get("conditions") or []
               if c.get("type") in _WATCHED_CLUSTER_CONDITIONS]
    return meta, cluster.get("spec"), status.get("initialization"), watched


CLUSTER_STATE_CHANGED = PredicateFuncs(
    on_update=lambda old, new: _cluster_watch_state(old) != _cluster_watch_state(new))
"""Let Cluster updates through unless only status fields the machines' controllers do not read changed: a watch
that enqueues every Machine (or the deployment and health check summing them up) would otherwise run again on
each Machine's change, through the Cluster's status that counts it."""


PROVIDER_ID_INDEX = "spec.providerID"
"""Index of Machines by `spec.providerID`, to find a Node's Machine."""


def add_provider_id_index(cache: Cache) -> None:
    """Index Machines by `spec.providerID` (once, however many controllers ask)."""
    _index_once(cache, MACHINE, PROVIDER_ID_INDEX, index_by_field("spec.providerID"))


def machines_of_node(cache: Cache, cluster: ObjectKey, node: Object) -> list[Object]:
    """The Machines (the cache's own objects: read only) a workload cluster's Node belongs to: the one its
    `cluster.x-k8s.io/machine` annotation names, else those with its providerID (see `add_provider_id_index`).
    Never a scan of the fleet."""
    if not cache.informer(MACHINE).has_synced:
        return []
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    name = annotations.get(MACHINE_ANNOTATION)
    namespace = annotations.get(CLUSTER_NAMESPACE_ANNOTATION, cluster.namespace)
    if name and namespace == cluster.namespace:
        found = cache.get_by_key(MACHINE, ObjectKey(namespace, name), copy=False)
        if found is not None:
            return [found]
    provider_id = (node.get("spec") or {}).get("providerID")
    if not provider_id:
        return []
    return [m for m in cache.by_index(MACHINE, PROVIDER_ID_INDEX, str(provider_id), copy=False)
            if (m.get("metadata") or {}).get("namespace") == cluster.namespace]



__all__ = ["CLUSTER_NAME_INDEX", "CLUSTER_STATE_CHANGED", "CONTROLLER_INDEX", "PROVIDER_ID_INDEX",
           "add_cluster_name_index", "add_controller_index", "add_provider_id_index", "by_cluster", "cluster_of",
           "controlled_by", "latest_in_cache", "machines_of_node", "orphans"]
