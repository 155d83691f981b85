"""Revisions shown to readers before they are durable are never handed out again after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from herd.apiserver.storage import CompactedError, MemoryBackend, Row, SqliteBackend, StorageError, Store

PODS = "/registry/core/pods/"


def obj(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}}


class StallingSqlite(SqliteBackend):
    """Appends hang once `stall` is set, as if the process were killed before they committed."""

    stall = False

    async def append(self, rows: list[Row]) -> None:
        if self.stall:
            await asyncio.Event().wait()
        await super().append(rows)


async def crash_with_unstored_writes(db: Path) -> tuple[int, int]:
    """Five durable creates, then two a reader sees but the disk never gets; returns (durable, listed) rvs."""
    backend = StallingSqlite(db)
    store = Store(backend)
    await store.start()
    for i in range(5):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    durable = store.revision
    backend.stall = True
    lost = [asyncio.create_task(store.create(PODS + f"ns/lost-{i}", obj(f"lost-{i}"))) for i in range(2)]
    await asyncio.sleep(0)
    items, listed = store.list(PODS)
    assert len(items) == 7 and listed == durable + 2  # the reader saw both unstored writes
    for task in lost:
        task.cancel()
    await asyncio.gather(*lost, return_exceptions=True)
    backend.stall = False
    await backend.close()  # the store is abandoned, never closed: its last writes stay unstored
    return durable, listed


async def test_after_a_crash_revisions_start_past_anything_a_reader_saw(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    durable, listed = await crash_with_unstored_writes(db)

    store = Store(SqliteBackend(db))
    await store.start()
    assert len(store.list(PODS)[0]) == 5
    assert store.revision > listed
    created = await store.create(PODS + "ns/new", obj("new"))
    assert created.revision > listed
    # A watch from the listed revision would miss the new write or keep the lost objects: relist (410).
    with pytest.raises(CompactedError):
        store.watch(PODS, listed)
    # A watch from a revision that was durable resumes exactly: the one new event, nothing else.
    watch = store.watch(PODS, durable)
    async with asyncio.timeout(5):
        event = await anext(aiter(watch))
    assert (event.type, event.key, event.revision) == ("ADDED", PODS + "ns/new", created.revision)
    await store.close()


async def test_lost_range_still_relists_after_a_later_clean_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _, listed = await crash_with_unstored_writes(db)
    store = Store(SqliteBackend(db))
    await store.start()
    after_first = store.revision
    await store.close()

    store = Store(SqliteBackend(db))
    await store.start()
    assert store.revision == after_first  # a clean stop leaves no gap
    with pytest.raises(CompactedError):
        store.watch(PODS, listed)
    store.watch(PODS, after_first).close()
    await store.close()


async def test_clean_restart_keeps_revisions_contiguous(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(SqliteBackend(db))
    await store.start()
    await store.create(PODS + "ns/a", obj("a"))
    await store.close()
    store = Store(SqliteBackend(db))
    await store.start()
    assert (await store.create(PODS + "ns/b", obj("b"))).revision == 2
    await store.close()


class GatedReservations(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.reserved: list[int] = []
        self.fail = False

    async def reserve(self, revision: int, *, clean: bool = False) -> None:
        await self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.reserved.append(revision)


async def test_writers_wait_for_the_durable_ceiling_and_fail_if_it_cannot_be_raised() -> None:
    backend = GatedReservations()
    store = Store(backend)
    store.reserve_ahead = 4
    await store.start()
    assert backend.reserved == [4]
    backend.gate.clear()
    for i in range(4):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    assert store.revision == 4
    blocked = asyncio.create_task(store.create(PODS + "ns/next", obj("next")))
    await asyncio.sleep(0.05)
    assert not blocked.done() and store.revision == 4  # no revision above the durable ceiling
    backend.gate.set()
    assert (await blocked).revision == 5
    backend.fail = True
    with pytest.raises(StorageError):
        for i in range(10):
            await store.create(PODS + f"ns/more-{i}", obj(str(i)))
    await store.close()


async def test_after_a_second_crash_watches_from_before_the_first_relist_and_later_ones_resume(
        tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _, first_listed = await crash_with_unstored_writes(db)
    store = Store(StallingSqlite(db))
    await store.start()
    between = (await store.create(PODS + "ns/between", obj("between"))).revision
    store._backend.stall = True  # type: ignore[attr-defined]
    lost = asyncio.create_task(store.create(PODS + "ns/lost-again", obj("lost-again")))
    await asyncio.sleep(0)
    second_listed = store.list(PODS)[1]
    lost.cancel()
    store._backend.stall = False  # type: ignore[attr-defined]
    await store._backend.close()

    store = Store(SqliteBackend(db))
    await store.start()
    for revision in (first_listed, second_listed):
        with pytest.raises(CompactedError):
            store.watch(PODS, revision)
    created = await store.create(PODS + "ns/after", obj("after"))
    watch = store.watch(PODS, between)  # durable, after the first crash: resumes exactly
    async with asyncio.timeout(5):
        assert (await anext(aiter(watch))).revision == created.revision
    await store.close()
