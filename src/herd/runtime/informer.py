"""An informer keeps an exact local copy of one kind: list, then watch from the list's resourceVersion.

It resumes the watch from the last resourceVersion it saw (events or bookmarks) after a dropped
connection or a server restart, with exponential backoff while the server is away; when that
version has been compacted (410 Expired) it lists again and turns the difference between its copy
and the new list into synthetic add/update/delete notifications, so handlers converge too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .client import Client, WatchEvent
from .errors import ApiError, ClientError, Expired
from .objects import Kind, Object, ObjectKey, resource_version
from .store import Indexer, IndexFunc
from .waiting import wait_set

log = logging.getLogger("herd.runtime.informer")

_YIELD_EVERY = 200  # events handled before giving other tasks a turn during a burst


class EventHandler(Protocol):
    """Notified, in order, of every change the informer applies to its store. Must not block."""

    def on_add(self, obj: Object) -> None: ...

    def on_update(self, old: Object, new: Object) -> None: ...

    def on_delete(self, obj: Object) -> None: ...


@dataclass
class FuncHandler:
    """An EventHandler from optional callables."""

    add: Callable[[Object], None] | None = None
    update: Callable[[Object, Object], None] | None = None
    delete: Callable[[Object], None] | None = None

    def on_add(self, obj: Object) -> None:
        if self.add is not None:
            self.add(obj)

    def on_update(self, old: Object, new: Object) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: Object) -> None:
        if self.delete is not None:
            self.delete(obj)


@dataclass
class Backoff:
    """Exponential backoff with jitter (client-go's reflector: 0.8 s doubling up to 30 s)."""

    initial: float = 0.8
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    _next: float = field(default=0.0, init=False, repr=False)

    def next(self) -> float:
        """The delay to wait now; the following one grows."""
        base = self._next or self.initial
        self._next = min(base * self.factor, self.maximum)
        return base * (1 + self.jitter * random.random())

    def reset(self) -> None:
        self._next = 0.0


@dataclass
class InformerStats:
    """Counters tests and metrics read."""

    lists: int = 0
    watches: int = 0
    expired: int = 0
    events: int = 0
    errors: int = 0


class Informer:
    """List+watch one kind into an Indexer and notify handlers of each change."""

    def __init__(self, client: Client, kind: Kind, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 page_size: int | None = None, backoff: Backoff | None = None) -> None:
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.store = Indexer()
        self.stats = InformerStats()
        self._backoff = backoff or Backoff()
        self._handlers: list[EventHandler] = []
        self._resource_version = ""
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Informer({self.kind})"

    # ----- state -----

    @property
    def has_synced(self) -> bool:
        """Whether the first list has been applied: the store is a complete copy as of some version."""
        return self._synced.is_set()

    @property
    def resource_version(self) -> str:
        """The newest resourceVersion seen (from a list, an event or a bookmark)."""
        return self._resource_version

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until synced; False if `timeout` seconds pass first."""
        return await wait_set(self._synced, timeout)

    # ----- consumers -----

    def add_handler(self, handler: EventHandler) -> None:
        """Register a handler; if the store is already filled, it first gets an add for every object."""
        self._handlers.append(handler)
        if self.has_synced:
            for _, obj in self.store.items():
                _call(handler.on_add, obj)

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Add a named index to the store (objects already present are indexed)."""
        self.store.add_index(name, func)

    # ----- lifecycle -----

    def start(self) -> asyncio.Task[None]:
        """Run in the background (idempotent); resumes from the last resourceVersion if run before."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"informer-{self.kind}")
        return self._task

    async def stop(self) -> None:
        """Stop watching; the store and resourceVersion are kept for a later start()."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        """List (unless resuming), then watch, forever; handles reconnects, backoff and relists."""
        needs_list = not (self.has_synced and self._resource_version)
        while True:
            try:
                if needs_list:
                    await self._list()
                    needs_list = False
                started = time.monotonic()
                received = await self._watch()
                if received or time.monotonic() - started > 10:
                    self._backoff.reset()
                    continue  # the server ended a healthy watch: resume at once
                await asyncio.sleep(self._backoff.next())  # a watch that closes at once: don't spin
            except Expired as exc:
                self.stats.expired += 1
                log.info("%s: resourceVersion %s expired, listing again (%s)", self.kind,
                         self._resource_version, exc.message)
                needs_list = True
            except ClientError as exc:
                self.stats.errors += 1
                if isinstance(exc, ApiError) and exc.has_cause("ResourceVersionTooLarge"):
                    needs_list = True  # the server lost history we saw: only a list can reconcile
                delay = self._backoff.next()
                log.info("%s: watch failed (%s), retrying in %.1fs", self.kind, exc, delay)
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.errors += 1
                delay = self._backoff.next()
                log.exception("%s: informer failed, retrying in %.1fs", self.kind, delay)
                await asyncio.sleep(delay)

    # ----- list and watch -----

    async def _list(self) -> None:
        listed = await self.client.list(self.kind, namespace=self.namespace, label_selector=self.label_selector,
                                        field_selector=self.field_selector, page_size=self.page_size)
        self.stats.lists += 1
        await self._replace(listed.items)
        self._resource_version = listed.resource_version
        self._synced.set()

    async def _replace(self, items: list[Object]) -> None:
        """Make the store equal to `items`, notifying the difference (adds, changed objects, deletions)."""
        listed: set[ObjectKey] = set()
        for count, obj in enumerate(items, 1):
            key = ObjectKey.of(obj)
            listed.add(key)
            old = self.store.upsert(obj)
            if old is None:
                self._notify_add(obj)
            elif resource_version(old) != resource_version(obj):
                self._notify_update(old, obj)
            if count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
        for key in [k for k in self.store if k not in listed]:
            gone = self.store.remove(key)
            if gone is not None:
                self._notify_delete(gone)

    async def _watch(self) -> bool:
        """One watch request from the current resourceVersion; True if any event arrived."""
        self.stats.watches += 1
        received = False
        events = self.client.watch(self.kind, namespace=self.namespace, resource_version=self._resource_version,
                                   label_selector=self.label_selector, field_selector=self.field_selector)
        async with contextlib.aclosing(events):
            count = 0
            async for event in events:
                received = True
                self._apply(event)
                count += 1
                if count % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        return received

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        rv = resource_version(obj)
        if event.type == "BOOKMARK":
            if rv:
                self._resource_version = rv
            return
        self.stats.events += 1
        if event.type in ("ADDED", "MODIFIED"):
            old = self.store.upsert(obj)
            if old is None:
                self._notify_add(obj)
            else:
                self._notify_update(old, obj)
        elif event.type == "DELETED":
            gone = self.store.remove(ObjectKey.of(obj))
            if gone is not None:
                self._notify_delete(obj)
        else:
            log.warning("%s: ignoring watch event of type %r", self.kind, event.type)
        if rv:
            self._resource_version = rv

    def _notify_add(self, obj: Object) -> None:
        for handler in self._handlers:
            _call(handler.on_add, obj)

    def _notify_update(self, old: Object, new: Object) -> None:
        for handler in self._handlers:
            _call(handler.on_update, old, new)

    def _notify_delete(self, obj: Object) -> None:
        for handler in self._handlers:
            _call(handler.on_delete, obj)


def _call(func: Callable[..., None], *args: Object) -> None:
    """Run a handler; a failing handler is logged and never stops the informer."""
    try:
        func(*args)
    except Exception:
        log.exception("informer event handler %r failed", func)
