"""The topology controller (upstream's core/reconcilers/topology/cluster): a Cluster with `spec.topology` gets
its infrastructure cluster, control plane, MachineDeployments, cloned templates and MachineHealthChecks built
from its ClusterClass, and kept in shape.

    manager.add(topology.new_controller(client, manager.cache))   # behind the ClusterTopology feature gate
"""

from __future__ import annotations

from herd.api.cluster import CLUSTER, CLUSTER_CLASS, MACHINE, MACHINE_DEPLOYMENT, MACHINE_HEALTH_CHECK, MACHINE_SET
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, CLUSTER_TOPOLOGY_OWNED_LABEL
from herd.api.objects import nested
from herd.contract.indexes import add_cluster_name_index
from herd.contract.references import ExternalTracker
from herd.runtime import Cache, Client, Controller, Object, ObjectKey

from .controller import TopologyReconciler
from .scope import Services

CONTROLLER_NAME = "topology/cluster"
CHILD_DELAY = 0.5  # seconds from a MachineDeployment or health check event to the Cluster's reconcile


def _managed_cluster(obj: Object) -> list[ObjectKey]:
    """The Cluster of an object the topology manages (by its labels)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if CLUSTER_TOPOLOGY_OWNED_LABEL not in labels or not labels.get(CLUSTER_NAME_LABEL):
        return []
    return [ObjectKey(str(obj["metadata"].get("namespace") or ""), str(labels[CLUSTER_NAME_LABEL]))]


def new_controller(client: Client, cache: Cache, *, concurrency: int = 4, poll_seconds: float = 30.0) -> Controller:
    """The topology controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches Clusters, ClusterClasses (a change reaches every Cluster of the class), the MachineDeployments
    and MachineHealthChecks it made and, as it meets them, the infrastructure cluster and control plane kinds.
    """
    for kind in (MACHINE, MACHINE_SET):
        add_cluster_name_index(cache, kind)
    tracker = ExternalTracker(client, cache, CLUSTER)
    reconciler = TopologyReconciler(Services(client=client, cache=cache, tracker=tracker, poll_seconds=poll_seconds))

    def clusters_of_class(cluster_class: Object) -> list[ObjectKey]:
        meta = cluster_class["metadata"]
        out = []
        for cluster in cache.list(CLUSTER, copy=False):
            ref = nested(cluster, "spec", "topology", "classRef") or {}
            namespace = ref.get("namespace") or cluster["metadata"].get("namespace")
            if ref.get("name") == meta["name"] and namespace == meta.get("namespace"):
                out.append(ObjectKey.of(cluster))
        return out

    controller = (Controller.builder(CONTROLLER_NAME).for_(CLUSTER)
                  .watches(CLUSTER_CLASS, clusters_of_class)
                  .watches(MACHINE_DEPLOYMENT, _managed_cluster, delay=CHILD_DELAY)
                  .watches(MACHINE_HEALTH_CHECK, _managed_cluster, delay=CHILD_DELAY)
                  .with_concurrency(concurrency)
                  .build(reconciler))
    tracker.bind(controller.queue)
    return controller


__all__ = ["CONTROLLER_NAME", "TopologyReconciler", "new_controller"]
