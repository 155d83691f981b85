"""The MachineHealthCheck controller (upstream's internal/controllers/machinehealthcheck).

    cluster_cache = ClusterCache(client)
    manager.add(machinehealthcheck.new_controller(client, cluster_cache, manager.cache))

Unhealthy Machines are remediated by their owner (MachineSet or control plane) through the OwnerRemediated
condition; external remediation (spec.remediation.templateRef) is not implemented.
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.controllers.kinds import CLUSTER, MACHINE, add_cluster_name_index, by_cluster
from herd.runtime import Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import MACHINE_HEALTH_CHECK, MachineHealthCheckReconciler
from .scope import HealthCheckScope, Services
from .targets import selects

CONTROLLER_NAME = "machinehealthcheck"


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *, concurrency: int = 4,
                   unreachable_requeue_after: float = 10.0) -> Controller:
    """The MachineHealthCheck controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches MachineHealthChecks, the Machines their selectors pick out and their Clusters; Node changes in
    workload clusters reach it through the cluster cache.
    """
    add_cluster_name_index(cache, MACHINE)
    add_cluster_name_index(cache, MACHINE_HEALTH_CHECK)
    services = Services(client=client, cache=cache, cluster_cache=cluster_cache,
                        unreachable_requeue_after=unreachable_requeue_after)
    reconciler = MachineHealthCheckReconciler(services)

    def checks_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE_HEALTH_CHECK, ObjectKey.of(cluster))]

    def checks_of_machine(machine: Object) -> list[ObjectKey]:
        cluster_name = (machine.get("spec") or {}).get("clusterName")
        if not cluster_name:
            return []
        key = ObjectKey(str(machine["metadata"].get("namespace") or ""), str(cluster_name))
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE_HEALTH_CHECK, key) if selects(m, machine)]

    controller = (Controller.builder(CONTROLLER_NAME).for_(MACHINE_HEALTH_CHECK)
                  .watches(MACHINE, checks_of_machine)
                  .watches(CLUSTER, checks_of_cluster)
                  .with_concurrency(concurrency)
                  .build(reconciler))

    def node_changed(cluster: ObjectKey, node: Object) -> None:
        """A Node event re-checks the MachineHealthChecks of the Machine that has it (by nodeRef or providerID)."""
        if not cache.informer(MACHINE).has_synced or not cache.informer(MACHINE_HEALTH_CHECK).has_synced:
            return
        name = node["metadata"].get("name")
        provider_id = (node.get("spec") or {}).get("providerID")
        for machine in by_cluster(cache, MACHINE, cluster, copy=False):  # read only, once per Node event
            node_ref = ((machine.get("status") or {}).get("nodeRef") or {}).get("name")
            if node_ref == name or (provider_id and (machine.get("spec") or {}).get("providerID") == provider_id):
                for key in checks_of_machine(machine):
                    controller.queue.add(key)

    cluster_cache.add_node_listener(node_changed)
    return controller


__all__ = ["CONTROLLER_NAME", "MACHINE_HEALTH_CHECK", "HealthCheckScope", "MachineHealthCheckReconciler", "Services",
           "new_controller"]
