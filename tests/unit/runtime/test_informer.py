"""Informer semantics against a scripted client: list, watch, resume, relist on 410, synthetic events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from herd.runtime.client import ObjectList, WatchEvent
from herd.runtime.errors import Expired, Unreachable
from herd.runtime.informer import Backoff, FuncHandler, Informer
from herd.runtime.objects import CONFIGMAP, ObjectKey

FAST = Backoff(initial=0.001, maximum=0.01)


def cm(name: str, rv: int, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}, "data": data}


class ScriptedClient:
    """`list` answers the current script; each `watch` plays the next scripted stream (events or an error)."""

    def __init__(self) -> None:
        self.listing = ObjectList([], "1")
        self.next_listings: list[ObjectList] = []  # answers of the following lists, in order
        self.streams: asyncio.Queue[list[WatchEvent] | Exception | None] = asyncio.Queue()
        self.watch_versions: list[str] = []
        self.lists = 0

    async def list(self, kind: Any, **_: Any) -> ObjectList:
        self.lists += 1
        if self.next_listings:
            self.listing = self.next_listings.pop(0)
        return self.listing

    async def watch(self, kind: Any, *, resource_version: str = "", **_: Any) -> AsyncGenerator[WatchEvent, None]:
        self.watch_versions.append(resource_version)
        stream = await self.streams.get()
        if isinstance(stream, Exception):
            raise stream
        if stream is None:  # hold the watch open until the test ends
            await asyncio.Event().wait()
            return
        for event in stream:
            yield event


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def handler(self) -> FuncHandler:
        def name_rv(obj: dict[str, Any]) -> tuple[str, str]:
            return obj["metadata"]["name"], obj["metadata"]["resourceVersion"]
        return FuncHandler(add=lambda o: self.events.append(("add", *name_rv(o))),
                           update=lambda old, new: self.events.append(("update", *name_rv(new))),
                           delete=lambda o: self.events.append(("delete", *name_rv(o))))


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def test_lists_then_watches_from_the_lists_resource_version_and_follows_bookmarks() -> None:
    client = ScriptedClient()
    client.listing = ObjectList([cm("a", 5)], "7")
    recorder = Recorder()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    informer.add_handler(recorder.handler())
    await client.streams.put([WatchEvent("ADDED", cm("b", 8)), WatchEvent("MODIFIED", cm("a", 9)),
                              WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "12"}}),
                              WatchEvent("DELETED", cm("b", 13))])
    await client.streams.put(None)
    informer.start()
    assert await informer.wait_for_sync(5)
    await until(lambda: len(client.watch_versions) == 2)
    assert client.watch_versions == ["7", "13"], "the second watch resumes after the last event"
    assert recorder.events == [("add", "a", "5"), ("add", "b", "8"), ("update", "a", "9"), ("delete", "b", "13")]
    assert list(informer.store) == [ObjectKey("ns", "a")]
    await informer.stop()


async def test_bookmarks_advance_the_resume_point() -> None:
    client = ScriptedClient()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    await client.streams.put([WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "40"}})])
    await client.streams.put(None)
    informer.start()
    await until(lambda: len(client.watch_versions) == 2)
    assert client.watch_versions == ["1", "40"]
    assert informer.resource_version == "40"
    await informer.stop()


async def test_a_dropped_connection_resumes_from_the_last_version_without_listing_again() -> None:
    client = ScriptedClient()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    await client.streams.put([WatchEvent("ADDED", cm("a", 2))])
    await client.streams.put(Unreachable("connection refused"))
    await client.streams.put(Unreachable("connection refused"))
    await client.streams.put(None)
    informer.start()
    await until(lambda: len(client.watch_versions) == 4)
    assert client.watch_versions == ["1", "2", "2", "2"]
    assert client.lists == 1
    assert informer.stats.errors == 2
    await informer.stop()


async def test_expired_relists_and_emits_the_difference_as_synthetic_events() -> None:
    client = ScriptedClient()
    client.next_listings = [
        ObjectList([cm("keep", 2), cm("change", 3), cm("gone", 4)], "4"),
        # by the relist, on the server: "change" was updated, "gone" deleted, "new" created
        ObjectList([cm("keep", 2), cm("change", 90), cm("new", 95)], "100"),
    ]
    recorder = Recorder()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    informer.add_handler(recorder.handler())
    await client.streams.put(Expired(410, "Expired", "too old resource version"))
    await client.streams.put(None)
    informer.start()
    await until(lambda: client.lists == 2 and len(client.watch_versions) == 2)
    assert recorder.events == [("add", "keep", "2"), ("add", "change", "3"), ("add", "gone", "4"),
                               ("update", "change", "90"), ("add", "new", "95"), ("delete", "gone", "4")]
    assert client.watch_versions == ["4", "100"]
    assert sorted(k.name for k in informer.store) == ["change", "keep", "new"]
    assert informer.stats.expired == 1
    await informer.stop()


async def test_a_stopped_informer_resumes_from_where_it_stopped() -> None:
    client = ScriptedClient()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    await client.streams.put([WatchEvent("ADDED", cm("a", 5))])
    await client.streams.put(None)
    informer.start()
    await until(lambda: len(client.watch_versions) == 2)
    await informer.stop()
    assert not informer.running
    await client.streams.put(None)
    informer.start()
    await until(lambda: len(client.watch_versions) == 3)
    assert client.watch_versions[-1] == "5" and client.lists == 1
    await informer.stop()


async def test_a_handler_added_after_sync_first_hears_of_every_object() -> None:
    client = ScriptedClient()
    client.listing = ObjectList([cm("a", 2), cm("b", 3)], "3")
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]
    await client.streams.put(None)
    informer.start()
    assert await informer.wait_for_sync(5)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    assert recorder.events == [("add", "a", "2"), ("add", "b", "3")]
    await informer.stop()


async def test_a_failing_handler_does_not_stop_the_informer_or_other_handlers() -> None:
    client = ScriptedClient()
    client.listing = ObjectList([cm("a", 2)], "2")
    recorder = Recorder()
    informer = Informer(client, CONFIGMAP, backoff=FAST)  # type: ignore[arg-type]

    def explode(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(FuncHandler(add=explode))
    informer.add_handler(recorder.handler())
    await client.streams.put([WatchEvent("ADDED", cm("b", 3))])
    await client.streams.put(None)
    informer.start()
    await until(lambda: len(recorder.events) == 2)
    assert informer.stats.errors == 0
    await informer.stop()
