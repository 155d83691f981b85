"""For a provider that writes its controllers by hand (the Dev provider) rather than through `InfrastructureProvider`:
the reconcile skeleton with a provider's defaults, and how an infrastructure machine finds its Machine and Cluster."""

from __future__ import annotations

import logging
from typing import TypeVar

from herd.api.cluster import GROUP as CLUSTER_GROUP
from herd.api.cluster import MACHINE
from herd.api.objects import nested
from herd.contract.objects import owner_cluster_name, owner_named
from herd.contract.reconciler import HasClientAndCache, ObjectReconciler
from herd.runtime import Cache, Object

ServicesT = TypeVar("ServicesT", bound=HasClientAndCache)
ScopeT = TypeVar("ScopeT")


class ProviderReconciler(ObjectReconciler[ServicesT, ScopeT]):
    """herd.contract's reconcile skeleton (fetch, owner Cluster, paused, finalizer, one patch) as an infrastructure
    object needs it: the owner's events bring the object back (no polling for a missing Cluster), and its status has
    no observedGeneration. A cluster kind's Cluster is its owner."""

    log = logging.getLogger("herd.providers")
    cluster_wait = 0.0
    observed_generation = False

    def cluster_name(self, obj: Object) -> str:
        return owner_cluster_name(obj) or ""


def owner_machine(cache: Cache, obj: Object) -> Object | None:
    """The Machine owning an infrastructure machine (the cache's copy: read only), None until the Machine controller
    has set itself as owner."""
    name = owner_named(obj, CLUSTER_GROUP, "Machine")
    namespace = str(nested(obj, "metadata", "namespace") or "")
    return cache.get(MACHINE, namespace, name, copy=False) if name else None


class MachineReconcilerBase(ProviderReconciler[ServicesT, ScopeT]):
    """A machine kind's skeleton: its Cluster is its Machine's (`spec.clusterName`); until the Machine controller
    sets itself as owner, the object waits for the Machine's event."""

    def machine_of(self, obj: Object) -> Object | None:
        return owner_machine(self.services.cache, obj)

    def cluster_name(self, obj: Object) -> str:
        return str(nested(self.machine_of(obj), "spec", "clusterName") or "")
