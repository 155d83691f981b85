"""The Machine controller: a reconcile that fetches a scope, runs the phases (or deletion) and patches once."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_FINALIZER
from herd.controllers import conditions as cond
from herd.controllers.external import ProviderKind
from herd.controllers.kinds import CLUSTER, MACHINE
from herd.controllers.runner import lowest_result, run_phases
from herd.runtime import Conflict, NotFound, Object, ObjectKey, Result, patch_helper

from . import status
from .deletion import reconcile_delete
from .phases import PHASES
from .scope import MachineScope, Services

log = logging.getLogger("herd.controllers.machine")


class MachineReconciler:
    """Reconciles Machines: bootstrap, infrastructure, Node, status and deletion."""

    def __init__(self, services: Services, *, remote_conditions_grace_seconds: float = 300.0) -> None:
        self.services = services
        self.remote_conditions_grace_seconds = remote_conditions_grace_seconds

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the world match the Machine with this key."""
        try:
            return await self._reconcile(key)
        except Conflict as exc:  # someone wrote an object we were writing too: look again, quietly
            log.info("machine %s: %s; trying again", key, exc)
            return Result(requeue=True)

    async def _reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        machine = io.cache.get(MACHINE, key.namespace, key.name)
        if machine is None:
            return Result()
        cluster_name = str((machine.get("spec") or {}).get("clusterName") or "")
        cluster = io.cache.get(CLUSTER, key.namespace, cluster_name, copy=False)  # read only
        deleting = bool(machine["metadata"].get("deletionTimestamp"))
        if cluster is None and not deleting:  # created before its Cluster: the Cluster's creation wakes us
            log.info("machine %s: waiting for Cluster %s", key, cluster_name)
            return Result(requeue_after=io.external_ready_wait)
        if cond.is_paused(cluster, machine):
            async with patch_helper(io.client, machine, kind=MACHINE, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(cluster, paused))
            return Result()
        scope = await self.load_scope(machine, cluster)
        result = Result()
        async with patch_helper(io.client, machine, kind=MACHINE) as obj:
            meta = obj["metadata"]
            meta.setdefault("labels", {})[CLUSTER_NAME_LABEL] = cluster_name
            cond.apply(obj, cond.paused_condition(cluster, obj))
            finalizers = meta.setdefault("finalizers", [])
            try:
                if deleting:
                    result = await reconcile_delete(scope)
                elif MACHINE_FINALIZER not in finalizers:
                    finalizers.append(MACHINE_FINALIZER)  # before anything else, so deletion always waits for us
                else:
                    if cluster is not None:
                        _adopt(obj, cluster)
                    result = await run_phases(scope, PHASES)
            finally:
                wait = status.update_status(scope)
        if wait > 0:
            result = lowest_result(result, Result(requeue_after=wait))
        return result

    async def load_scope(self, machine: Object, cluster: Object | None) -> MachineScope:
        """Fetch the Machine's provider objects (from the cache once their kinds are watched)."""
        io = self.services
        scope = MachineScope(machine=machine, cluster=cluster, services=io,
                             remote_conditions_grace_seconds=self.remote_conditions_grace_seconds)
        scope.health = io.cluster_cache.health(scope.cluster_key)
        namespace = str(machine["metadata"].get("namespace", ""))
        spec = machine.get("spec") or {}
        config_ref = (spec.get("bootstrap") or {}).get("configRef")
        if config_ref:
            scope.bootstrap_kind, scope.bootstrap_config = await self._fetch(config_ref, namespace)
            scope.bootstrap_config_not_found = scope.bootstrap_config is None
        if spec.get("infrastructureRef"):
            scope.infra_kind, scope.infra_machine = await self._fetch(spec["infrastructureRef"], namespace)
            scope.infra_machine_not_found = scope.infra_machine is None
        return scope

    async def _fetch(self, ref: dict[str, Any], namespace: str) -> tuple[ProviderKind | None, Object | None]:
        try:
            provider_kind = await self.services.resolver.resolve(ref)
        except NotFound:
            return None, None  # no CRD serves the kind: no such object can exist
        return provider_kind, await self.services.tracker.get(provider_kind.kind, namespace, ref["name"],
                                                                     copy=False)  # read only


def _adopt(machine: Object, cluster: Object) -> None:
    """A stand-alone Machine (no controller, not yet owned by its Cluster) becomes owned by the Cluster."""
    refs: list[dict[str, Any]] = machine["metadata"].setdefault("ownerReferences", [])
    if any(ref.get("controller") for ref in refs):
        return
    if any(ref.get("kind") == "Cluster" and ref.get("uid") == cluster["metadata"]["uid"] for ref in refs):
        return
    refs.append({"apiVersion": cluster["apiVersion"], "kind": "Cluster", "name": cluster["metadata"]["name"],
                 "uid": cluster["metadata"]["uid"]})
