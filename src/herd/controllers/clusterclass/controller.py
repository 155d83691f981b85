"""The ClusterClass controller's reconcile: the shared skeleton without a Cluster; its phases own the templates
and publish the variables."""

from __future__ import annotations

import logging

from herd.api.cluster import CLUSTER_CLASS
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Object, Result

from .phases import PHASES
from .scope import ClusterClassScope, Services
from .status import set_status

_NO_CLUSTER: Object = {}  # a ClusterClass belongs to no Cluster: only its own paused annotation pauses it


class ClusterClassReconciler(ObjectReconciler[Services, ClusterClassScope]):
    """Reconciles ClusterClasses. No finalizer: deleting a class leaves its templates to the garbage collector
    (the class owns them)."""

    kind = CLUSTER_CLASS
    log = logging.getLogger("herd.controllers.clusterclass")

    def cluster_of(self, obj: Object) -> Object | None:
        return _NO_CLUSTER

    async def load_scope(self, obj: Object, cluster: Object | None) -> ClusterClassScope:
        return ClusterClassScope(cluster_class=obj, services=self.services)

    async def reconcile_normal(self, scope: ClusterClassScope) -> Result:
        return await run_phases(scope, PHASES)

    def update_status(self, scope: ClusterClassScope) -> float | None:
        set_status(scope)
        return None
