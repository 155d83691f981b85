"""The reconcile every Cluster API controller runs, once: a subclass names its kind and finalizer and fills in
the parts that are its own (which objects to load, what to do, how to report).

    class MachineSetReconciler(ObjectReconciler[Services, MachineSetScope]):
        kind = MACHINE_SET
        finalizer = MACHINE_SET_FINALIZER
        log = logging.getLogger("herd.controllers.machineset")

        async def load_scope(self, obj, cluster): ...
        async def reconcile_normal(self, scope): ...
        async def reconcile_delete(self, scope): ...
        def update_status(self, scope): ...

The order is upstream's: the object from the cache (gone: `reconcile_gone`); its Cluster (missing while the
object is not being deleted: look again after `cluster_wait`, or wait for the Cluster's event when that is 0);
paused (the Cluster's `spec.paused` or the object's paused annotation: only the Paused condition is written);
the finalizer, added in a write of its own before anything else, so that deletion always waits for the
controller; then the scope is loaded and the normal or the deletion path runs inside one patch of the object,
whose status `update_status` computes even when a phase failed. A 409 Conflict anywhere is the runtime's quiet
requeue. An object without a finalizer has nothing to clean up: its deletion is not reconciled.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Generic, Protocol, TypeVar

from herd.api.cluster import CLUSTER
from herd.api.objects import is_paused
from herd.runtime import Cache, Client, Kind, Object, ObjectKey, Result, patch_helper
from herd.runtime.finalizers import add_finalizer, has_finalizer, is_deleting

from . import conditions as cond
from .phases import lowest_result


class HasClientAndCache(Protocol):
    """What the skeleton needs of a controller's services."""

    @property
    def client(self) -> Client: ...

    @property
    def cache(self) -> Cache: ...


ServicesT = TypeVar("ServicesT", bound=HasClientAndCache)
ScopeT = TypeVar("ScopeT")


class ObjectReconciler(Generic[ServicesT, ScopeT]):
    """The skeleton of a Cluster API reconcile; see the module's docstring for the order of its steps."""

    kind: ClassVar[Kind]
    finalizer: ClassVar[str] = ""  # "" when the controller has nothing to clean up on deletion
    log: ClassVar[logging.Logger]
    cluster_wait: float = 10.0  # seconds until a look again for a missing Cluster; 0: its creation event wakes us
    observed_generation: ClassVar[bool] = True  # False for kinds whose status has no observedGeneration

    def __init__(self, services: ServicesT) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        """Make the world match the object with this key."""
        io = self.services
        obj = io.cache.get(self.kind, key.namespace, key.name)
        if obj is None:
            return await self.reconcile_gone(key)
        if not self.handles(obj):
            return Result()
        deleting = is_deleting(obj)
        if deleting and not self.finalizer:
            return Result()
        cluster = self.cluster_of(obj)
        if cluster is None and not deleting:
            self.log.log(logging.INFO if self.cluster_wait else logging.DEBUG, "%s %s: waiting for Cluster %s",
                         self.kind.kind, key, self.cluster_name(obj) or "(not known yet)")
            return Result(requeue_after=self.cluster_wait)
        if is_paused(cluster, obj):
            # paused: report it and touch nothing else (observedGeneration says nothing was acted on)
            async with patch_helper(io.client, obj, kind=self.kind, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(cluster, paused))
            return Result()
        if self.finalizer and not deleting and not has_finalizer(obj, self.finalizer):
            # written before anything else, so that deleting the object always waits for this controller; the
            # patch refreshes `obj` from the server's answer, and the reconcile carries on with it
            async with patch_helper(io.client, obj, kind=self.kind, observed_generation=False) as patched:
                add_finalizer(patched, self.finalizer)
        scope = await self.load_scope(obj, cluster)
        result: Result | None = None
        wait = 0.0
        async with patch_helper(io.client, obj, kind=self.kind,  # the scope holds this same object
                                observed_generation=self.observed_generation) as patched:
            cond.apply(patched, cond.paused_condition(cluster, patched))
            self.prepare(patched, cluster)
            try:
                result = await (self.reconcile_delete(scope) if deleting else self.reconcile_normal(scope))
            finally:
                wait = self.update_status(scope) or 0.0
        result = result or Result()
        return lowest_result(result, Result(requeue_after=wait)) if wait > 0 else result

    # ----- what a controller may fill in -----

    def handles(self, obj: Object) -> bool:
        """Whether this controller reconciles the object at all (e.g. one backend of a provider kind)."""
        return True

    def cluster_name(self, obj: Object) -> str:
        """The name of the object's Cluster: `spec.clusterName` by default."""
        return str((obj.get("spec") or {}).get("clusterName") or "")

    def cluster_of(self, obj: Object) -> Object | None:
        """The object's Cluster from the cache (read only), or None while it does not exist."""
        name = self.cluster_name(obj)
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        return self.services.cache.get(CLUSTER, namespace, name, copy=False) if name else None

    async def reconcile_gone(self, key: ObjectKey) -> Result:
        """The object is no longer in the cache (deleted): let go of what was kept for it."""
        return Result()

    def prepare(self, obj: Object, cluster: Object | None) -> None:
        """Metadata every reconcile keeps in shape (labels, owners), set inside the patch before the phases."""

    async def load_scope(self, obj: Object, cluster: Object | None) -> ScopeT:
        """Everything this reconcile reads, around the object (which the patch then changes in place)."""
        raise NotImplementedError

    async def reconcile_normal(self, scope: ScopeT) -> Result | None:
        """The phases of an object that is not being deleted."""
        raise NotImplementedError

    async def reconcile_delete(self, scope: ScopeT) -> Result | None:
        """The phases of an object being deleted; removes the finalizer once nothing is left to wait for."""
        raise NotImplementedError

    def update_status(self, scope: ScopeT) -> float | None:
        """Compute the status from the scope (pure); may return seconds after which to look again."""
        return None
