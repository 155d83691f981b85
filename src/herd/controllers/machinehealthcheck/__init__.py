"""The MachineHealthCheck controller (upstream's internal/controllers/machinehealthcheck).

    cluster_cache = ClusterCache(client)
    manager.add(machinehealthcheck.new_controller(client, cluster_cache, manager.cache))

Unhealthy Machines are remediated by their owner (MachineSet or control plane) through the OwnerRemediated
condition; external remediation (spec.remediation.templateRef) is not implemented.
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_HEALTH_CHECK
from herd.contract.indexes import (
    CLUSTER_STATE_CHANGED,
    add_cluster_name_index,
    add_provider_id_index,
    by_cluster,
    machines_of_node,
)
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import MachineHealthCheckReconciler
from .scope import HealthCheckScope, Services
from .targets import selects

CONTROLLER_NAME = "machinehealthcheck"
CHECK_DELAY = 1.0  # seconds from a Machine or Node event to the checks' reconcile: a fleet's events coalesce


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *, concurrency: int = 4,
                   unreachable_requeue_after: float = 10.0) -> Controller:
    """The MachineHealthCheck controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches MachineHealthChecks, the Machines their selectors pick out and their Clusters; Node changes in
    workload clusters reach it through the cluster cache.
    """
    add_cluster_name_index(cache, MACHINE)
    add_cluster_name_index(cache, MACHINE_HEALTH_CHECK)
    add_provider_id_index(cache)
    services = Services(client=client, cache=cache, cluster_cache=cluster_cache,
                        unreachable_requeue_after=unreachable_requeue_after)
    reconciler = MachineHealthCheckReconciler(services)

    def checks_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE_HEALTH_CHECK, ObjectKey.of(cluster), copy=False)]

    def checks_of_machine(machine: Object) -> list[ObjectKey]:
        cluster_name = (machine.get("spec") or {}).get("clusterName")
        if not cluster_name:
            return []
        key = ObjectKey(str(machine["metadata"].get("namespace") or ""), str(cluster_name))
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE_HEALTH_CHECK, key, copy=False)
                if selects(m, machine)]

    controller = (Controller.builder(CONTROLLER_NAME).for_(MACHINE_HEALTH_CHECK, NOT_ONLY_STATUS_CHANGED)
                  .watches(MACHINE, checks_of_machine, delay=CHECK_DELAY)
                  .watches(CLUSTER, checks_of_cluster, CLUSTER_STATE_CHANGED)
                  .with_concurrency(concurrency)
                  .build(reconciler))

    def node_changed(cluster: ObjectKey, node: Object) -> None:
        """A Node event re-checks the MachineHealthChecks of the Machine that has it."""
        if not cache.informer(MACHINE_HEALTH_CHECK).has_synced:
            return
        for machine in machines_of_node(cache, cluster, node):
            for key in checks_of_machine(machine):
                controller.queue.add_paced(key, CHECK_DELAY)

    cluster_cache.add_node_listener(node_changed)
    return controller


__all__ = ["CONTROLLER_NAME", "MACHINE_HEALTH_CHECK", "HealthCheckScope", "MachineHealthCheckReconciler", "Services",
           "new_controller"]
