"""Reads by key see the manager's own writes until the informer catches up; lists and `listed` do not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest

from herd.api.cluster import MACHINE
from herd.runtime.cache import Cache
from herd.runtime.client import ObjectList, WatchEvent
from herd.runtime.objects import CONFIGMAP, Kind, ObjectKey

KEY = ObjectKey("ns", "a")


def cm(name: str, rv: int, source: str, **meta: Any) -> dict[str, Any]:
    """A ConfigMap whose data says where this copy came from (the informer or an own write)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv), **meta},
            "data": {"source": source}}


class WatchingClient:
    """Lists `listings[kind]` and streams the events put on `events`; records write observers."""

    def __init__(self, listings: dict[Kind, ObjectList]) -> None:
        self.listings = listings
        self.events: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self.observers: list[Callable[[Kind, dict[str, Any]], None]] = []

    def observe_writes(self, observer: Callable[[Kind, dict[str, Any]], None]) -> None:
        self.observers.append(observer)

    def wrote(self, kind: Kind, obj: dict[str, Any]) -> None:
        """What the client does after the server answered a write."""
        for observer in self.observers:
            observer(kind, obj)

    async def list(self, kind: Kind, **_: Any) -> ObjectList:
        return self.listings.get(kind, ObjectList([], "1"))

    async def watch(self, kind: Kind, **_: Any) -> AsyncGenerator[WatchEvent, None]:
        if kind != CONFIGMAP:
            await asyncio.Event().wait()
        while True:
            yield await self.events.get()


@pytest.fixture
async def running() -> AsyncIterator[tuple[Cache, WatchingClient]]:
    """A started cache whose ConfigMap informer listed `a` at version 5, the list being at version 7."""
    client = WatchingClient({CONFIGMAP: ObjectList([cm("a", 5, "informer")], "7")})
    cache = Cache(client)  # type: ignore[arg-type]
    cache.informer(CONFIGMAP)
    await cache.start()
    assert await cache.wait_for_sync(timeout=5)
    yield cache, client
    await cache.stop()


async def deliver(cache: Cache, client: WatchingClient, event_type: str, obj: dict[str, Any]) -> None:
    """Send one watch event and wait until the informer has applied it."""
    await client.events.put(WatchEvent(event_type, obj))
    async with asyncio.timeout(5):
        while cache.informer(CONFIGMAP).resource_version != obj["metadata"]["resourceVersion"]:
            await asyncio.sleep(0.001)


def source(obj: dict[str, Any] | None) -> tuple[str, str] | None:
    return None if obj is None else (obj["metadata"]["resourceVersion"], obj["data"]["source"])


def test_the_cache_observes_its_clients_writes() -> None:
    client = WatchingClient({})
    Cache(client)  # type: ignore[arg-type]
    assert len(client.observers) == 1


@pytest.mark.parametrize("event_rv", [9, 10])
async def test_a_newer_write_is_read_until_the_informer_reaches_its_version(
        running: tuple[Cache, WatchingClient], event_rv: int) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "write"))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("9", "write")
    await deliver(cache, client, "MODIFIED", cm("a", 8, "informer"))  # an older change: still behind the write
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("9", "write")
    await deliver(cache, client, "MODIFIED", cm("a", event_rv, "informer"))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == (str(event_rv), "informer")


@pytest.mark.parametrize("written_rv", [4, 5])
async def test_a_write_not_newer_than_the_informers_copy_is_ignored(
        running: tuple[Cache, WatchingClient], written_rv: int) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", written_rv, "write"))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("5", "informer")


async def test_a_write_older_than_a_kept_write_does_not_replace_it(running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "second write"))
    client.wrote(CONFIGMAP, cm("a", 8, "first write, answered late"))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("9", "second write")


@pytest.mark.parametrize(("written_rv", "kept"), [(8, True), (7, False), (6, False)])
async def test_a_write_of_an_unlisted_object_is_kept_only_if_the_informer_is_behind_it(
        running: tuple[Cache, WatchingClient], written_rv: int, kept: bool) -> None:
    cache, client = running  # the informer is at version 7
    client.wrote(CONFIGMAP, cm("new", written_rv, "write"))
    expected = (str(written_rv), "write") if kept else None
    assert source(cache.get(CONFIGMAP, "ns", "new")) == expected


async def test_a_created_object_is_read_from_the_informer_once_its_event_arrived(
        running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("new", 8, "write"))
    await deliver(cache, client, "ADDED", cm("new", 8, "informer"))
    assert source(cache.get(CONFIGMAP, "ns", "new")) == ("8", "informer")


async def test_a_write_that_removed_the_last_finalizer_drops_the_kept_write(
        running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "write", deletionTimestamp="2025-01-01T00:00:00Z", finalizers=["f"]))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("9", "write"), "a deleting object with finalizers is kept"
    client.wrote(CONFIGMAP, cm("a", 10, "write", deletionTimestamp="2025-01-01T00:00:00Z", finalizers=[]))
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("5", "informer")


async def test_a_write_of_an_object_without_finalizers_being_deleted_is_not_kept(
        running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("new", 9, "write", deletionTimestamp="2025-01-01T00:00:00Z"))
    assert cache.get(CONFIGMAP, "ns", "new") is None


async def test_a_delete_event_forgets_the_kept_write(running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "write"))
    await deliver(cache, client, "DELETED", cm("a", 10, "informer"))
    assert cache.get(CONFIGMAP, "ns", "a") is None


async def test_listed_and_lists_show_the_informers_copy_only(running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "write"))
    client.wrote(CONFIGMAP, cm("new", 8, "write"))
    assert source(cache.listed(CONFIGMAP, KEY)) == ("5", "informer")
    assert cache.listed(CONFIGMAP, ObjectKey("ns", "new")) is None
    assert [source(obj) for obj in cache.list(CONFIGMAP)] == [("5", "informer")]
    assert source(cache.get_by_key(CONFIGMAP, KEY)) == ("9", "write")


async def test_reads_of_a_kept_write_are_copies(running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    client.wrote(CONFIGMAP, cm("a", 9, "write"))
    read = cache.get(CONFIGMAP, "ns", "a")
    assert read is not None
    read["data"]["source"] = "changed by a reconcile"
    assert source(cache.get(CONFIGMAP, "ns", "a")) == ("9", "write")


async def test_writes_of_kinds_without_an_informer_are_ignored(running: tuple[Cache, WatchingClient]) -> None:
    cache, client = running
    machine = {"apiVersion": MACHINE.api_version, "kind": "Machine",
               "metadata": {"name": "m", "namespace": "ns", "resourceVersion": "9"}}
    client.wrote(MACHINE, machine)
    cache.informer(MACHINE)  # registered later: it lists nothing (at version 1)
    assert await cache.wait_for_sync(timeout=5)
    assert cache.get(MACHINE, "ns", "m") is None


async def test_writes_outside_the_caches_namespace_are_ignored() -> None:
    client = WatchingClient({CONFIGMAP: ObjectList([], "7")})
    cache = Cache(client, namespace="ns")  # type: ignore[arg-type]
    cache.informer(CONFIGMAP)
    await cache.start()
    try:
        assert await cache.wait_for_sync(timeout=5)
        elsewhere = cm("b", 9, "write")
        elsewhere["metadata"]["namespace"] = "other"
        client.wrote(CONFIGMAP, elsewhere)
        client.wrote(CONFIGMAP, cm("b", 9, "write"))
        assert cache.get(CONFIGMAP, "other", "b") is None
        assert source(cache.get(CONFIGMAP, "ns", "b")) == ("9", "write")
    finally:
        await cache.stop()
