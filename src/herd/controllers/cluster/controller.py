"""The Cluster controller's reconcile: the shared skeleton, with the Cluster's scope, phases and status."""

from __future__ import annotations

import logging

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import CLUSTER_FINALIZER
from herd.contract.indexes import by_cluster
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.contract.references import ContractResolver, ExternalTracker, fetch_reference
from herd.runtime import Object, ObjectKey, Result
from herd.runtime.clustercache import ClusterCache

from . import status
from .deletion import reconcile_delete
from .phases import PHASES
from .scope import ClusterScope, Services


class ClusterReconciler(ObjectReconciler[Services, ClusterScope]):
    """Reconciles Clusters: provider objects, initialization, remote connection, status and deletion."""

    kind = CLUSTER
    finalizer = CLUSTER_FINALIZER
    log = logging.getLogger("herd.controllers.cluster")

    @property
    def cluster_cache(self) -> ClusterCache:
        return self.services.cluster_cache

    def cluster_of(self, obj: Object) -> Object | None:
        return obj  # a Cluster is its own: paused by its spec or its annotation

    async def reconcile_gone(self, key: ObjectKey) -> Result:
        await self.cluster_cache.disconnect(key)  # the Cluster is gone: so is the reason to talk to it
        return Result()

    async def load_scope(self, obj: Object, cluster: Object | None) -> ClusterScope:
        """Fetch the provider objects and descendants of a Cluster (descendants from the cache)."""
        io = self.services
        key = ObjectKey.of(obj)
        scope = ClusterScope(cluster=obj, services=io, health=self.cluster_cache.health(key),
                             remote_connection_grace_seconds=io.remote_connection_grace_seconds)
        spec = obj.get("spec") or {}
        if spec.get("infrastructureRef"):
            scope.infra_kind, scope.infra_cluster = await fetch_reference(
                io.resolver, io.tracker, spec["infrastructureRef"], key.namespace)
            scope.infra_cluster_not_found = scope.infra_cluster is None
        if spec.get("controlPlaneRef"):
            scope.control_plane_kind, scope.control_plane = await fetch_reference(
                io.resolver, io.tracker, spec["controlPlaneRef"], key.namespace)
            scope.control_plane_not_found = scope.control_plane is None
        # the cache's own objects: the Cluster only counts and reads them (and deletes by name)
        scope.machine_deployments = by_cluster(io.cache, MACHINE_DEPLOYMENT, key, copy=False)
        scope.machine_sets = by_cluster(io.cache, MACHINE_SET, key, copy=False)
        scope.set_machines(by_cluster(io.cache, MACHINE, key, copy=False))
        return scope

    async def reconcile_normal(self, scope: ClusterScope) -> Result:
        return await run_phases(scope, PHASES)

    async def reconcile_delete(self, scope: ClusterScope) -> Result:
        return await reconcile_delete(scope)

    def update_status(self, scope: ClusterScope) -> None:
        status.update_status(scope)


__all__ = ["ClusterReconciler", "ContractResolver", "ExternalTracker"]
