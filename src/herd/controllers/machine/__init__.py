"""The Machine controller (upstream's internal/controllers/machine).

    cluster_cache = ClusterCache(client)
    manager.add(machine.new_controller(client, cluster_cache, manager.cache))
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.controllers.external import ContractResolver, ExternalTracker
from herd.controllers.kinds import (
    CLUSTER,
    CLUSTER_STATE_CHANGED,
    MACHINE,
    add_cluster_name_index,
    add_provider_id_index,
    by_cluster,
    machines_of_node,
)
from herd.runtime import Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import MachineReconciler
from .scope import MachineScope, Services

CONTROLLER_NAME = "machine"


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *,
                   resolver: ContractResolver | None = None, concurrency: int = 8,
                   remote_conditions_grace_seconds: float = 300.0, external_ready_wait: float = 10.0,
                   node_wait: float = 10.0, drain_requeue_after: float = 5.0) -> Controller:
    """The Machine controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches Machines, their Clusters, and (as it meets them) the bootstrap and infrastructure kinds they
    reference; Node changes in workload clusters reach it through the cluster cache.
    """
    add_cluster_name_index(cache, MACHINE)
    add_provider_id_index(cache)
    tracker = ExternalTracker(client, cache, MACHINE)
    services = Services(client=client, cache=cache, tracker=tracker, resolver=resolver or ContractResolver(client),
                        cluster_cache=cluster_cache, external_ready_wait=external_ready_wait, node_wait=node_wait,
                        drain_requeue_after=drain_requeue_after)
    reconciler = MachineReconciler(services, remote_conditions_grace_seconds=remote_conditions_grace_seconds)

    def machines_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE, ObjectKey.of(cluster), copy=False)]

    controller = (Controller.builder(CONTROLLER_NAME).for_(MACHINE)
                  .watches(CLUSTER, machines_of_cluster, CLUSTER_STATE_CHANGED)
                  .with_concurrency(concurrency)
                  .build(reconciler))
    tracker.bind(controller.queue)

    def node_changed(cluster: ObjectKey, node: Object) -> None:
        """A Node event enqueues its Machine: by the annotation we put on it, else by providerID."""
        for machine in machines_of_node(cache, cluster, node):
            controller.queue.add(ObjectKey.of(machine))

    cluster_cache.add_node_listener(node_changed)
    return controller


__all__ = ["CONTROLLER_NAME", "MachineReconciler", "MachineScope", "Services", "new_controller"]
