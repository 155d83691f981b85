"""Specification of the SQLite backend: durability, restart, compaction, file permissions."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from herd.apiserver.storage import CompactedError, Row, SqliteBackend, StorageError, Store, WatchEvent
from herd.apiserver.storage.store import StoreWatch

PODS = "/registry/core/pods/"
SRC = Path(__file__).resolve().parents[4] / "src"


def obj(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, **extra}


def row(rev: int, key: str, *, prev: int = 0, deleted: bool = False) -> Row:
    return Row(rev, key, rev if prev == 0 else 1, prev, prev == 0 and not deleted, deleted, b"{}")


async def opened(path: Path, window: int = 10_000) -> Store:
    store = Store(SqliteBackend(path), window=window)
    await store.start()
    return store


async def take(watch: StoreWatch, n: int) -> list[WatchEvent]:
    it = aiter(watch)
    async with asyncio.timeout(10):
        return [await anext(it) for _ in range(n)]


def row_ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM kine ORDER BY id")]


async def test_state_and_revision_survive_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = await opened(db)
    a = await store.create(PODS + "ns/a", obj("a"))
    b = await store.create(PODS + "ns/b", obj("b"))
    b2 = await store.update(PODS + "ns/b", obj("b", spec=1), b.revision)
    await store.create(PODS + "ns/c", obj("c"))
    await store.delete(PODS + "ns/c")
    await store.close()

    store = await opened(db)
    assert store.revision == 5
    assert store.get(PODS + "ns/a") == a
    assert store.get(PODS + "ns/b") == b2
    assert store.get(PODS + "ns/c") is None
    assert [r.key for r in store.list(PODS)[0]] == [PODS + "ns/a", PODS + "ns/b"]
    assert (await store.create(PODS + "ns/d", obj("d"))).revision == 6
    await store.close()


async def test_revision_stays_monotonic_after_newest_key_is_deleted_and_compacted(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = SqliteBackend(db)
    await backend.append([row(1, "/k/a"), row(2, "/k/b"), row(3, "/k/b", prev=2, deleted=True)])
    await backend.compact(3)
    await backend.close()
    assert row_ids(db) == [1]

    store = await opened(db)
    assert store.revision == 3
    assert (await store.create("/k/b", obj("b"))).revision == 4
    await store.close()


async def test_compaction_drops_superseded_and_deleted_rows_up_to_revision_only(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = SqliteBackend(db)
    await backend.append([row(1, "/k/a"), row(2, "/k/b"), row(3, "/k/a", prev=1)])
    await backend.append([row(4, "/k/b", prev=2, deleted=True), row(5, "/k/c"), row(6, "/k/c", prev=5)])
    await backend.compact(4)
    assert row_ids(db) == [3, 5, 6]  # 1 superseded by 3, 2 by the deletion 4, which goes too
    await backend.append([row(7, "/k/a", prev=3)])
    await backend.compact(6)
    assert row_ids(db) == [6, 7]
    await backend.compact(5)  # lower than the compacted revision: nothing happens
    state = backend.load(10)
    assert (state.revision, state.compacted_revision) == (7, 6)
    assert [r.revision for r in state.current] == [7, 6]
    await backend.close()


async def test_load_returns_live_latest_rows_and_the_recent_window_in_order(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "state.db")
    await backend.append([row(1, "/k/a"), row(2, "/k/b"), row(3, "/k/a", prev=1)])
    await backend.append([row(4, "/k/b", prev=2, deleted=True)])
    state = backend.load(3)
    assert [(r.key, r.revision) for r in state.current] == [("/k/a", 3)]
    assert [r.revision for r in state.recent] == [2, 3, 4]
    assert state.recent[2].deleted and state.recent[0].created
    await backend.close()


async def test_concurrent_appends_all_become_durable_in_submission_order(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = SqliteBackend(db)
    await asyncio.gather(*(backend.append([row(i, f"/k/{i}")]) for i in range(1, 301)))
    assert row_ids(db) == list(range(1, 301))
    await backend.close()


async def test_one_bad_append_does_not_fail_its_neighbours(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = SqliteBackend(db)
    await backend.append([row(1, "/k/a")])
    results = await asyncio.gather(
        backend.append([row(2, "/k/b")]),
        backend.append([row(1, "/k/dup")]),
        backend.append([row(3, "/k/c")]),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageError)
    assert row_ids(db) == [1, 2, 3]
    await backend.close()


async def test_append_after_close_raises(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "state.db")
    await backend.close()
    with pytest.raises(StorageError):
        await backend.append([row(1, "/k/a")])


async def test_database_files_are_readable_by_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = SqliteBackend(db)
    await backend.append([row(1, "/k/secret")])
    files = [p for p in tmp_path.iterdir() if p.name.startswith("state.db")]
    assert db in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    await backend.close()


async def test_watch_resumed_after_restart_sees_each_later_event_once(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = await opened(db, window=100)
    for i in range(10):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    resume_from = store.revision
    await store.update(PODS + "ns/0", obj("0", spec=1))
    await store.delete(PODS + "ns/1")
    await store.close()

    store = await opened(db, window=100)
    watch = store.watch(PODS, resume_from)
    await store.create(PODS + "ns/new", obj("new"))
    events = await take(watch, 3)
    assert [(e.type, e.revision) for e in events] == [("MODIFIED", 11), ("DELETED", 12), ("ADDED", 13)]
    assert events[0].prev_value is not None and events[0].prev_value["metadata"]["resourceVersion"] == "1"
    await store.create(PODS + "ns/sentinel", obj("sentinel"))
    assert [e.key for e in await take(watch, 1)] == [PODS + "ns/sentinel"]  # nothing repeated before it
    await store.close()


async def test_watch_resumed_after_restart_from_beyond_the_window_raises_compacted(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = await opened(db, window=20)
    for i in range(5):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    for i in range(5, 30):
        await store.update(PODS + f"ns/{i % 5}", obj(str(i)))
    assert await store.compact() == 10
    await store.close()

    store = await opened(db, window=20)
    assert store.oldest_watchable_revision == 10
    with pytest.raises(CompactedError):
        store.watch(PODS, 9)
    assert [e.revision for e in await take(store.watch(PODS, 10), 20)] == list(range(11, 31))
    assert len(store.list(PODS)[0]) == 5
    await store.close()


class CountingBackend(SqliteBackend):
    """Signals each compaction so tests await it instead of sleeping."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.compacted: asyncio.Queue[int] = asyncio.Queue()

    async def compact(self, revision: int) -> None:
        await super().compact(revision)
        self.compacted.put_nowait(revision)


