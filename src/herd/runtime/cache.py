"""The shared cache: one informer per kind, shared by every controller of a manager, with indexes.

Reads are served from memory and hand out deep copies, so a reconcile may modify what it read.

Reads by key also see this manager's own writes before their watch events arrive: what the server answered to
a create, update or patch through the cache's client is kept aside until the informer has caught up with it (as
client-go's mutation cache does), so the next reconcile of an object does not redo what the last one wrote.
Lists and indexes show the informers' state only.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib

from .client import Client
from .informer import Backoff, FuncHandler, Informer
from .labels import Selector, as_selector
from .objects import Kind, Object, ObjectKey, deep_copy
from .store import IndexFunc


class NotSynced(RuntimeError):
    """A read of a kind whose informer has not finished its first list."""


class Cache:
    """Informers by kind; reads by key, namespace, label selector and named index."""

    def __init__(self, client: Client, *, namespace: str | None = None,
                 backoff: type[Backoff] | None = None) -> None:
        self.client = client
        self.namespace = namespace  # restrict every namespaced informer to one namespace
        self._backoff = backoff or Backoff
        self._informers: dict[Kind, Informer] = {}
        self._started = False
        self._recent: dict[tuple[Kind, ObjectKey], Object] = {}  # own writes the informers have not seen yet
        if client is not None:  # tests build caches without a client
            client.observe_writes(self._observe_write)

    # ----- informers -----

    def informer(self, kind: Kind) -> Informer:
        """The shared informer for a kind, created on first use (and started if the cache runs)."""
        found = self._informers.get(kind)
        if found is None:
            found = self._informers[kind] = Informer(
                self.client, kind, namespace=self.namespace if kind.namespaced else None, backoff=self._backoff())
            found.add_handler(FuncHandler(add=lambda obj: self._caught_up(kind, obj),
                                          update=lambda _, obj: self._caught_up(kind, obj),
                                          delete=lambda obj: self._forget(kind, obj)))
            if self._started:
                found.start()
        return found

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def add_index(self, kind: Kind, name: str, func: IndexFunc) -> None:
        """Add a named index on a kind, e.g. Machines by cluster-name label, Nodes by spec.providerID."""
        self.informer(kind).add_index(name, func)

    async def start(self) -> None:
        """Start every informer (and any created later)."""
        self._started = True
        for informer in self._informers.values():
            informer.start()

    async def stop(self) -> None:
        """Stop every informer."""
        self._started = False
        await asyncio.gather(*(informer.stop() for informer in self._informers.values()))

    @property
    def synced(self) -> bool:
        return all(informer.has_synced for informer in self._informers.values())

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until every informer has synced; False if `timeout` seconds pass first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self.synced:  # informers may be added while waiting
                    await asyncio.gather(*(i.wait_for_sync() for i in list(self._informers.values())))
                return True
        return False

    # ----- reads -----

    def _synced_informer(self, kind: Kind) -> Informer:
        informer = self.informer(kind)
        if not informer.has_synced:
            raise NotSynced(f"the cache for {kind} has not synced: register the kind before the manager starts")
        return informer

    def get(self, kind: Kind, namespace: str | None, name: str, *, copy: bool = True) -> Object | None:
        """The object, or None if the cache has no such object."""
        key = ObjectKey((namespace or "") if kind.namespaced else "", name)
        obj = self._synced_informer(kind).store.get(key)
        recent = self._recent.get((kind, key)) if self._recent else None
        if recent is not None:
            obj = recent
        if obj is None:
            return None
        return deep_copy(obj) if copy else obj

    def listed(self, kind: Kind, key: ObjectKey) -> Object | None:
        """The object as lists and indexes show it now (the informer's own, read only): to wait until a
        count over a list includes what was just written."""
        return self._synced_informer(kind).store.get(key)

    # ----- own writes -----

    def _observe_write(self, kind: Kind, obj: Object) -> None:
        informer = self._informers.get(kind)
        if informer is None or not (obj.get("metadata") or {}).get("name"):
            return  # a kind nobody reads from this cache
        key = ObjectKey.of(obj)
        if informer.namespace and key.namespace != informer.namespace:
            return
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._recent.pop((kind, key), None)  # the write removed the last finalizer: the object is gone
            return
        seen = self._recent.get((kind, key)) or informer.store.get(key)
        if seen is None:
            # not listed: created just now, or deleted since this write (then the informer is past it already)
            written, listed = _resource_version(obj), _version_number(informer.resource_version)
            if written is not None and (listed is None or listed < written):
                self._recent[(kind, key)] = deep_copy(obj)  # the caller keeps and may change its own
        elif _newer(obj, seen):
            self._recent[(kind, key)] = deep_copy(obj)

    def _forget(self, kind: Kind, obj: Object) -> None:
        self._recent.pop((kind, ObjectKey.of(obj)), None)

    def _caught_up(self, kind: Kind, obj: Object) -> None:
        recent = self._recent.get((kind, ObjectKey.of(obj)))
        if recent is not None and not _newer(recent, obj):
            del self._recent[(kind, ObjectKey.of(obj))]

    def get_by_key(self, kind: Kind, key: ObjectKey, *, copy: bool = True) -> Object | None:
        return self.get(kind, key.namespace, key.name, copy=copy)

    def list(self, kind: Kind, *, namespace: str | None = None,
             label_selector: str | dict[str, str] | Selector | None = None, copy: bool = True) -> builtins.list[Object]:
        """Objects of a kind (in a namespace, matching a label selector), sorted by namespace/name."""
        objects = self._synced_informer(kind).store.list(namespace, as_selector(label_selector))
        return [deep_copy(obj) for obj in objects] if copy else objects

    def by_index(self, kind: Kind, index: str, value: str, *, copy: bool = True) -> builtins.list[Object]:
        """Objects found under `value` in the named index."""
        objects = self._synced_informer(kind).store.by_index(index, value)
        return [deep_copy(obj) for obj in objects] if copy else objects


def _version_number(version: object) -> int | None:
    try:
        return int(str(version or ""))
    except ValueError:  # resource versions are opaque; the API servers herd meets number them
        return None


def _resource_version(obj: Object) -> int | None:
    return _version_number((obj.get("metadata") or {}).get("resourceVersion"))


def _newer(a: Object, b: Object) -> bool:
    """Whether `a` is a later version of the object than `b` (False when that cannot be told)."""
    version_a, version_b = _resource_version(a), _resource_version(b)
    return version_a is not None and version_b is not None and version_a > version_b
