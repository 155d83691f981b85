"""The `TopologyReader` of `herd up`/`herd init`: ClusterClasses and the Clusters using them, from the manager's
cache (the ClusterClass and Cluster controllers keep informers on both kinds)."""

from __future__ import annotations

from typing import Any

from herd.runtime.cache import Cache, NotSynced

from .clusterclass_webhooks import class_key

Obj = dict[str, Any]


class CachedTopologyReader:
    """Reads through a cache given later (`bind`): the webhook server starts before the manager that owns it."""

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache = cache

    def bind(self, cache: Cache) -> None:
        """Read from this cache from now on."""
        self.cache = cache

    def _cache(self) -> Cache:
        if self.cache is None:
            raise LookupError("the controllers have not started yet")
        return self.cache

    def cluster_class(self, namespace: str, name: str) -> Obj | None:
        """The ClusterClass, or None; LookupError while the cache cannot tell."""
        from . import CLUSTER_CLASS

        try:
            return self._cache().get(CLUSTER_CLASS, namespace, name)
        except NotSynced as err:
            raise LookupError(str(err)) from None

    def clusters_using(self, namespace: str, name: str) -> list[Obj]:
        """The Clusters whose topology names the ClusterClass (in any namespace)."""
        from . import CLUSTER

        try:
            clusters = self._cache().list(CLUSTER, copy=False)
        except NotSynced as err:
            raise LookupError(str(err)) from None
        return [c for c in clusters if (c.get("spec") or {}).get("topology") and class_key(c) == (namespace, name)]
