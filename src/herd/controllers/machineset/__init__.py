"""The MachineSet controller (upstream's internal/controllers/machineset).

    manager.add(machineset.new_controller(client, cluster_cache, manager.cache))
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.contract.indexes import (
    CLUSTER_STATE_CHANGED,
    add_cluster_name_index,
    add_controller_index,
    by_cluster,
    controlled_by,
)
from herd.contract.references import ContractResolver
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import MachineSetReconciler
from .scope import MachineSetScope, Services

CONTROLLER_NAME = "machineset"
AGGREGATE_DELAY = 0.2  # seconds from a Machine event to its set's reconcile (events coalesce)


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *,
                   resolver: ContractResolver | None = None, concurrency: int = 4, template_wait: float = 10.0,
                   cache_wait: float = 5.0) -> Controller:
    """The MachineSet controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches MachineSets, the Machines they control, their Clusters (pausing), and the MachineDeployments
    that own them (remediation limits, UpToDate). `cluster_cache` is accepted for symmetry with the other
    controllers; the MachineSet never talks to workload clusters.
    """
    del cluster_cache
    add_cluster_name_index(cache, MACHINE_SET)
    add_controller_index(cache, MACHINE_SET)
    add_controller_index(cache, MACHINE)
    services = Services(client=client, cache=cache, resolver=resolver or ContractResolver(client),
                        template_wait=template_wait, cache_wait=cache_wait)
    reconciler = MachineSetReconciler(services)

    def sets_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(ms) for ms in by_cluster(cache, MACHINE_SET, ObjectKey.of(cluster), copy=False)]

    def sets_of_deployment(deployment: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(ms) for ms in controlled_by(cache, MACHINE_SET, deployment, copy=False)]

    return (Controller.builder(CONTROLLER_NAME).for_(MACHINE_SET, NOT_ONLY_STATUS_CHANGED)
            .owns(MACHINE, delay=AGGREGATE_DELAY)
            .watches(CLUSTER, sets_of_cluster, CLUSTER_STATE_CHANGED)
            .watches(MACHINE_DEPLOYMENT, sets_of_deployment)
            .with_concurrency(concurrency)
            .build(reconciler))


__all__ = ["CONTROLLER_NAME", "MachineSetReconciler", "MachineSetScope", "Services", "new_controller"]
