"""Watch semantics of the API server, in process, as a client sees them over HTTP.

The server runs without TLS and authenticates a static bearer token; every test talks to it through
aiohttp's client and reads watch streams line by line, with deadlines instead of sleeps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from herd.apiserver import watch as watch_module
from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.server import APIServer
from herd.apiserver.storage.base import Row
from herd.apiserver.storage.memory import MemoryBackend
from herd.apiserver.storage.sqlite import SqliteBackend
from herd.apiserver.storage.store import Store

TOKEN = "watch-semantics-token"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class Client:
    """Just enough of a Kubernetes client: JSON requests and line-by-line watches."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(self, method: str, path: str, body: Any = None, *, expect: int = 200,
                      content_type: str = "application/json") -> dict[str, Any]:
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(method, self.base + path, data=data, headers=headers) as response:
            payload: dict[str, Any] = await response.json(content_type=None)
            assert response.status == expect, payload
            return payload

    async def create_namespace(self, name: str) -> None:
        await self.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}}, expect=201)

    async def create_configmap(self, namespace: str, name: str, labels: dict[str, str] | None = None,
                               **data: str) -> dict[str, Any]:
        body = {"metadata": {"name": name, "labels": labels or {}}, "data": data}
        return await self.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", body, expect=201)

    async def patch_configmap(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/{name}", patch,
                                  content_type="application/merge-patch+json")

    async def delete_configmap(self, namespace: str, name: str) -> None:
        await self.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    @asynccontextmanager
    async def watch(self, path: str, **params: str) -> AsyncIterator[Watch]:
        query = {"watch": "true", **params}
        async with self.session.get(self.base + path, params=query) as response:
            assert response.status == 200, await response.text()
            yield Watch(response)


