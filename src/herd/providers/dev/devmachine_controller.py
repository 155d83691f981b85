"""The DevMachine controller (inMemory backend): fetch, build the scope, run the phases, patch once.

Watches: DevMachines; their Machines (bootstrap data appears); DevClusters and Clusters (endpoint allocated,
pause); and the `herd.dev/fail` annotation of any DevMachine, which concerns every machine of its cluster
(`apiserver-down` acts on the cluster's API server).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import pydantic

from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.infrastructure.devmachine import MACHINE_FINALIZER, DevMachineSpec, InMemoryMachineBackendSpec
from herd.runtime import (
    NOT_ONLY_STATUS_CHANGED,
    Controller,
    NotSynced,
    Object,
    ObjectKey,
    PredicateFuncs,
    Result,
    lasting_metadata,
    patch_helper,
)

from .deletion import reconcile_delete
from .kinds import (
    CLUSTER,
    DEV_CLUSTER,
    DEV_MACHINE,
    FAIL_ANNOTATION,
    MACHINE,
    add_finalizer,
    annotations_of,
    is_control_plane,
    is_deleting,
    is_paused,
    name_of,
    namespace_of,
    owner_cluster_name,
    owner_named,
    refers_to,
)
from .phases import run_phases
from .scope import MachineScope, Services, devmachine_keys_of_cluster, timeline_of
from .status import WaitingFor, set_machine_conditions, set_paused

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


class DevMachineReconciler:
    """Simulates the machine behind each DevMachine with the inMemory backend."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        cache = self.services.cache
        devmachine = cache.get(DEV_MACHINE, key.namespace, key.name)
        if devmachine is None:
            return Result()
        backend = in_memory_backend(devmachine)
        if backend is None:
            return Result()
        machine_name = owner_named(devmachine, CLUSTER_GROUP, "Machine")
        machine = cache.get(MACHINE, key.namespace, machine_name, copy=False) if machine_name else None  # read only
        cluster_name = (machine.get("spec") or {}).get("clusterName") if machine else None
        cluster = cache.get(CLUSTER, key.namespace, cluster_name, copy=False) if cluster_name else None
        if machine is None or cluster is None:
            if is_deleting(devmachine):  # the Machine or Cluster went first: clean up with what is known
                async with patch_helper(self.services.client, devmachine, kind=DEV_MACHINE,
                                        observed_generation=False) as obj:
                    await reconcile_delete(obj, self.services, cluster_name=cluster_name,
                                           node_name=machine_name)
            return Result()  # waiting for the Machine controller to set the owner reference
        devcluster_name = refers_to(cluster, "infrastructureRef", DEV_CLUSTER)
        devcluster = cache.get(DEV_CLUSTER, key.namespace, devcluster_name, copy=False) if devcluster_name else None
        async with patch_helper(self.services.client, devmachine, kind=DEV_MACHINE,
                                observed_generation=False) as obj:
            paused = is_paused(cluster, obj)
            set_paused(obj, paused)
            if paused:
                return Result()
            if is_deleting(obj):
                await reconcile_delete(obj, self.services, cluster_name=name_of(cluster), node_name=name_of(machine))
                return Result()
            add_finalizer(obj, MACHINE_FINALIZER)
            scope = MachineScope(obj, backend, machine, cluster, devcluster or {}, datetime.now(UTC),
                                 timeline_of(obj))
            scope.waiting_for = waiting_for(machine, cluster, devcluster)
            if scope.fault == "apiserver-down" and scope.waiting_for is None:
                await self.services.servers.stop(scope.cluster_key, keep_data=True)
            await run_phases(scope, self.services)
            set_machine_conditions(obj, scope.progress())
        return Result(requeue_after=min(scope.requeues)) if scope.requeues else Result()


def waiting_for(machine: Object, cluster: Object, devcluster: Object | None) -> WaitingFor | None:
    """What the machine waits for before its VM is created, as upstream orders it."""
    endpoint = ((devcluster or {}).get("spec") or {}).get("controlPlaneEndpoint") or {}
    provisioned = (((devcluster or {}).get("status") or {}).get("initialization") or {}).get("provisioned")
    if devcluster is None or is_deleting(devcluster) or not provisioned or not endpoint.get("port"):
        return "cluster-infrastructure"
    if not ((machine.get("spec") or {}).get("bootstrap") or {}).get("dataSecretName"):
        initialized = (((cluster.get("status") or {}).get("initialization") or {}).get("controlPlaneInitialized"))
        if not is_control_plane(machine) and not initialized:
            return "control-plane-initialized"
        return "bootstrap-data"
    return None


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
