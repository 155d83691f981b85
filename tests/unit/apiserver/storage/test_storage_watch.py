"""Specification of watches: replay from the ring, live delivery, ordering, and expiry."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from herd.apiserver.storage import (
    CompactedError,
    MemoryBackend,
    SqliteBackend,
    StorageError,
    Store,
    WatchEvent,
)
from herd.apiserver.storage.store import StoreWatch

PODS = "/registry/core/pods/"


def obj(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, **extra}


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    backend = MemoryBackend() if request.param == "memory" else SqliteBackend(tmp_path / "state.db")
    s = Store(backend, window=50)
    await s.start()
    yield s
    await s.close()


async def take(watch: StoreWatch, n: int) -> list[WatchEvent]:
    """The next n events, failing rather than hanging if they never come."""
    it = aiter(watch)
    async with asyncio.timeout(10):
        return [await anext(it) for _ in range(n)]


async def test_watch_after_current_revision_sees_only_new_events(store: Store) -> None:
    await store.create(PODS + "ns/old", obj("old"))
    watch = store.watch(PODS, store.revision)
    rec = await store.create(PODS + "ns/new", obj("new"))
    [event] = await take(watch, 1)
    assert (event.type, event.key, event.revision, event.value) == ("ADDED", PODS + "ns/new", 2, rec.value)


async def test_watch_replays_retained_events_then_goes_live_without_gap_or_duplicate(store: Store) -> None:
    for i in range(10):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    watch = store.watch(PODS, 4)
    for i in range(10, 15):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    assert [e.revision for e in await take(watch, 10)] == list(range(5, 15))
    await store.create(PODS + "ns/last", obj("last"))
    assert [e.revision for e in await take(watch, 2)] == [15, 16]


async def test_watch_sees_only_keys_under_its_prefix(store: Store) -> None:
    watch = store.watch(PODS + "a/", 0)
    await store.create(PODS + "b/x", obj("x"))
    await store.create("/registry/core/podtemplates/a/x", obj("x"))
    await store.create(PODS + "a/x", obj("x"))
    [event] = await take(watch, 1)
    assert event.key == PODS + "a/x"


async def test_watch_events_carry_type_and_previous_value(store: Store) -> None:
    watch = store.watch(PODS, 0)
    created = await store.create(PODS + "ns/a", obj("a", spec=1))
    updated = await store.update(PODS + "ns/a", obj("a", spec=2))
    deleted = await store.delete(PODS + "ns/a")
    added, modified, removed = await take(watch, 3)
    assert (added.type, added.prev_value) == ("ADDED", None)
    assert (modified.type, modified.value, modified.prev_value) == ("MODIFIED", updated.value, created.value)
    assert (removed.type, removed.revision, removed.value) == ("DELETED", deleted.revision, deleted.value)
    assert removed.value["metadata"]["resourceVersion"] == str(deleted.revision)
    assert removed.prev_value == updated.value


async def test_watch_from_revision_older_than_window_raises_compacted(store: Store) -> None:
    for i in range(60):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    assert store.oldest_watchable_revision == 10
    with pytest.raises(CompactedError) as info:
        store.watch(PODS, 9)
    assert info.value.requested == 9
    assert [e.revision for e in await take(store.watch(PODS, 10), 50)] == list(range(11, 61))


async def test_concurrent_creates_reach_watcher_in_strictly_increasing_revision_order(store: Store) -> None:
    watch = store.watch("/registry/", store.revision)
    records = await asyncio.gather(*(store.create(PODS + f"ns/{i}", obj(str(i))) for i in range(200)))
    revisions = [e.revision for e in await take(watch, 200)]
    assert revisions == sorted(r.revision for r in records) == list(range(1, 201))


async def test_each_concurrent_writer_sees_its_own_revision_durably_delivered(store: Store) -> None:
    watch = store.watch("/", 0)
    records = await asyncio.gather(*(store.create(f"/registry/g/r/ns/{i}", obj(str(i))) for i in range(50)))
    by_revision = {e.revision: e for e in await take(watch, 50)}
    for rec in records:
        assert by_revision[rec.revision].key == rec.key


async def test_watch_close_ends_a_pending_iteration_promptly(store: Store) -> None:
    watch = store.watch(PODS, 0)
    reader = asyncio.create_task(take(watch, 1))
    await asyncio.sleep(0)  # let the reader block on the empty watch
    watch.close()
    with pytest.raises(StopAsyncIteration):
        await reader
    assert watch.closed


async def test_store_close_ends_every_open_watch(store: Store) -> None:
    watches = [store.watch(PODS, 0), store.watch("/", 0)]
    await store.create(PODS + "ns/a", obj("a"))
    await store.close()
    for watch in watches:
        assert [e async for e in watch] == []
    with pytest.raises(StorageError):
        store.watch(PODS, 0)


async def test_slow_watcher_does_not_block_writers(store: Store) -> None:
    store.watch("/", 0)  # never read
    for i in range(200):
        await store.create(PODS + f"ns/{i}", obj(str(i)))
    assert store.revision == 200
