"""The MachineSet controller: a reconcile that fetches a scope, runs the phases (or deletion) and patches once."""

from __future__ import annotations

import logging

from herd.api.cluster.labels import MACHINE_SET_FINALIZER
from herd.controllers import conditions as cond
from herd.controllers.kinds import CLUSTER, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.controllers.runner import run_phases
from herd.runtime import Conflict, ObjectKey, Result, patch_helper

from . import status
from .deletion import reconcile_delete
from .phases import ALWAYS, PHASES
from .scope import MachineSetScope, Services

log = logging.getLogger("herd.controllers.machineset")


class MachineSetReconciler:
    """Reconciles MachineSets: adoption, remediation, template sync, scaling, status and deletion."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the world match the MachineSet with this key."""
        try:
            return await self._reconcile(key)
        except Conflict as exc:  # someone wrote an object we were writing too: look again, quietly
            log.info("machineset %s: %s; trying again", key, exc)
            return Result(requeue=True)

    async def _reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        machine_set = io.cache.get(MACHINE_SET, key.namespace, key.name)
        if machine_set is None:
            return Result()
        cluster_name = str((machine_set.get("spec") or {}).get("clusterName") or "")
        cluster = io.cache.get(CLUSTER, key.namespace, cluster_name)
        deleting = bool(machine_set["metadata"].get("deletionTimestamp"))
        if cluster is None and not deleting:  # the Cluster's creation wakes us
            log.info("machineset %s: waiting for Cluster %s", key, cluster_name)
            return Result(requeue_after=io.template_wait)
        if cond.is_paused(cluster, machine_set):
            async with patch_helper(io.client, machine_set, kind=MACHINE_SET, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(cluster, paused))
            return Result()
        scope = MachineSetScope(machine_set=machine_set, cluster=cluster, services=io)
        if scope.deployment_name:
            scope.machine_deployment = io.cache.get(MACHINE_DEPLOYMENT, key.namespace, scope.deployment_name)
        finalizers = machine_set["metadata"].get("finalizers") or []
        if not deleting and MACHINE_SET_FINALIZER not in finalizers:
            async with patch_helper(io.client, machine_set, kind=MACHINE_SET, observed_generation=False) as obj:
                # before any Machine exists, so that deleting the MachineSet waits for its Machines
                obj["metadata"]["finalizers"] = [*finalizers, MACHINE_SET_FINALIZER]
            return Result()  # the update wakes us
        async with patch_helper(io.client, machine_set, kind=MACHINE_SET) as obj:
            cond.apply(obj, cond.paused_condition(cluster, obj))
            try:
                return await run_phases(scope, [*ALWAYS, reconcile_delete] if deleting else PHASES)
            finally:
                status.update_status(scope)
