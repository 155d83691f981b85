"""The Machine controller's reconcile: the shared skeleton, with the Machine's scope, phases and status."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_FINALIZER
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.contract.references import fetch_reference
from herd.runtime import Object, Result

from . import status
from .deletion import reconcile_delete
from .phases import PHASES
from .scope import MachineScope, Services


class MachineReconciler(ObjectReconciler[Services, MachineScope]):
    """Reconciles Machines: bootstrap, infrastructure, Node, status and deletion."""

    kind = MACHINE
    finalizer = MACHINE_FINALIZER
    log = logging.getLogger("herd.controllers.machine")

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.cluster_wait = services.external_ready_wait  # a Machine created before its Cluster

    async def load_scope(self, obj: Object, cluster: Object | None) -> MachineScope:
        """Fetch the Machine's provider objects (from the cache once their kinds are watched)."""
        io = self.services
        scope = MachineScope(machine=obj, cluster=cluster, services=io,
                             remote_conditions_grace_seconds=io.remote_conditions_grace_seconds)
        scope.health = io.cluster_cache.health(scope.cluster_key)
        config_ref = (scope.spec.get("bootstrap") or {}).get("configRef")
        if config_ref:
            scope.bootstrap_kind, scope.bootstrap_config = await fetch_reference(
                io.resolver, io.tracker, config_ref, scope.namespace)
            scope.bootstrap_config_not_found = scope.bootstrap_config is None
        if scope.spec.get("infrastructureRef"):
            scope.infra_kind, scope.infra_machine = await fetch_reference(
                io.resolver, io.tracker, scope.spec["infrastructureRef"], scope.namespace)
            scope.infra_machine_not_found = scope.infra_machine is None
        return scope

    def prepare(self, obj: Object, cluster: Object | None) -> None:
        obj["metadata"].setdefault("labels", {})[CLUSTER_NAME_LABEL] = self.cluster_name(obj)

    async def reconcile_normal(self, scope: MachineScope) -> Result:
        if scope.cluster is not None:
            _adopt(scope.machine, scope.cluster)
        return await run_phases(scope, PHASES)

    async def reconcile_delete(self, scope: MachineScope) -> Result:
        return await reconcile_delete(scope)

    def update_status(self, scope: MachineScope) -> float:
        return status.update_status(scope)


def _adopt(machine: Object, cluster: Object) -> None:
    """A stand-alone Machine (no controller, not yet owned by its Cluster) becomes owned by the Cluster."""
    refs: list[dict[str, Any]] = machine["metadata"].setdefault("ownerReferences", [])
    if any(ref.get("controller") for ref in refs):
        return
    if any(ref.get("kind") == "Cluster" and ref.get("uid") == cluster["metadata"]["uid"] for ref in refs):
        return
    refs.append({"apiVersion": cluster["apiVersion"], "kind": "Cluster", "name": cluster["metadata"]["name"],
                 "uid": cluster["metadata"]["uid"]})