async def test_periodic_compaction_keeps_the_window(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    backend = CountingBackend(db)
    store = Store(backend, window=10)
    store.compact_every_writes = 25
    await store.start()
    await store.create("/k/a", obj("a"))
    for i in range(29):
        await store.update("/k/a", obj("a", spec=i))
    async with asyncio.timeout(10):
        compacted_to = await backend.compacted.get()
    assert compacted_to >= 15
    assert row_ids(db)[0] > compacted_to  # every row at or below the target was superseded
    assert len(row_ids(db)) >= 10
    await store.close()

    store = await opened(db, window=10)
    assert store.oldest_watchable_revision == 20
    assert (await take(store.watch("/k/", 20), 10))[-1].revision == 30
    await store.close()


CHILD = """
import asyncio, pathlib, sys
from herd.apiserver.storage import SqliteBackend, Store

async def main() -> None:
    store = Store(SqliteBackend(pathlib.Path(sys.argv[1])))
    await store.start()
    n = 0
    while True:
        batch = [store.create(f"/registry/core/pods/ns/{n + i}", {"metadata": {}, "pad": "x" * 1000})
                 for i in range(10)]
        n += 10
        for done in asyncio.as_completed(batch):
            rec = await done
            print(rec.key, rec.revision, flush=True)

asyncio.run(main())
"""


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(db), stdout=asyncio.subprocess.PIPE, env=env,
    )
    assert child.stdout is not None
    acknowledged: dict[str, int] = {}
    async with asyncio.timeout(60):
        while len(acknowledged) < 300:
            line = await child.stdout.readline()
            assert line, "the writer exited before it was killed"
            key, revision = line.decode().split()
            acknowledged[key] = int(revision)
    child.send_signal(signal.SIGKILL)
    await child.wait()

    store = await opened(db)
    for key, rev in acknowledged.items():
        rec = store.get(key)
        assert rec is not None and rec.revision == rev, key
        assert rec.value["pad"] == "x" * 1000
    assert store.revision >= max(acknowledged.values())
    await store.close()


async def test_write_connection_is_wal_with_full_fsync(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "state.db")
    assert backend._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert backend._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    await backend.close()


async def test_close_returns_promptly_after_writes_that_request_compaction(tmp_path: Path) -> None:
    for attempt in range(20):
        store = Store(SqliteBackend(tmp_path / f"state{attempt}.db"), window=1)
        store.compact_every_writes = 1
        await store.start()
        await asyncio.gather(*(store.create(f"/k/{i}", obj(str(i))) for i in range(5)))
        async with asyncio.timeout(10):
            await store.close()
