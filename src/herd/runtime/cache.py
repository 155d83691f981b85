"""The shared cache: one informer per kind, shared by every controller of a manager, with indexes.

Reads are served from memory and hand out deep copies, so a reconcile may modify what it read.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib

from .client import Client
from .informer import Backoff, Informer
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

    # ----- informers -----

    def informer(self, kind: Kind) -> Informer:
        """The shared informer for a kind, created on first use (and started if the cache runs)."""
        found = self._informers.get(kind)
        if found is None:
            found = self._informers[kind] = Informer(
                self.client, kind, namespace=self.namespace if kind.namespaced else None, backoff=self._backoff())
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
        obj = self._synced_informer(kind).store.get(ObjectKey((namespace or "") if kind.namespaced else "", name))
        if obj is None:
            return None
        return deep_copy(obj) if copy else obj

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
