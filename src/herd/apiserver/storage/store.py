"""The watch cache in front of a backend: every read is served from memory.

Writes check and assign their revision synchronously on the event loop, update memory at once,
and queue their row. One committer task appends each queued batch to the backend (group commit)
and, once it is durable, hands the events to watchers strictly in revision order before waking
the writers. A ring of the last `window` events lets watches resume without a gap or duplicate.

Reads may show a revision before it is durable, so a crash could lose what a client saw. The store
therefore never assigns a revision above a ceiling the backend has made durable (reserved well ahead,
so writers rarely wait); after a crash the backend starts past that ceiling, and a watch resuming from
a revision that may have been lost is answered "compacted" (410), so the client relists instead of
silently missing events or keeping objects that were never stored.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson

from herd.apiserver.storage.base import (
    Backend,
    CompactedError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    LoadedState,
    Record,
    RevisionConflictError,
    Row,
    StorageError,
    WatchEvent,
)
from herd.apiserver.storage.memory import KeyIndex

log = logging.getLogger(__name__)


def _stamp(value: dict[str, Any], revision: int) -> dict[str, Any]:
    """A shallow copy of `value` whose metadata carries the revision; the caller's dict is untouched."""
    meta = value.get("metadata")
    stamped = dict(meta) if isinstance(meta, dict) else {}
    stamped["resourceVersion"] = str(revision)
    out = dict(value)
    out["metadata"] = stamped
    return out