class Watch:
    """One open watch stream."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next event; fails if none arrives within `timeout` seconds or the stream ends."""
        async with asyncio.timeout(timeout):
            line = await self.response.content.readline()
        assert line, "the watch ended"
        event: dict[str, Any] = json.loads(line)
        return event

    async def take(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(n)]

    async def next_where(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """The first event matching `predicate`, skipping others, before the deadline."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next(timeout)
                if predicate(event):
                    return event

    async def rest(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every remaining event until the server ends the stream."""
        events = []
        async with asyncio.timeout(timeout):
            while line := await self.response.content.readline():
                events.append(json.loads(line))
        return events


def summary(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"].get("name", "")


@asynccontextmanager
async def running(store: Store) -> AsyncIterator[tuple[APIServer, Client]]:
    tokens = TokenFile({TOKEN: UserInfo("watcher", "uid-w", ("system:masters",))})
    server = APIServer(store, ssl_context=None, authenticator=Authenticator(tokens), port=0)
    port = await server.start()
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            yield server, Client(session, f"http://127.0.0.1:{port}")
    finally:
        await server.stop()


@pytest.fixture
async def api() -> AsyncIterator[Client]:
    async with running(Store(MemoryBackend())) as (_, client):
        await client.create_namespace("team")
        await client.create_namespace("team2")
        yield client


@pytest.fixture
def quick_bookmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_module, "BOOKMARK_INTERVAL_SECONDS", 0.2)


# ---- bookmarks -----------------------------------------------------------------------------------------

@pytest.mark.usefixtures("quick_bookmarks")
async def test_bookmarks_carry_the_current_resource_version(api: Client) -> None:
    created = await api.create_configmap("team", "a")
    rv = created["metadata"]["resourceVersion"]
    async with api.watch("/api/v1/namespaces/team/configmaps", resourceVersion=rv,
                         allowWatchBookmarks="true") as stream:
        first = await stream.next()
        assert first["type"] == "BOOKMARK"
        assert first["object"]["kind"] == "ConfigMap"
        assert first["object"]["apiVersion"] == "v1"
        assert int(first["object"]["metadata"]["resourceVersion"]) >= int(rv)

        patched = await api.patch_configmap("team", "a", {"data": {"x": "1"}})
        modified = await stream.next_where(lambda e: e["type"] != "BOOKMARK")
        assert summary(modified) == ("MODIFIED", "a")
        later = await stream.next()
        assert later["type"] == "BOOKMARK"
        assert int(later["object"]["metadata"]["resourceVersion"]) >= int(patched["metadata"]["resourceVersion"])


@pytest.mark.usefixtures("quick_bookmarks")
async def test_no_bookmarks_unless_asked(api: Client) -> None:
    async with api.watch("/api/v1/namespaces/team/configmaps", timeoutSeconds="1") as stream:
        assert await stream.rest() == []


class GatedBackend(MemoryBackend):
    """A backend whose appends wait for `gate`: writes stay assigned but not yet durable."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def append(self, rows: list[Row]) -> None:
        await self.gate.wait()
        await super().append(rows)


@pytest.mark.usefixtures("quick_bookmarks")
async def test_bookmark_is_never_older_than_the_listed_revision() -> None:
    """A reflector lists, watches from the list's revision and resumes from bookmarks: no replays."""
    backend = GatedBackend()
    async with running(Store(backend)) as (_, api):
        await api.create_namespace("team")
        backend.gate.clear()
        slow_write = asyncio.ensure_future(api.create_configmap("team", "slow"))
        try:
            listed = await api.request("GET", "/api/v1/namespaces/team/configmaps")
            deadline = time.monotonic() + 5
            while not listed["items"] and time.monotonic() < deadline:  # visible before it is durable
                await asyncio.sleep(0.01)
                listed = await api.request("GET", "/api/v1/namespaces/team/configmaps")
            list_rv = int(listed["metadata"]["resourceVersion"])
            assert [i["metadata"]["name"] for i in listed["items"]] == ["slow"]
            async with api.watch("/api/v1/namespaces/team/configmaps", resourceVersion=str(list_rv),
                                 allowWatchBookmarks="true") as stream:
                bookmark = await stream.next()
                assert bookmark["type"] == "BOOKMARK"
                assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= list_rv
        finally:
            backend.gate.set()
            await slow_write


# ---- sendInitialEvents (watch list) ------------------------------------------------------------------------

async def test_send_initial_events_ends_with_an_annotated_bookmark(api: Client) -> None:
    for name in ("a", "b", "c"):
        await api.create_configmap("team", name)
    await api.create_configmap("team2", "elsewhere")
    async with api.watch("/api/v1/namespaces/team/configmaps", sendInitialEvents="true",
                         resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true") as stream:
        initial = await stream.take(3)
        assert sorted(summary(e) for e in initial) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
        end = await stream.next()
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {INITIAL_EVENTS_END: "true"}
        end_rv = int(end["object"]["metadata"]["resourceVersion"])
        assert end_rv >= max(int(e["object"]["metadata"]["resourceVersion"]) for e in initial)

        created = await api.create_configmap("team", "d")
        live = await stream.next_where(lambda e: e["type"] != "BOOKMARK")
        assert summary(live) == ("ADDED", "d")
        assert int(live["object"]["metadata"]["resourceVersion"]) == int(created["metadata"]["resourceVersion"])
        assert int(created["metadata"]["resourceVersion"]) > end_rv


async def test_send_initial_events_requires_not_older_than(api: Client) -> None:
    async with api.session.get(api.base + "/api/v1/namespaces/team/configmaps",
                               params={"watch": "true", "sendInitialEvents": "true"}) as response:
        status = await response.json()
    assert response.status == 422
    assert status["reason"] == "Invalid"


# ---- selectors ----------------------------------------------------------------------------------------------

async def test_label_selector_watch_reports_entering_and_leaving_objects(api: Client) -> None:
    await api.create_configmap("team", "in", labels={"app": "web"})
    await api.create_configmap("team", "out", labels={"app": "db"})
    async with api.watch("/api/v1/namespaces/team/configmaps", labelSelector="app=web",
                         timeoutSeconds="30") as stream:
        assert summary(await stream.next()) == ("ADDED", "in")

        await api.patch_configmap("team", "out", {"data": {"ignored": "yes"}})  # never selected: nothing
        await api.patch_configmap("team", "out", {"metadata": {"labels": {"app": "web"}}})
        entered = await stream.next()
        assert summary(entered) == ("ADDED", "out")
        assert entered["object"]["metadata"]["labels"] == {"app": "web"}

        await api.patch_configmap("team", "in", {"data": {"v": "2"}})
        assert summary(await stream.next()) == ("MODIFIED", "in")

        await api.patch_configmap("team", "in", {"metadata": {"labels": {"app": "db"}}})
        left = await stream.next()
        assert summary(left) == ("DELETED", "in")
        assert left["object"]["metadata"]["labels"] == {"app": "db"}  # the object as it is now

        await api.delete_configmap("team", "in")  # already outside the selection: nothing
        await api.delete_configmap("team", "out")
        assert summary(await stream.next()) == ("DELETED", "out")


async def test_label_selector_watch_resumed_after_restart_still_sees_objects_leave(tmp_path: Path) -> None:
    """Resuming from a revision in the window after a restart translates events as before the restart."""
    db = tmp_path / "state.db"
    async with running(Store(SqliteBackend(db), window=5)) as (_, api):
        await api.create_namespace("team")
        await api.create_configmap("team", "tracked", labels={"app": "web"})
        for i in range(3):
            await api.create_configmap("team", f"filler-{i}")
        resume_from = (await api.request("GET", "/api/v1/namespaces/team/configmaps"))["metadata"]["resourceVersion"]
        await api.patch_configmap("team", "tracked", {"metadata": {"labels": {"app": "db"}}})
        await api.create_configmap("team", "filler-3")
        await api.create_configmap("team", "joined", labels={"app": "web"})

    async with running(Store(SqliteBackend(db), window=5)) as (_, api), \
            api.watch("/api/v1/namespaces/team/configmaps", labelSelector="app=web",
                      resourceVersion=resume_from, timeoutSeconds="1") as stream:
        events = await stream.rest()
    # "tracked" was last written before the 5 revisions reloaded on start, and left the selection after
    assert [summary(e) for e in events] == [("DELETED", "tracked"), ("ADDED", "joined")]


async def test_field_selector_watch_follows_one_name(api: Client) -> None:
    async with api.watch("/api/v1/namespaces/team/configmaps", fieldSelector="metadata.name=b",
                         timeoutSeconds="30") as stream:
        for name in ("a", "b", "c"):
            await api.create_configmap("team", name)
        await api.delete_configmap("team", "b")
        assert [summary(e) for e in await stream.take(2)] == [("ADDED", "b"), ("DELETED", "b")]


# ---- scope and lifetime ------------------------------------------------------------------------------------

async def test_timeout_seconds_ends_the_stream(api: Client) -> None:
    started = time.monotonic()
    async with api.watch("/api/v1/namespaces/team/configmaps", timeoutSeconds="1") as stream:
        assert await stream.rest(timeout=10) == []
    assert 0.9 <= time.monotonic() - started < 5


async def test_namespaced_watch_sees_nothing_from_other_namespaces(api: Client) -> None:
    await api.create_configmap("team", "mine")
    async with api.watch("/api/v1/namespaces/team/configmaps", timeoutSeconds="30") as stream:
        assert summary(await stream.next()) == ("ADDED", "mine")
        await api.create_configmap("team2", "theirs")  # "team" is a prefix of "team2"
        await api.patch_configmap("team2", "theirs", {"data": {"x": "1"}})
        await api.delete_configmap("team2", "theirs")
        await api.create_configmap("team", "sentinel")
        assert summary(await stream.next()) == ("ADDED", "sentinel")

    async with api.watch("/api/v1/configmaps", timeoutSeconds="30") as everything:
        seen = sorted((e["object"]["metadata"]["namespace"], e["object"]["metadata"]["name"])
                      for e in await everything.take(2))
        assert seen == [("team", "mine"), ("team", "sentinel")]
        await api.create_configmap("team2", "later")
        assert summary(await everything.next()) == ("ADDED", "later")


async def test_watch_from_a_resource_version_replays_history_without_the_initial_list(api: Client) -> None:
    first = await api.create_configmap("team", "a")
    await api.patch_configmap("team", "a", {"data": {"v": "2"}})
    await api.create_configmap("team", "b")
    await api.delete_configmap("team", "a")
    async with api.watch("/api/v1/namespaces/team/configmaps", resourceVersion=first["metadata"]["resourceVersion"],
                         timeoutSeconds="1") as stream:
        assert [summary(e) for e in await stream.rest()] == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]


async def test_invalid_resource_version_is_a_bad_request(api: Client) -> None:
    async with api.session.get(api.base + "/api/v1/namespaces/team/configmaps",
                               params={"watch": "true", "resourceVersion": "abc"}) as response:
        status = await response.json()
    assert (response.status, status["reason"]) == (400, "BadRequest")


async def test_watch_from_a_revision_the_server_never_reached_is_refused(api: Client) -> None:
    """After losing data (say `--storage memory` restarted) a resumed watch must not skip events silently."""
    current = int((await api.request("GET", "/api/v1/namespaces/team/configmaps"))["metadata"]["resourceVersion"])
    async with api.session.get(api.base + "/api/v1/namespaces/team/configmaps",
                               params={"watch": "true", "resourceVersion": str(current + 100),
                                       "timeoutSeconds": "1"}) as response:
        status = await response.json()
    assert response.status == 504
    assert status["reason"] == "Timeout"
    assert "Too large resource version" in status["message"]
    assert [c["reason"] for c in status["details"]["causes"]] == ["ResourceVersionTooLarge"]
