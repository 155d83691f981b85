"""The DevMachine controller (inMemory backend): fetch, build the scope, run the phases, patch once.

Watches: DevMachines; their Machines (bootstrap data appears); DevClusters and Clusters (endpoint allocated,
pause); and the `herd.dev/fail` annotation of any DevMachine, which concerns every machine of its cluster
(`apiserver-down` acts on the cluster's API server).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import pydantic

from herd.api.cluster import CLUSTER, MACHINE
from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.conditions import (
    WAITING_FOR_BOOTSTRAP_DATA_REASON,
    WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON,
)
from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.api.infrastructure.devmachine import MACHINE_FINALIZER, DevMachineSpec, InMemoryMachineBackendSpec
from herd.contract.objects import is_control_plane_machine, owner_cluster_name, owner_named
from herd.providersdk import machine_waiting_for
from herd.providersdk.contract import is_provisioned
from herd.providersdk.reconciler import MachineReconcilerBase
from herd.runtime import (
    NOT_ONLY_STATUS_CHANGED,
    Controller,
    NotSynced,
    Object,
    ObjectKey,
    PredicateFuncs,
    Result,
    lasting_metadata,
)
from herd.runtime.finalizers import is_deleting

from .deletion import reconcile_delete
from .kinds import FAIL_ANNOTATION, annotations_of, name_of, namespace_of, refers_to
from .phases import run_phases
from .scope import LOG, MachineScope, Services, devmachine_keys_of_cluster, timeline_of
from .status import WaitingFor, set_machine_conditions

log = logging.getLogger("herd.providers.dev")


def in_memory_backend(devmachine: Object) -> InMemoryMachineBackendSpec | None:
    """The machine's inMemory settings, or None when another backend (or an unreadable spec) is set."""
    try:  # only the spec: the whole object (status, conditions) costs several times as much to parse
        spec: DevMachineSpec = DevMachineSpec.from_dict(devmachine.get("spec") or {})
        return spec.backend.in_memory
    except pydantic.ValidationError as exc:
        log.warning("DevMachine %s/%s has an unreadable spec: %s", namespace_of(devmachine), name_of(devmachine),
                    exc.errors()[0].get("msg") if exc.errors() else exc)
        return None


@dataclass
class DevMachineScope:
    """One DevMachine's reconcile: the objects read (its Machine and Cluster may be gone while it is deleted),
    and, for a machine being simulated, the MachineScope its phases work on."""

    devmachine: Object  # patched once at the end
    machine: Object | None
    cluster: Object | None
    simulated: MachineScope | None = None


class DevMachineReconciler(MachineReconcilerBase[Services, DevMachineScope]):
    """Simulates the machine behind each DevMachine with the inMemory backend. The SDK's machine skeleton: its
    Cluster is that of the Machine owning it; until the Machine controller sets that owner the DevMachine waits
    for the Machine's event."""

    kind = DEV_MACHINE
    finalizer = MACHINE_FINALIZER
    log = LOG

    def handles(self, obj: Object) -> bool:
        return in_memory_backend(obj) is not None

    async def load_scope(self, obj: Object, cluster: Object | None) -> DevMachineScope:
        return DevMachineScope(obj, self.machine_of(obj), cluster)

    async def reconcile_normal(self, scope: DevMachineScope) -> Result:
        obj, machine, cluster = scope.devmachine, scope.machine, scope.cluster
        backend = in_memory_backend(obj)
        if machine is None or cluster is None or backend is None:
            return Result()  # the Machine's (or Cluster's) event brings the DevMachine back
        devcluster_name = refers_to(cluster, "infrastructureRef", DEV_CLUSTER)
        cache = self.services.cache
        devcluster = cache.get(DEV_CLUSTER, namespace_of(obj), devcluster_name, copy=False) \
            if devcluster_name else None
        simulated = MachineScope(obj, backend, machine, cluster, devcluster or {}, datetime.now(UTC), timeline_of(obj))
        simulated.waiting_for = waiting_for(machine, cluster, devcluster)
        if simulated.fault == "apiserver-down" and simulated.waiting_for is None:
            await self.services.servers.stop(simulated.cluster_key, keep_data=True)
        await run_phases(simulated, self.services)
        scope.simulated = simulated
        return Result(requeue_after=min(simulated.requeues)) if simulated.requeues else Result()

    async def reconcile_delete(self, scope: DevMachineScope) -> None:
        # the Machine or the Cluster may be gone first: clean up with what is known
        cluster_name = name_of(scope.cluster) if scope.cluster is not None \
            else str(((scope.machine or {}).get("spec") or {}).get("clusterName") or "") or None
        node_name = name_of(scope.machine) if scope.machine is not None \
            else owner_named(scope.devmachine, CLUSTER_GROUP, "Machine")
        await reconcile_delete(scope.devmachine, self.services, cluster_name=cluster_name, node_name=node_name,
                               control_plane=is_control_plane_machine(scope.machine or scope.devmachine))

    def update_status(self, scope: DevMachineScope) -> None:
        if scope.simulated is not None:
            set_machine_conditions(scope.devmachine, scope.simulated.progress())