class StoreWatch:
    """One watch: an async iterator of events; `close()` ends the iteration promptly."""

    def __init__(self, store: Store, prefix: str, after_revision: int) -> None:
        self.prefix = prefix
        self._store = store
        self._after = after_revision
        self._events: deque[WatchEvent] = deque()  # unbounded: a slow reader never blocks writers
        self._wakeup = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the watch has ended (closed by its reader, or by the store)."""
        return self._closed

    def _push(self, event: WatchEvent) -> None:
        if event.revision > self._after:  # events committed after registration may predate `after`
            self._events.append(event)
            self._wakeup.set()

    def __aiter__(self) -> StoreWatch:
        return self

    async def __anext__(self) -> WatchEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._events:
                return self._events.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        """Stop the watch; a pending or later `__anext__` ends the iteration."""
        if not self._closed:
            self._closed = True
            self._events.clear()
            self._wakeup.set()
            self._store._unregister(self)


@dataclass(slots=True)
class _Pending:
    """A write whose revision is assigned and whose row awaits the backend."""

    row: Row
    event: WatchEvent
    record: Record
    future: asyncio.Future[Record]


class Store:
    """The watch cache: in-memory reads, durable ordered writes, resumable watches."""

    compact_every_writes = 1_000  # compact after this many writes...
    compact_interval = 30.0  # ...or after this many seconds, whichever comes first
    reserve_ahead = 10_000  # revisions reserved at once; half of it used triggers the next reservation

    def __init__(self, backend: Backend, *, window: int = 10_000) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._backend = backend
        self._window = window
        self._index = KeyIndex()
        self._revision = 0  # newest assigned
        self._delivered = 0  # newest durable and handed to watchers
        self._compacted = 0
        self._ceiling = 0  # durable: no revision above it is assigned
        self._reservation: asyncio.Task[None] | None = None
        self._reserve_error: Exception | None = None
        self._lost = (0, 0)  # revisions (after, through] a crash may have lost
        self._ring: deque[WatchEvent] = deque()
        self._ring_start = 0  # the ring holds every event with a revision above this
        self._queue: list[_Pending] = []
        self._queue_ready = asyncio.Event()
        self._watchers: dict[str, set[StoreWatch]] = {}
        self._writes_since_compact = 0
        self._compact_wanted = asyncio.Event()
        self._compact_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._state = "new"  # new -> running -> closing -> closed
        self._failure: BaseException | None = None

    # ----- lifecycle -----

    async def start(self) -> None:
        """Load state from the backend, then start the committer and periodic compaction."""
        if self._state != "new":
            raise StorageError(f"store cannot start: it is {self._state}")
        loaded = await asyncio.to_thread(self._backend.load, self._window)
        self._restore(loaded)
        await self._backend.reserve(self._revision + self.reserve_ahead)
        self._ceiling = self._revision + self.reserve_ahead
        self._state = "running"
        self._tasks = [
            asyncio.create_task(self._commit_loop(), name="store-committer"),
            asyncio.create_task(self._compact_loop(), name="store-compactor"),
        ]

    async def close(self) -> None:
        """Commit queued writes, stop compaction, end every watch, close the backend."""
        if self._state in ("closing", "closed"):
            return
        started = self._state == "running"
        self._state = "closing"
        self._queue_ready.set()
        self._compact_wanted.set()
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._reservation is not None:
            await asyncio.gather(self._reservation, return_exceptions=True)
        self._close_watches()
        if started and self._failure is None:
            with contextlib.suppress(Exception):  # every row is durable: the next start needs no gap
                await self._backend.reserve(self._revision, clean=True)
        await self._backend.close()
        self._state = "closed"

    def _restore(self, loaded: LoadedState) -> None:
        decoded: dict[int, dict[str, Any]] = {}  # rows in both `current` and `recent` are decoded once

        def value(row: Row) -> dict[str, Any]:
            found = decoded.get(row.revision)
            if found is None:
                found = decoded[row.revision] = orjson.loads(row.value)
            return found

        recent = loaded.recent
        self._ring_start = loaded.compacted_revision
        if recent and len(recent) >= self._window:  # older rows may exist on disk but are not loaded
            self._ring_start = max(self._ring_start, recent[0].revision - 1)
        last: dict[str, dict[str, Any]] = {}  # each key's latest value, for prev_value
        for row in loaded.previous:  # states replaced by the first recent row of their key
            last[row.key] = value(row)
        for row in recent:
            val = value(row)
            if row.revision > self._ring_start:
                kind: EventType = "DELETED" if row.deleted else "ADDED" if row.created else "MODIFIED"
                prev = None if row.created else last.get(row.key)
                self._ring.append(WatchEvent(kind, row.key, row.revision, val, prev))
            if row.deleted:
                last.pop(row.key, None)
            else:
                last[row.key] = val
        self._index.load(Record(r.key, r.revision, r.create_revision, value(r)) for r in loaded.current)
        self._revision = self._delivered = self._ceiling = loaded.revision
        self._compacted = loaded.compacted_revision
        self._lost = (loaded.lost_after, loaded.lost_through)
        self._ring_start = max(self._ring_start, loaded.resume_floor)

    # ----- reads -----

    @property
    def failed(self) -> bool:
        """Whether the backend failed (a write could not be made durable); the store serves nothing since."""
        return self._failure is not None

    @property
    def revision(self) -> int:
        """The newest assigned revision (0 when nothing was ever written)."""
        return self._revision

    @property
    def dispatched_revision(self) -> int:
        """Newest revision that is durable and handed to every watcher (safe for a bookmark)."""
        return self._delivered

    @property
    def oldest_watchable_revision(self) -> int:
        """A watch may start after any revision >= this one."""
        return self._ring_start

    def get(self, key: str) -> Record | None:
        """The current record of `key`, if any."""
        return self._index.items.get(key)

    def list(self, prefix: str) -> tuple[builtins.list[Record], int]:
        """Records whose key starts with `prefix`, sorted by key, and the store's revision."""
        return self._index.scan(prefix), self._revision

    # ----- writes -----

    async def create(self, key: str, value: dict[str, Any]) -> Record:
        """Store a new key; raises KeyExistsError if it is present."""
        self._check_writable()
        if self._revision >= self._ceiling:
            await self._wait_for_ceiling()
        if key in self._index.items:
            raise KeyExistsError(key)
        rev = self._revision + 1
        stamped = _stamp(value, rev)
        row = Row(rev, key, rev, 0, True, False, orjson.dumps(stamped))  # encode before changing state
        record = Record(key, rev, rev, stamped)
        self._revision = rev
        self._index.put(record)
        return await self._enqueue(row, WatchEvent("ADDED", key, rev, stamped), record)

    async def update(self, key: str, value: dict[str, Any], expected_revision: int | None = None) -> Record:
        """Replace a key's value; raises KeyNotFoundError or RevisionConflictError."""
        self._check_writable()
        if self._revision >= self._ceiling:
            await self._wait_for_ceiling()
        current = self._current(key, expected_revision)
        rev = self._revision + 1
        stamped = _stamp(value, rev)
        row = Row(rev, key, current.create_revision, current.revision, False, False, orjson.dumps(stamped))
        record = Record(key, rev, current.create_revision, stamped)
        self._revision = rev
        self._index.put(record)
        return await self._enqueue(row, WatchEvent("MODIFIED", key, rev, stamped, current.value), record)

    async def delete(self, key: str, expected_revision: int | None = None) -> Record:
        """Remove a key; returns its last state stamped with the deletion revision."""
        self._check_writable()
        if self._revision >= self._ceiling:
            await self._wait_for_ceiling()
        current = self._current(key, expected_revision)
        rev = self._revision + 1
        stamped = _stamp(current.value, rev)
        row = Row(rev, key, current.create_revision, current.revision, False, True, orjson.dumps(stamped))
        record = Record(key, rev, current.create_revision, stamped)
        self._revision = rev
        self._index.remove(key)
        return await self._enqueue(row, WatchEvent("DELETED", key, rev, stamped, current.value), record)

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise StorageError(f"store failed: {self._failure}") from self._failure
        if self._state != "running":
            raise StorageError(f"store is {self._state}")

    def _current(self, key: str, expected_revision: int | None) -> Record:
        current = self._index.items.get(key)
        if current is None:
            raise KeyNotFoundError(key)
        if expected_revision is not None and expected_revision != current.revision:
            raise RevisionConflictError(key, expected_revision, current.revision)
        return current

    def _enqueue(self, row: Row, event: WatchEvent, record: Record) -> asyncio.Future[Record]:
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(row, event, record, future))
        self._queue_ready.set()
        if self._reservation is None and self._ceiling - self._revision < self.reserve_ahead // 2:
            self._reservation = asyncio.create_task(self._reserve(self._revision + self.reserve_ahead))
        return future

    async def _reserve(self, ceiling: int) -> None:
        try:
            await self._backend.reserve(ceiling)
        except Exception as exc:  # writers waiting on the ceiling report it; later writes try again
            log.error("storage could not reserve revisions: %s", exc)
            self._reserve_error = exc
        else:
            self._ceiling = max(self._ceiling, ceiling)
            self._reserve_error = None
        finally:
            self._reservation = None

    async def _wait_for_ceiling(self) -> None:
        """Block a writer until the durable ceiling is above the current revision (rare: it is kept ahead)."""
        while self._revision >= self._ceiling:
            self._check_writable()
            if self._reservation is None:
                self._reservation = asyncio.create_task(self._reserve(self._revision + self.reserve_ahead))
            await asyncio.shield(self._reservation)
            if self._revision >= self._ceiling and self._reserve_error is not None:
                raise StorageError(f"cannot reserve revisions: {self._reserve_error}") from self._reserve_error

    async def _commit_loop(self) -> None:
        """The single committer: append batches in revision order, then deliver, then wake writers."""
        while True:
            if not self._queue:
                if self._state != "running":
                    return
                self._queue_ready.clear()
                await self._queue_ready.wait()
                continue
            batch, self._queue = self._queue, []
            try:
                await self._backend.append([p.row for p in batch])
            except Exception as exc:
                self._fail(exc, batch)
                return
            self._deliver(batch)

    def _deliver(self, batch: builtins.list[_Pending]) -> None:
        for pending in batch:
            event = pending.event
            self._ring.append(event)
            for prefix, watches in self._watchers.items():
                if event.key.startswith(prefix):
                    for watch in watches:
                        watch._push(event)
            self._delivered = event.revision
        while len(self._ring) > self._window:
            self._ring_start = self._ring.popleft().revision
        for pending in batch:
            if not pending.future.done():  # a cancelled writer's row is committed all the same
                pending.future.set_result(pending.record)
        self._writes_since_compact += len(batch)
        if self._writes_since_compact >= self.compact_every_writes:
            self._compact_wanted.set()

    def _fail(self, exc: BaseException, batch: builtins.list[_Pending]) -> None:
        """Memory is ahead of the durable log now, so refuse all further writes and end every watch."""
        log.error("storage append failed; the store refuses further writes: %s", exc)
        self._failure = exc
        for pending in batch + self._queue:
            if not pending.future.done():
                err = StorageError(f"append failed: {exc}")
                err.__cause__ = exc
                pending.future.set_exception(err)
        self._queue = []
        self._close_watches()

    # ----- watches -----

    def watch(self, prefix: str, after_revision: int) -> StoreWatch:
        """Events with revision > after_revision under `prefix`: replayed from the ring, then live."""
        self._check_writable()
        if after_revision < self._ring_start:
            raise CompactedError(after_revision, self._ring_start)
        lost_after, lost_through = self._lost
        if lost_after < after_revision <= lost_through:  # what the client saw there may never have been stored
            raise CompactedError(after_revision, lost_through + 1)
        watch = StoreWatch(self, prefix, after_revision)
        replay: builtins.list[WatchEvent] = []
        for event in reversed(self._ring):  # resumes are usually recent: walk back from the newest
            if event.revision <= after_revision:
                break
            if event.key.startswith(prefix):
                replay.append(event)
        watch._events.extend(reversed(replay))
        if replay:
            watch._wakeup.set()
        self._watchers.setdefault(prefix, set()).add(watch)  # no await since the replay: no gap
        return watch

    def _unregister(self, watch: StoreWatch) -> None:
        watches = self._watchers.get(watch.prefix)
        if watches is not None:
            watches.discard(watch)
            if not watches:
                del self._watchers[watch.prefix]

    def show_as_read(self, record: Record, value: dict[str, Any]) -> None:
        """Cache `value` as what reading `record` from storage shows now (its CRD's defaults changed): same key,
        same revision, no watch event, the durable row untouched. Nothing is done when the key was written
        since `record`."""
        if self._index.items.get(record.key) is record:
            self._index.put(Record(record.key, record.revision, record.create_revision, value))

    def end_watches(self, prefix: str) -> None:
        """End every watch of a key range under `prefix` (a resource no longer served)."""
        ending = [watch for watched, watches in self._watchers.items() if watched.startswith(prefix)
                  for watch in watches]
        for watch in ending:  # closing unregisters: not while iterating the registry
            watch.close()

    def _close_watches(self) -> None:
        for watches in builtins.list(self._watchers.values()):
            for watch in builtins.list(watches):
                watch.close()

    # ----- compaction -----

    async def compact(self) -> int:
        """Compact the backend now, keeping the last `window` revisions; returns the compacted revision."""
        async with self._compact_lock:
            target = self._delivered - self._window
            if target > self._compacted:
                await self._backend.compact(target)
                self._compacted = target
            return self._compacted

    async def _compact_loop(self) -> None:
        while self._state == "running":
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.compact_interval):
                    await self._compact_wanted.wait()
            if self._state != "running":
                return
            self._compact_wanted.clear()
            self._writes_since_compact = 0
            try:
                await self.compact()
            except Exception:
                log.exception("storage compaction failed")
