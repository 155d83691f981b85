"""The topology reconcile of one Cluster: read the class and what exists, compute what the topology asks for,
write the difference, and say how it went in the Cluster's TopologyReconciled condition.

The Cluster itself is not patched around the reconcile as other controllers' objects are: the Cluster
controller owns its status, so this one writes only `spec.infrastructureRef`/`spec.controlPlaneRef` and its
own condition (merged by type with the others')."""

from __future__ import annotations

import logging

from herd.api.cluster import CLUSTER
from herd.api.objects import is_paused, nested
from herd.contract.conditions import Condition, write_conditions
from herd.runtime import NotFound, Object, ObjectKey, Result, TerminalError

from . import status
from .desired import compute
from .gotemplate import TemplateError
from .load import MissingObject, load_blueprint, load_current, worker_states
from .patches import PatchError, external_patches
from .phases import PHASES
from .scope import Services, TopologyScope
from .upgrade import plan

log = logging.getLogger("herd.controllers.topology")

MISSING_WAIT = 10.0  # seconds until a look again for a ClusterClass or template that does not exist


class TopologyReconciler:
    """Reconciles Clusters that have `spec.topology`."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        cluster = io.cache.get(CLUSTER, key.namespace, key.name)
        if cluster is None or not nested(cluster, "spec", "topology"):
            return Result()
        if cluster["metadata"].get("deletionTimestamp"):
            await self._report(cluster, status.topology_reconciled(cluster))
            return Result()  # the Cluster controller deletes what the Cluster owns, workers first
        if is_paused(cluster, cluster):
            await self._report(cluster, status.paused(cluster))
            return Result()
        scope = TopologyScope(cluster, io)
        try:
            result = await self._reconcile(scope)
        except (MissingObject, PatchError, TemplateError, ValueError) as exc:
            await self._report(scope.cluster, status.topology_reconciled(scope.cluster, error=str(exc)))
            if isinstance(exc, MissingObject):
                return Result(requeue_after=MISSING_WAIT)
            raise TerminalError(str(exc)) from None
        except NotFound as exc:
            await self._report(scope.cluster, status.topology_reconciled(scope.cluster, error=str(exc)))
            raise
        cp_kind = str((scope.desired.control_plane if scope.desired else {}).get("kind") or "ControlPlane")
        await self._report(scope.cluster, status.topology_reconciled(
            scope.cluster, class_not_reconciled=scope.class_not_reconciled, tracker=scope.tracker,
            control_plane_kind=cp_kind))
        return result

    async def _reconcile(self, scope: TopologyScope) -> Result:
        blueprint = await load_blueprint(scope)
        if scope.class_not_reconciled:
            return Result(requeue_after=MISSING_WAIT)
        external = external_patches(blueprint.cluster_class)
        if external:
            raise PatchError(f"ClusterClass {blueprint.cluster_class['metadata']['name']} uses external patches "
                             f"({', '.join(external)}), which need the Runtime SDK: herd does not run them")
        await load_current(scope, blueprint)
        scope.tracker = plan(scope.cluster, scope.current.control_plane, worker_states(scope))
        scope.blueprint = blueprint
        desired = scope.desired = compute(scope.cluster, blueprint, scope.current, scope.tracker)
        for phase in PHASES:
            await phase(scope, desired)
        # the control plane's and the MachineDeployments' events move an upgrade on; the look again is a safety net
        return Result(requeue_after=scope.io.poll_seconds) if scope.tracker.upgrading else Result()

    async def _report(self, cluster: Object, condition: Condition) -> None:
        await write_conditions(self.services.client, CLUSTER, cluster, [condition])