_WAITING_FOR: dict[str, WaitingFor] = {
    WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON: "cluster-infrastructure",
    WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON: "control-plane-initialized",
    WAITING_FOR_BOOTSTRAP_DATA_REASON: "bootstrap-data",
}


def waiting_for(machine: Object, cluster: Object, devcluster: Object | None) -> WaitingFor | None:
    """What the machine waits for before its VM is created, as upstream orders it (the SDK's waits); the cluster
    infrastructure is the DevCluster, provisioned with its endpoint and not being deleted."""
    endpoint = ((devcluster or {}).get("spec") or {}).get("controlPlaneEndpoint") or {}
    ready = devcluster is not None and not is_deleting(devcluster) and is_provisioned(devcluster) \
        and bool(endpoint.get("port"))
    waiting = machine_waiting_for(machine, cluster, cluster_infrastructure_ready=ready)
    return _WAITING_FOR[waiting.reason] if waiting is not None else None


def build(services: Services, *, concurrency: int = 10) -> Controller:
    """The DevMachine controller."""
    cache = services.cache

    def for_machine(machine: Object) -> Iterable[ObjectKey]:
        name = refers_to(machine, "infrastructureRef", DEV_MACHINE)
        return [ObjectKey(namespace_of(machine), name)] if name else []

    def for_cluster_of(obj: Object) -> Iterable[ObjectKey]:
        cluster_name = owner_cluster_name(obj) if obj.get("kind") != "Cluster" else name_of(obj)
        if not cluster_name:
            return []
        return [ObjectKey(*k) for k in devmachine_keys_of_cluster(cache, namespace_of(obj), cluster_name)]

    def cluster_of_devmachine(devmachine: Object) -> Iterable[ObjectKey]:
        machine_name = owner_named(devmachine, CLUSTER_GROUP, "Machine")
        try:
            machine = cache.get(MACHINE, namespace_of(devmachine), machine_name, copy=False) if machine_name else None
        except NotSynced:
            return []
        cluster_name = (machine or {}).get("spec", {}).get("clusterName") or owner_cluster_name(devmachine)
        if not cluster_name:
            return []
        return [ObjectKey(*k) for k in devmachine_keys_of_cluster(cache, namespace_of(devmachine), cluster_name)]

    def fault(obj: Object) -> str | None:
        return annotations_of(obj).get(FAIL_ANNOTATION)

    def cluster_state(cluster: Object) -> tuple[object, ...]:
        # what a DevMachine reads of its Cluster; the rest of the status changes with every Machine's
        return lasting_metadata(cluster), cluster.get("spec"), (cluster.get("status") or {}).get("initialization")

    def machine_state(machine: Object) -> tuple[object, ...]:
        # what a DevMachine reads of its Machine: not the providerID it reported itself, nor the finalizers,
        # owners and status the Machine's own controller writes as it provisions
        meta = machine.get("metadata") or {}
        spec = {k: v for k, v in (machine.get("spec") or {}).items() if k != "providerID"}
        return meta.get("labels"), meta.get("annotations"), meta.get("deletionTimestamp"), spec

    machine_changed = PredicateFuncs(on_update=lambda old, new: machine_state(old) != machine_state(new))
    cluster_changed = PredicateFuncs(on_update=lambda old, new: cluster_state(old) != cluster_state(new))
    fault_changed = PredicateFuncs(on_create=lambda o: fault(o) is not None,
                                   on_update=lambda old, new: fault(old) != fault(new),
                                   on_delete=lambda o: fault(o) is not None)
    return (Controller.builder("devmachine")
            .for_(DEV_MACHINE, NOT_ONLY_STATUS_CHANGED, skip_own_writes=True)  # each reconcile finishes its work
            .watches(MACHINE, for_machine, machine_changed)
            .watches(DEV_CLUSTER, for_cluster_of)
            .watches(CLUSTER, for_cluster_of, cluster_changed)
            .watches(DEV_MACHINE, cluster_of_devmachine, fault_changed)
            .with_concurrency(concurrency)
            .build(DevMachineReconciler(services)))
