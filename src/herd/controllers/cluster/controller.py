"""The Cluster controller: watches, and a reconcile that fetches a scope, runs the phases and patches once."""

from __future__ import annotations

import logging

from herd.api.cluster.labels import CLUSTER_FINALIZER
from herd.controllers import conditions as cond
from herd.controllers.external import ContractResolver, ExternalTracker, ProviderKind
from herd.controllers.kinds import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET, by_cluster
from herd.controllers.runner import run_phases
from herd.runtime import Conflict, NotFound, Object, ObjectKey, Result, patch_helper
from herd.runtime.clustercache import ClusterCache

from . import status
from .deletion import reconcile_delete
from .phases import PHASES
from .scope import ClusterScope, Services

log = logging.getLogger("herd.controllers.cluster")


class ClusterReconciler:
    """Reconciles Clusters: provider objects, initialization, remote connection, status and deletion."""

    def __init__(self, services: Services, *, remote_connection_grace_seconds: float = 300.0) -> None:
        self.services = services
        self.remote_connection_grace_seconds = remote_connection_grace_seconds

    @property
    def cluster_cache(self) -> ClusterCache:
        return self.services.cluster_cache

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the world match the Cluster with this key."""
        try:
            return await self._reconcile(key)
        except Conflict as exc:  # someone wrote an object we were writing too: look again, quietly
            log.info("cluster %s: %s; trying again", key, exc)
            return Result(requeue=True)

    async def _reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        cluster = io.cache.get(CLUSTER, key.namespace, key.name)
        if cluster is None:
            await self.cluster_cache.disconnect(key)  # the Cluster is gone: so is the reason to talk to it
            return Result()
        if cond.is_paused(cluster, cluster):
            # paused: report it and touch nothing else (observedGeneration says nothing was acted on)
            async with patch_helper(io.client, cluster, kind=CLUSTER, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(paused, paused))
            return Result()
        scope = await self.load_scope(cluster)
        result = Result()
        async with patch_helper(io.client, cluster, kind=CLUSTER) as obj:
            cond.apply(obj, cond.paused_condition(obj, obj))
            finalizers = obj["metadata"].setdefault("finalizers", [])
            try:
                if scope.deleting:
                    result = await reconcile_delete(scope)
                elif CLUSTER_FINALIZER not in finalizers:
                    finalizers.append(CLUSTER_FINALIZER)  # before anything else, so deletion always waits for us
                else:
                    result = await run_phases(scope, PHASES)
            finally:
                status.update_status(scope)
        if scope.deleting and CLUSTER_FINALIZER not in (cluster["metadata"].get("finalizers") or []):
            await self.cluster_cache.disconnect(key)
        return result

    async def load_scope(self, cluster: Object) -> ClusterScope:
        """Fetch the provider objects and descendants of a Cluster (descendants from the cache)."""
        io = self.services
        key = ObjectKey.of(cluster)
        scope = ClusterScope(cluster=cluster, services=io, health=self.cluster_cache.health(key),
                             remote_connection_grace_seconds=self.remote_connection_grace_seconds)
        spec = cluster.get("spec") or {}
        if spec.get("infrastructureRef"):
            scope.infra_kind, scope.infra_cluster = await self._fetch(spec["infrastructureRef"], key.namespace)
            scope.infra_cluster_not_found = scope.infra_cluster is None
        if spec.get("controlPlaneRef"):
            scope.control_plane_kind, scope.control_plane = await self._fetch(spec["controlPlaneRef"], key.namespace)
            scope.control_plane_not_found = scope.control_plane is None
        # the cache's own objects: the Cluster only counts and reads them (and deletes by name)
        scope.machine_deployments = by_cluster(io.cache, MACHINE_DEPLOYMENT, key, copy=False)
        scope.machine_sets = by_cluster(io.cache, MACHINE_SET, key, copy=False)
        scope.set_machines(by_cluster(io.cache, MACHINE, key, copy=False))
        return scope

    async def _fetch(self, ref: dict[str, str], namespace: str) -> tuple[ProviderKind | None, Object | None]:
        try:
            provider_kind = await self.services.resolver.resolve(ref)
        except NotFound:
            return None, None  # no CRD serves the kind: no such object can exist
        obj = await self.services.tracker.get(provider_kind.kind, namespace, ref["name"], copy=False)  # read only
        return provider_kind, obj


__all__ = ["ClusterReconciler", "ContractResolver", "ExternalTracker"]
