"""The MachineDeployment controller: fetch a scope, run the phases (or deletion), patch once."""

from __future__ import annotations

import logging

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_DEPLOYMENT_FINALIZER
from herd.controllers import conditions as cond
from herd.controllers.external import nested
from herd.controllers.kinds import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET, controlled_by, orphans
from herd.controllers.runner import run_phases
from herd.runtime import Conflict, Object, ObjectKey, Result, Selector, patch_helper

from . import status
from .phases import PHASES, adopt_orphans, creation_order, reconcile_delete
from .scope import MachineDeploymentScope, Services

log = logging.getLogger("herd.controllers.machinedeployment")


class MachineDeploymentReconciler:
    """Reconciles MachineDeployments: one MachineSet per template, rolled out by the strategy."""

    def __init__(self, services: Services, *, cluster_wait: float = 10.0) -> None:
        self.services = services
        self.cluster_wait = cluster_wait

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the MachineSets match the MachineDeployment with this key."""
        try:
            return await self._reconcile(key)
        except Conflict as exc:  # someone wrote an object we were writing too: look again, quietly
            log.info("machinedeployment %s: %s; trying again", key, exc)
            return Result(requeue=True)

    async def _reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        md = io.cache.get(MACHINE_DEPLOYMENT, key.namespace, key.name)
        if md is None:
            return Result()
        cluster_name = str(nested(md, "spec", "clusterName") or "")
        cluster = io.cache.get(CLUSTER, key.namespace, cluster_name)
        deleting = bool(md["metadata"].get("deletionTimestamp"))
        if cluster is None and not deleting:  # created before its Cluster: the Cluster's creation wakes us
            log.info("machinedeployment %s: waiting for Cluster %s", key, cluster_name)
            return Result(requeue_after=self.cluster_wait)
        if cond.is_paused(cluster, md):
            async with patch_helper(io.client, md, kind=MACHINE_DEPLOYMENT, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(cluster, paused))
            return Result()
        scope, orphans = self.load_scope(md, cluster)
        result = Result()
        async with patch_helper(io.client, md, kind=MACHINE_DEPLOYMENT) as obj:
            meta = obj["metadata"]
            meta.setdefault("labels", {})[CLUSTER_NAME_LABEL] = cluster_name
            finalizers = meta.setdefault("finalizers", [])
            try:
                if deleting:
                    result = await reconcile_delete(scope) or Result()
                    if not scope.machine_sets and MACHINE_DEPLOYMENT_FINALIZER in finalizers:
                        finalizers.remove(MACHINE_DEPLOYMENT_FINALIZER)
                elif MACHINE_DEPLOYMENT_FINALIZER not in finalizers:
                    finalizers.append(MACHINE_DEPLOYMENT_FINALIZER)  # so deletion waits for the MachineSets
                else:
                    await adopt_orphans(scope, orphans)
                    result = await run_phases(scope, PHASES)
            finally:
                status.update_status(scope)
        return result

    def load_scope(self, md: Object, cluster: Object | None) -> tuple[MachineDeploymentScope, list[Object]]:
        """The MachineDeployment's MachineSets and Machines from the cache, and orphans it may adopt."""
        io = self.services
        namespace = str(md["metadata"].get("namespace") or "")
        selector = Selector.from_label_selector(nested(md, "spec", "selector"))
        owned = sorted(controlled_by(io.cache, MACHINE_SET, md), key=creation_order)
        adoptable = [ms for ms in orphans(io.cache, MACHINE_SET, namespace)
                     if not selector.empty and selector.matches_object(ms)
                     and nested(ms, "spec", "clusterName") == nested(md, "spec", "clusterName")]
        # the cache's own objects: the deployment only counts and reads its Machines
        machines = [m for ms in owned for m in controlled_by(io.cache, MACHINE, ms, copy=False)]
        scope = MachineDeploymentScope(md=md, cluster=cluster, machine_sets=owned, machines=machines, services=io)
        return scope, adoptable
