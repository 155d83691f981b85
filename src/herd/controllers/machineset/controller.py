"""The MachineSet controller's reconcile: the shared skeleton, with the MachineSet's scope, phases and status."""

from __future__ import annotations

import logging

from herd.api.cluster import MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import MACHINE_SET_FINALIZER
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Object, Result

from . import status
from .deletion import reconcile_delete
from .phases import ALWAYS, PHASES
from .scope import MachineSetScope, Services


class MachineSetReconciler(ObjectReconciler[Services, MachineSetScope]):
    """Reconciles MachineSets: adoption, remediation, template sync, scaling, status and deletion."""

    kind = MACHINE_SET
    finalizer = MACHINE_SET_FINALIZER  # added before any Machine exists: deletion waits for the Machines
    log = logging.getLogger("herd.controllers.machineset")

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.cluster_wait = services.template_wait

    async def load_scope(self, obj: Object, cluster: Object | None) -> MachineSetScope:
        scope = MachineSetScope(machine_set=obj, cluster=cluster, services=self.services)
        if scope.deployment_name:
            scope.machine_deployment = self.services.cache.get(MACHINE_DEPLOYMENT, scope.namespace,
                                                               scope.deployment_name)
        return scope

    async def reconcile_normal(self, scope: MachineSetScope) -> Result:
        return await run_phases(scope, PHASES)

    async def reconcile_delete(self, scope: MachineSetScope) -> Result:
        return await run_phases(scope, [*ALWAYS, reconcile_delete])

    def update_status(self, scope: MachineSetScope) -> None:
        status.update_status(scope)
