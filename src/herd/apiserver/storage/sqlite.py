"""A kine-style SQLite backend: one append-only table of rows whose id is the global revision.

One writer thread owns the write connection. It drains its queue, writes every queued append in a
single transaction (group commit), commits with `synchronous=FULL` in WAL mode, and only then
resolves each caller's future, in queue order. An acknowledged append therefore survives kill -9
and power loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import pathlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from herd.apiserver.storage.base import LoadedState, Row, StorageError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_COLUMNS = "id, name, created, deleted, create_revision, prev_revision, value"
_INSERT = f"INSERT INTO kine ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"

# The latest row of each key, via the (name, id) index, keeping only keys whose latest row is live.
_SELECT_CURRENT = f"""
SELECT {", ".join("k." + c.strip() for c in _COLUMNS.split(","))}
FROM kine AS k JOIN (SELECT MAX(id) AS id FROM kine GROUP BY name) AS m ON k.id = m.id
WHERE k.deleted = 0
"""

_SELECT_RECENT = f"SELECT {_COLUMNS} FROM kine ORDER BY id DESC LIMIT ?"

_SELECT_BY_IDS = f"SELECT {_COLUMNS} FROM kine WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"

# Rows superseded by a newer row of their key, or deletion rows, up to the target revision. Only keys
# written after the previous compaction can have new superseded rows: older ones were removed then.
_COMPACT = """
DELETE FROM kine WHERE id IN (
    SELECT k.id FROM kine AS k
    WHERE k.name IN (SELECT name FROM kine WHERE id > :prev)
      AND k.id <= :rev
      AND (k.deleted = 1 OR EXISTS (SELECT 1 FROM kine AS n WHERE n.name = k.name AND n.id > k.id))
)
"""

_SET_META = (
    "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"
)

_FILE_MODE = 0o600


@dataclass(slots=True)
class _Job:
    """One request to the writer thread: rows to append, or other `work` run in its own transaction."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    rows: list[Row] | None = None
    work: Callable[[], None] | None = None


def _row_params(row: Row) -> tuple[int, str, int, int, int, int, bytes]:
    return (
        row.revision, row.key, int(row.created), int(row.deleted),
        row.create_revision, row.prev_revision, row.value,
    )


def _to_row(r: Sequence[Any]) -> Row:
    return Row(
        revision=r[0], key=r[1], created=bool(r[2]), deleted=bool(r[3]),
        create_revision=r[4], prev_revision=r[5], value=bytes(r[6]),
    )


def _resolve(jobs: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """Runs on the event loop: settle futures in the order the writer finished their jobs."""
    for fut, exc in jobs:
        if fut.done():  # the caller was cancelled; the rows are durable regardless
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)


def _meta(conn: sqlite3.Connection, name: str) -> int:
    found = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return int(found[0]) if found else 0


def _record_crash(conn: sqlite3.Connection, state: LoadedState, reserved: int, path: pathlib.Path) -> None:
    """After a crash, start past the reserved ceiling and remember which revisions may have been lost.

    Readers may have been shown any revision up to `reserved`, so none of them is handed out again. An
    earlier crash's lost range becomes a floor: watches from before it relist too (they are that old).
    """
    durable = state.revision
    state.resume_floor = max(state.resume_floor, state.lost_through)
    state.lost_after, state.lost_through = durable, reserved
    state.revision = reserved + 1  # a fresh revision: a list right after the restart is outside the lost range
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    for name, value in (("lost_after", state.lost_after), ("lost_through", state.lost_through),
                        ("resume_floor", state.resume_floor), ("reserved", state.revision), ("clean", 0)):
        conn.execute(_SET_META, (name, value))
    conn.execute("COMMIT")
    log.warning("%s: the last run stopped without closing the store; revisions %d to %d may have been seen "
                "by clients but not stored, so watches resuming from them will relist", path,
                durable + 1, reserved)


