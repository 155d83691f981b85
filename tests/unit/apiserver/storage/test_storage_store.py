"""Specification of the watch cache's reads and writes, on both backends."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from herd.apiserver.storage import (
    KeyExistsError,
    KeyNotFoundError,
    MemoryBackend,
    RevisionConflictError,
    Row,
    SqliteBackend,
    StorageError,
    Store,
    StoreWatch,
)

PODS = "/registry/core/pods/"


def pod(name: str, ns: str = "default", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, **extra}


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    backend = MemoryBackend() if request.param == "memory" else SqliteBackend(tmp_path / "state.db")
    s = Store(backend)
    await s.start()
    yield s
    await s.close()


async def test_create_stamps_resource_version_without_mutating_callers_dict(store: Store) -> None:
    value = pod("a")
    rec = await store.create(PODS + "default/a", value)
    assert rec.revision == rec.create_revision == 1
    assert rec.value["metadata"]["resourceVersion"] == "1"
    assert rec.value["metadata"]["name"] == "a"
    assert "resourceVersion" not in value["metadata"]
    assert store.get(PODS + "default/a") == rec
    assert store.revision == 1


async def test_create_of_existing_key_raises_key_exists_and_assigns_no_revision(store: Store) -> None:
    await store.create(PODS + "default/a", pod("a"))
    with pytest.raises(KeyExistsError):
        await store.create(PODS + "default/a", pod("a"))
    assert store.revision == 1


async def test_update_with_stale_expected_revision_raises_conflict_and_changes_nothing(store: Store) -> None:
    created = await store.create(PODS + "default/a", pod("a"))
    updated = await store.update(PODS + "default/a", pod("a", spec={"x": 1}), created.revision)
    with pytest.raises(RevisionConflictError) as info:
        await store.update(PODS + "default/a", pod("a", spec={"x": 2}), created.revision)
    assert (info.value.expected, info.value.actual) == (created.revision, updated.revision)
    with pytest.raises(RevisionConflictError):
        await store.delete(PODS + "default/a", created.revision)
    assert store.get(PODS + "default/a") == updated
    assert updated.create_revision == created.revision


async def test_update_without_expected_revision_overwrites_unconditionally(store: Store) -> None:
    await store.create(PODS + "default/a", pod("a"))
    rec = await store.update(PODS + "default/a", pod("a", spec={"x": 1}))
    assert rec.value["spec"] == {"x": 1}
    assert rec.value["metadata"]["resourceVersion"] == str(rec.revision) == "2"


async def test_update_and_delete_of_missing_key_raise_key_not_found(store: Store) -> None:
    with pytest.raises(KeyNotFoundError):
        await store.update(PODS + "default/missing", pod("missing"))
    with pytest.raises(KeyNotFoundError):
        await store.delete(PODS + "default/missing")
    assert store.revision == 0


async def test_delete_returns_last_state_stamped_with_deletion_revision(store: Store) -> None:
    await store.create(PODS + "default/a", pod("a", spec={"x": 1}))
    deleted = await store.delete(PODS + "default/a", 1)
    assert deleted.revision == 2
    assert deleted.create_revision == 1
    assert deleted.value["spec"] == {"x": 1}
    assert deleted.value["metadata"]["resourceVersion"] == "2"
    assert store.get(PODS + "default/a") is None
    recreated = await store.create(PODS + "default/a", pod("a"))
    assert recreated.create_revision == recreated.revision == 3


async def test_revisions_are_global_and_strictly_increasing_across_keys(store: Store) -> None:
    revs = [
        (await store.create(PODS + "default/a", pod("a"))).revision,
        (await store.create("/registry/apps/deployments/default/a", {"metadata": {}})).revision,
        (await store.update(PODS + "default/a", pod("a"))).revision,
        (await store.delete("/registry/apps/deployments/default/a")).revision,
    ]
    assert revs == [1, 2, 3, 4]


async def test_list_returns_only_keys_under_prefix_sorted_with_current_revision(store: Store) -> None:
    keys = [
        PODS + "kube-system/z",
        PODS + "default/b",
        PODS + "default/a",
        PODS + "defaultx/a",
        "/registry/core/podtemplates/default/a",
        "/registry/core/namespaces//default",
        "/registry/apps/deployments/default/a",
    ]
    for key in keys:
        await store.create(key, {"metadata": {}})
    await store.delete(PODS + "kube-system/z")

    records, rev = store.list(PODS)
    assert [r.key for r in records] == [PODS + "default/a", PODS + "default/b", PODS + "defaultx/a"]
    assert rev == store.revision == 8
    assert [r.key for r in store.list(PODS + "default/")[0]] == [PODS + "default/a", PODS + "default/b"]
    assert [r.key for r in store.list("/registry/core/pod")[0]] == [
        PODS + "default/a", PODS + "default/b", PODS + "defaultx/a", "/registry/core/podtemplates/default/a",
    ]
    everything = [r.key for r in store.list("")[0]]
    assert everything == sorted(set(keys) - {PODS + "kube-system/z"})
    assert store.list("/registry/batch/")[0] == []


async def test_keys_outside_the_registry_layout_are_listed_too(store: Store) -> None:
    await store.create("/short", {"metadata": {}})
    await store.create("/registry/x", {"metadata": {}})
    await store.create("/registry/g/r/ns/n", {"metadata": {}})
    assert [r.key for r in store.list("/")[0]] == ["/registry/g/r/ns/n", "/registry/x", "/short"]
    assert [r.key for r in store.list("/registry/")[0]] == ["/registry/g/r/ns/n", "/registry/x"]


async def test_concurrent_compare_and_swap_updates_let_exactly_one_win(store: Store) -> None:
    created = await store.create(PODS + "default/a", pod("a"))
    results = await asyncio.gather(
        *(store.update(PODS + "default/a", pod("a", spec={"i": i}), created.revision) for i in range(20)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, RevisionConflictError) for r in results if r not in winners)


async def test_writes_after_close_are_refused(store: Store) -> None:
    await store.close()
    with pytest.raises(StorageError):
        await store.create(PODS + "default/a", pod("a"))


class FailingBackend(MemoryBackend):
    """Appends fail once `broken` is set."""

    broken = False

    async def append(self, rows: list[Row]) -> None:
        if self.broken:
            raise OSError("disk on fire")


async def test_failed_append_fails_the_write_refuses_later_ones_and_ends_watches() -> None:
    backend = FailingBackend()
    store = Store(backend)
    await store.start()
    await store.create(PODS + "default/a", pod("a"))
    watch = store.watch(PODS, store.revision)
    backend.broken = True
    with pytest.raises(StorageError):
        await store.create(PODS + "default/b", pod("b"))
    with pytest.raises(StorageError):
        await store.create(PODS + "default/c", pod("c"))
    assert [ev async for ev in watch] == []
    await store.close()


class GatedBackend(MemoryBackend):
    """Appends wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.appending = asyncio.Event()

    async def append(self, rows: list[Row]) -> None:
        self.appending.set()
        await self.gate.wait()


async def gated_store() -> tuple[GatedBackend, Store, StoreWatch]:
    """A started store over a GatedBackend, and a watch of everything from the start."""
    backend = GatedBackend()
    store = Store(backend)
    await store.start()
    return backend, store, store.watch("/", 0)


async def test_write_returns_and_is_watched_only_after_the_backend_made_it_durable() -> None:
    backend, store, watch = await gated_store()
    write = asyncio.create_task(store.create(PODS + "default/a", pod("a")))
    await backend.appending.wait()
    assert store.get(PODS + "default/a") is not None  # memory reflects the write at once
    assert not write.done()
    backend.gate.set()
    rec = await write
    event = await anext(aiter(watch))
    assert event.revision == rec.revision
    await store.close()


async def test_cancelled_writer_still_commits_and_does_not_stall_later_events() -> None:
    backend, store, watch = await gated_store()
    first = asyncio.create_task(store.create(PODS + "default/a", pod("a")))
    await backend.appending.wait()
    first.cancel()
    backend.gate.set()
    second = await store.create(PODS + "default/b", pod("b"))
    it = aiter(watch)
    assert [(await anext(it)).revision for _ in range(2)] == [1, second.revision]
    await store.close()
