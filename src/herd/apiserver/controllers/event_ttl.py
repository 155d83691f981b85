"""Events expire an hour after they were last written, as kube-apiserver's `--event-ttl` makes them.

kube-apiserver attaches every Event write to an etcd lease of the TTL, so an Event disappears once nobody has
written it for that long (a repeat that raises its count starts the hour again). Here each write seen on the
store's watch sets the Event's deadline to now + TTL; Events found at start (or after a relist) count from the
newest of their timestamps. A deadline that passes with the Event unchanged since deletes it (a plain storage
delete, like a lease's: finalizers do not hold an Event).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from datetime import datetime
from typing import Any

from ..builtins import EVENTS
from ..storage.base import CompactedError, KeyNotFoundError, RevisionConflictError, StorageError, WatchEvent
from ..storage.store import Store

log = logging.getLogger(__name__)

DEFAULT_EVENT_TTL = 3600.0
_MAX_SLEEP = 60.0  # a deadline is at most this late after a clock jump or a relist


def last_written(event: dict[str, Any]) -> float:
    """The newest time the Event says it was written (its creation, last repeat or series observation)."""
    series = event.get("series") if isinstance(event.get("series"), dict) else {}
    stamps = (event.get("lastTimestamp"), event.get("eventTime"), (series or {}).get("lastObservedTime"),
              (event.get("metadata") or {}).get("creationTimestamp"))
    newest = 0.0
    for stamp in stamps:
        if isinstance(stamp, str) and stamp:
            with contextlib.suppress(ValueError):
                newest = max(newest, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    return newest


class EventExpiry:
    """Deletes each Event `ttl` seconds after its last write; `run()` until cancelled."""

    def __init__(self, store: Store, ttl: float = DEFAULT_EVENT_TTL) -> None:
        if ttl <= 0:
            raise ValueError(f"the event TTL must be positive, got {ttl}")
        self.store = store
        self.ttl = ttl
        self._deadlines: list[tuple[float, str, int]] = []  # (wall-clock deadline, key, revision) min-heap
        self._changed = asyncio.Event()

    async def run(self) -> None:
        worker = asyncio.ensure_future(self._expire())
        try:
            await self._follow()
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _follow(self) -> None:
        prefix = EVENTS.storage_prefix
        while True:
            records, revision = self.store.list(prefix)
            self._deadlines = [(last_written(r.value) + self.ttl, r.key, r.revision) for r in records]
            heapq.heapify(self._deadlines)
            self._changed.set()
            try:
                watch = self.store.watch(prefix, revision)
            except CompactedError:
                continue
            except StorageError:
                return  # the store is closing
            try:
                async for event in watch:
                    self._observe(event)
            finally:
                watch.close()

    def _observe(self, event: WatchEvent) -> None:
        if event.type == "DELETED":
            return  # its deadline finds nothing at that revision and is dropped
        heapq.heappush(self._deadlines, (time.time() + self.ttl, event.key, event.revision))
        if self._deadlines[0][1] == event.key:
            self._changed.set()

    async def _expire(self) -> None:
        while True:
            now = time.time()
            while self._deadlines and self._deadlines[0][0] <= now:
                _, key, revision = heapq.heappop(self._deadlines)
                await self._delete(key, revision)
            wait = min(_MAX_SLEEP, self._deadlines[0][0] - now) if self._deadlines else _MAX_SLEEP
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=max(wait, 0.0))

    async def _delete(self, key: str, revision: int) -> None:
        current = self.store.get(key)
        if current is None or current.revision != revision:
            return  # deleted, or written since: a later deadline covers it
        try:
            await self.store.delete(key, expected_revision=revision)
        except (KeyNotFoundError, RevisionConflictError):
            return
        except StorageError as exc:
            log.debug("expired event %s not deleted: %s", key, exc)
