"""The Cluster controller (upstream's internal/controllers/cluster).

    cluster_cache = ClusterCache(client)
    manager.add(cluster.new_controller(client, cluster_cache, manager.cache))
"""

from __future__ import annotations

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.contract.indexes import add_cluster_name_index, cluster_of
from herd.contract.references import ContractResolver, ExternalTracker
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller
from herd.runtime.clustercache import ClusterCache

from .controller import ClusterReconciler
from .scope import ClusterScope, Services

CONTROLLER_NAME = "cluster"
AGGREGATE_DELAY = 1.0  # seconds from a Machine, MachineSet or MachineDeployment event to the Cluster's reconcile


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *,
                   resolver: ContractResolver | None = None, concurrency: int = 4, probe_interval: float = 10.0,
                   remote_connection_grace_seconds: float = 300.0, external_ready_wait: float = 10.0,
                   delete_requeue_after: float = 5.0) -> Controller:
    """The Cluster controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches Clusters, their Machines, MachineSets and MachineDeployments (by `spec.clusterName`) and,
    as it meets them, the infrastructure and control plane kinds the Clusters reference.
    """
    for kind in (MACHINE, MACHINE_SET, MACHINE_DEPLOYMENT):
        add_cluster_name_index(cache, kind)
    tracker = ExternalTracker(client, cache, CLUSTER)
    services = Services(client=client, cache=cache, tracker=tracker, resolver=resolver or ContractResolver(client),
                        cluster_cache=cluster_cache, probe_interval=probe_interval,
                        external_ready_wait=external_ready_wait, delete_requeue_after=delete_requeue_after,
                        remote_connection_grace_seconds=remote_connection_grace_seconds)
    reconciler = ClusterReconciler(services)
    controller = (Controller.builder(CONTROLLER_NAME).for_(CLUSTER, NOT_ONLY_STATUS_CHANGED)
                  # the Cluster's status sums up its machines: one reconcile per second follows a busy fleet
                  .watches(MACHINE, cluster_of, delay=AGGREGATE_DELAY)
                  .watches(MACHINE_SET, cluster_of, delay=AGGREGATE_DELAY)
                  .watches(MACHINE_DEPLOYMENT, cluster_of, delay=AGGREGATE_DELAY)
                  .with_concurrency(concurrency)
                  .build(reconciler))
    tracker.bind(controller.queue)
    return controller


__all__ = ["CONTROLLER_NAME", "ClusterReconciler", "ClusterScope", "Services", "new_controller"]