def _restrict_mode(path: pathlib.Path) -> None:
    """Make the database and its WAL/SHM companions readable by the owner only: they hold secrets."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(p, _FILE_MODE)


class SqliteBackend:
    """Durable row log in one SQLite file (WAL, `synchronous=FULL`), written by one thread."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        # Create the file with owner-only permissions before SQLite ever opens it.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, _FILE_MODE))
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        _restrict_mode(self.path)
        self._fsync_dir()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"sqlite-writer:{self.path.name}", daemon=True)
        self._thread.start()

    def _fsync_dir(self) -> None:
        """Persist the directory entries of the new files, so a power loss cannot orphan them."""
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ----- API used on the event loop -----

    def load(self, window: int) -> LoadedState:
        """Read the latest live row per key, the last `window` rows (and the rows they replaced), the counters."""
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("BEGIN")  # one consistent snapshot for all the reads below
            current = [_to_row(r) for r in conn.execute(_SELECT_CURRENT)]
            recent = [_to_row(r) for r in conn.execute(_SELECT_RECENT, (window,))] if window > 0 else []
            recent.reverse()
            loaded = {r.revision for r in recent}
            replaced = sorted({r.prev_revision for r in recent if r.prev_revision and r.prev_revision not in loaded})
            previous = [_to_row(r) for r in conn.execute(_SELECT_BY_IDS, (json.dumps(replaced),))] if replaced else []
            max_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM kine").fetchone()[0])
            compacted = _meta(conn, "compacted")
            durable = max(max_id, _meta(conn, "max_revision"), compacted)
            state = LoadedState(current=current, recent=recent, revision=durable, compacted_revision=compacted,
                                previous=previous, lost_after=_meta(conn, "lost_after"),
                                lost_through=_meta(conn, "lost_through"),
                                resume_floor=_meta(conn, "resume_floor"))
            conn.execute("COMMIT")
            reserved = _meta(conn, "reserved")
            if _meta(conn, "clean"):  # closed cleanly: the ceiling is exactly the last revision handed out
                state.revision = max(durable, reserved)
            elif reserved > durable:
                _record_crash(conn, state, reserved, self.path)
        finally:
            conn.close()
        return state

    async def append(self, rows: list[Row]) -> None:
        """Append rows; returns once they are committed and fsynced."""
        await self._submit(rows, None)

    async def reserve(self, revision: int, *, clean: bool = False) -> None:
        """Durably record the revision ceiling (see `Backend`); returns once it is fsynced."""
        await self._submit(None, functools.partial(self._reserve, revision, clean))

    async def compact(self, revision: int) -> None:
        """Delete superseded and deletion rows with id <= revision; record the compacted revision."""
        await self._submit(None, functools.partial(self._compact, revision))

    async def close(self) -> None:
        """Finish every queued job, then close the database."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _submit(self, rows: list[Row] | None, work: Callable[[], None] | None) -> asyncio.Future[None]:
        if self._closed:
            raise StorageError(f"{self.path}: backend is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Job(loop, fut, rows, work))
        return fut

    # ----- writer thread -----

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                batch = [first]
                with contextlib.suppress(queue.Empty):
                    while True:
                        batch.append(self._queue.get_nowait())
                if not self._process(batch):
                    break
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def _process(self, batch: list[_Job | None]) -> bool:
        """Run a drained batch in order; consecutive appends share one transaction. False on close."""
        done: list[tuple[_Job, BaseException | None]] = []
        appends: list[_Job] = []
        running = True
        for job in batch:
            if job is not None and job.rows is not None and running:
                appends.append(job)
                continue
            done.extend(self._write(appends))
            appends = []
            if job is None:
                running = False
            elif not running:
                done.append((job, StorageError(f"{self.path}: backend is closed")))
            elif job.work is not None:
                done.append((job, self._guard(job.work)))
        done.extend(self._write(appends))
        self._notify(done)
        return running

    def _write(self, jobs: list[_Job]) -> list[tuple[_Job, BaseException | None]]:
        if not jobs:
            return []
        rows = [row for job in jobs for row in job.rows or ()]
        exc = self._guard(lambda: self._insert(rows))
        if exc is None or len(jobs) == 1:
            return [(job, exc) for job in jobs]
        # One bad append must not fail its neighbours: retry each in its own transaction.
        return [(job, self._guard(functools.partial(self._insert, job.rows or []))) for job in jobs]

    def _insert(self, rows: list[Row]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany(_INSERT, [_row_params(r) for r in rows])
        self._conn.execute("COMMIT")

    def _compact(self, revision: int) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        prev = _meta(conn, "compacted")
        if revision > prev:
            # Remember the highest revision first: compaction may delete the newest row.
            max_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM kine").fetchone()[0])
            high = max(max_id, _meta(conn, "max_revision"))
            conn.execute(_SET_META, ("max_revision", high))
            conn.execute(_COMPACT, {"prev": prev, "rev": revision})
            conn.execute(_SET_META, ("compacted", revision))
        conn.execute("COMMIT")

    def _reserve(self, revision: int, clean: bool) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_SET_META, ("reserved", revision))
        conn.execute(_SET_META, ("clean", int(clean)))
        conn.execute("COMMIT")

    def _guard(self, work: Callable[[], None]) -> BaseException | None:
        try:
            work()
        except Exception as exc:
            log.exception("sqlite write failed: %s", self.path)
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            return exc if isinstance(exc, StorageError) else StorageError(f"{self.path}: {exc}")
        return None

    def _notify(self, done: list[tuple[_Job, BaseException | None]]) -> None:
        """Hand results to each job's loop with one thread-safe call per loop, preserving order."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]] = {}
        for job, exc in done:
            by_loop.setdefault(job.loop, []).append((job.future, exc))
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, results)
