"""The MachineDeployment controller (upstream's internal/controllers/machinedeployment).

    manager.add(machinedeployment.new_controller(client, cluster_cache, manager.cache))

It manages MachineSets only: one per template, scaled by the rollout strategy; the MachineSet controller
creates and deletes the Machines.
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import MACHINE_DEPLOYMENT_NAME_LABEL
from herd.contract.indexes import CLUSTER_STATE_CHANGED, add_cluster_name_index, add_controller_index, by_cluster
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import MachineDeploymentReconciler
from .scope import MachineDeploymentScope, Services

CONTROLLER_NAME = "machinedeployment"
AGGREGATE_DELAY = 0.5  # seconds from a MachineSet or Machine event to the deployment's reconcile (events coalesce)


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *, concurrency: int = 4,
                   cluster_wait: float = 10.0) -> Controller:
    """The MachineDeployment controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches MachineDeployments, the MachineSets they own, their Machines (by the deployment-name label, so
    OnDelete rollouts and the Machine conditions follow) and Clusters (pause). `cluster_cache` is unused: the
    controller never talks to workload clusters; it is taken so every controller factory looks alike.
    """
    del cluster_cache
    add_cluster_name_index(cache, MACHINE_DEPLOYMENT)
    add_controller_index(cache, MACHINE_SET)
    add_controller_index(cache, MACHINE)
    reconciler = MachineDeploymentReconciler(Services(client=client, cache=cache), cluster_wait=cluster_wait)

    def deployments_of_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return [ObjectKey.of(md) for md in by_cluster(cache, MACHINE_DEPLOYMENT, ObjectKey.of(cluster), copy=False)]

    def deployment_of_machine(machine: Object) -> Iterable[ObjectKey]:
        meta = machine.get("metadata") or {}
        name = (meta.get("labels") or {}).get(MACHINE_DEPLOYMENT_NAME_LABEL)
        return [ObjectKey(str(meta.get("namespace") or ""), str(name))] if name else []

    return (Controller.builder(CONTROLLER_NAME).for_(MACHINE_DEPLOYMENT, NOT_ONLY_STATUS_CHANGED)
            .owns(MACHINE_SET, delay=AGGREGATE_DELAY)
            .watches(MACHINE, deployment_of_machine, delay=AGGREGATE_DELAY)
            .watches(CLUSTER, deployments_of_cluster, CLUSTER_STATE_CHANGED)
            .with_concurrency(concurrency)
            .build(reconciler))


__all__ = ["CONTROLLER_NAME", "MachineDeploymentReconciler", "MachineDeploymentScope", "Services", "new_controller"]
