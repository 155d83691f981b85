"""The MachineDeployment controller's reconcile: the shared skeleton, with its scope, phases and status."""

from __future__ import annotations

import logging

from herd.api.cluster import MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, MACHINE_DEPLOYMENT_FINALIZER
from herd.api.objects import nested
from herd.contract.indexes import controlled_by, orphans
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Object, Result, Selector

from . import status
from .cleanup import creation_order
from .phases import PHASES, adopt_orphans, reconcile_delete
from .scope import MachineDeploymentScope, Services


class MachineDeploymentReconciler(ObjectReconciler[Services, MachineDeploymentScope]):
    """Reconciles MachineDeployments: one MachineSet per template, rolled out by the strategy."""

    kind = MACHINE_DEPLOYMENT
    finalizer = MACHINE_DEPLOYMENT_FINALIZER  # deletion waits for the MachineSets
    log = logging.getLogger("herd.controllers.machinedeployment")

    def __init__(self, services: Services, *, cluster_wait: float = 10.0) -> None:
        super().__init__(services)
        self.cluster_wait = cluster_wait

    async def load_scope(self, obj: Object, cluster: Object | None) -> MachineDeploymentScope:
        """The MachineDeployment's MachineSets and Machines from the cache, and orphans it may adopt."""
        io = self.services
        namespace = str(obj["metadata"].get("namespace") or "")
        selector = Selector.from_label_selector(nested(obj, "spec", "selector"))
        owned = sorted(controlled_by(io.cache, MACHINE_SET, obj), key=creation_order)
        adoptable = [ms for ms in orphans(io.cache, MACHINE_SET, namespace)
                     if not selector.empty and selector.matches_object(ms)
                     and nested(ms, "spec", "clusterName") == nested(obj, "spec", "clusterName")]
        # the cache's own objects: the deployment only counts and reads its Machines
        machines = [m for ms in owned for m in controlled_by(io.cache, MACHINE, ms, copy=False)]
        return MachineDeploymentScope(md=obj, cluster=cluster, machine_sets=owned, machines=machines,
                                      orphans=adoptable, services=io)

    def prepare(self, obj: Object, cluster: Object | None) -> None:
        obj["metadata"].setdefault("labels", {})[CLUSTER_NAME_LABEL] = self.cluster_name(obj)

    async def reconcile_normal(self, scope: MachineDeploymentScope) -> Result:
        await adopt_orphans(scope, scope.orphans)
        return await run_phases(scope, PHASES)

    async def reconcile_delete(self, scope: MachineDeploymentScope) -> Result | None:
        return await reconcile_delete(scope)

    def update_status(self, scope: MachineDeploymentScope) -> None:
        status.update_status(scope)
