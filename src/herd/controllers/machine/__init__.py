"""The Machine controller (upstream's internal/controllers/machine).

    cluster_cache = ClusterCache(client)
    manager.add(machine.new_controller(client, cluster_cache, manager.cache))
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.api.cluster import CLUSTER, MACHINE
from herd.api.cluster import machine as machine_api
from herd.contract.indexes import (
    CLUSTER_STATE_CHANGED,
    add_cluster_name_index,
    add_provider_id_index,
    by_cluster,
    machines_of_node,
)
from herd.contract.references import ContractResolver, ExternalTracker
from herd.runtime import Cache, Client, Controller, Object, ObjectKey, PredicateFuncs, lasting_metadata
from herd.runtime.clustercache import ClusterCache

from .controller import MachineReconciler
from .scope import MachineScope, Services

CONTROLLER_NAME = "machine"
# conditions other controllers write on a Machine (its health check, its MachineSet), which its summary reads
FOREIGN_CONDITIONS = (machine_api.HEALTH_CHECK_SUCCEEDED, machine_api.OWNER_REMEDIATED, machine_api.UP_TO_DATE)


def _not_own_status(machine: Object) -> tuple[object, ...]:
    """All of a Machine but what only the Machine controller writes (its status, save foreign conditions)."""
    meta = lasting_metadata(machine)
    # a readiness gate's condition is written by whoever owns the gate (the KubeadmControlPlane's pod health)
    gates = {gate.get("conditionType") for gate in (machine.get("spec") or {}).get("readinessGates") or []}
    foreign = [c for c in (machine.get("status") or {}).get("conditions") or []
               if c.get("type") in FOREIGN_CONDITIONS or c.get("type") in gates]
    return meta, machine.get("spec"), foreign


NOT_OWN_STATUS_WRITE = PredicateFuncs(on_update=lambda old, new: _not_own_status(old) != _not_own_status(new))
"""Let Machine updates through unless only what the Machine controller itself wrote changed."""


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *,
                   resolver: ContractResolver | None = None, concurrency: int = 32,
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
                        drain_requeue_after=drain_requeue_after,
                        remote_conditions_grace_seconds=remote_conditions_grace_seconds)
    reconciler = MachineReconciler(services)

    def machines_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(m) for m in by_cluster(cache, MACHINE, ObjectKey.of(cluster), copy=False)]

    controller = (Controller.builder(CONTROLLER_NAME).for_(MACHINE, NOT_OWN_STATUS_WRITE)
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
