"""kill -9 of `herd serve` (sqlite) during concurrent writes: an informer's list-then-watch never misses a change.

Each round: writers create ConfigMaps while a lister keeps listing; the server is killed mid-writes and
restarted; more writes land; then the watch resumes from the last list's resourceVersion, as an informer
reconnecting does. Either the server answers 410 (the informer relists) or the list plus the watched events
rebuild exactly the state a fresh list shows: nothing skipped, nothing duplicated, nothing that was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from support.plane import ServedPlane, start_plane

ROUNDS = 10
WRITERS = 8
WRITES_AFTER_RESTART = 20
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@dataclass
class Listing:
    revision: int
    objects: dict[str, str]  # name -> resourceVersion


@dataclass
class Outcome:
    relisted: int = 0  # rounds answered 410
    resumed: int = 0  # rounds whose watch resumed exactly
    skipped: int = 0
    duplicated: int = 0
    acknowledged_lost: list[str] = field(default_factory=list)


def admin_context(plane: ServedPlane) -> ssl.SSLContext:
    pki = plane.data_dir / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    return context


async def list_configmaps(session: aiohttp.ClientSession, url: str) -> Listing:
    async with session.get(url + CONFIGMAPS) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    objects = {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in body["items"]}
    return Listing(int(body["metadata"]["resourceVersion"]), objects)


async def create(session: aiohttp.ClientSession, url: str, name: str) -> str:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}
    async with session.post(url + CONFIGMAPS, json=body) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["metadata"]["resourceVersion"])


async def write_and_list_until_killed(session: aiohttp.ClientSession, url: str, prefix: str,
                                      acknowledged: dict[str, str]) -> Listing | None:
    """Writers and a lister run until the server dies; the last listing that came back."""
    last: list[Listing] = []

    async def writer(index: int) -> None:
        for n in range(10_000):
            name = f"{prefix}-w{index}-{n}"
            acknowledged[name] = await create(session, url, name)

    async def lister() -> None:
        while True:
            last.append(await list_configmaps(session, url))
            await asyncio.sleep(0.01)

    tasks = [asyncio.ensure_future(writer(i)) for i in range(WRITERS)] + [asyncio.ensure_future(lister())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return last[-1] if last else None


async def watched_until(session: aiohttp.ClientSession, url: str, revision: int,
                        sentinel: str) -> list[dict[str, Any]] | None:
    """Events from `revision` until the sentinel's ADDED; None if the server answered 410 (relist)."""
    events: list[dict[str, Any]] = []
    query = f"?watch=true&resourceVersion={revision}&timeoutSeconds=30"
    async with session.get(url + CONFIGMAPS + query) as response:
        if response.status == 410:
            return None
        assert response.status == 200, await response.text()
        async for line in response.content:
            event = json.loads(line)
            if event["type"] == "ERROR":
                assert event["object"]["code"] == 410, event
                return None
            events.append(event)
            if event["object"]["metadata"]["name"] == sentinel:
                return events
    raise AssertionError("the watch ended before the sentinel arrived")


async def one_round(plane: ServedPlane, number: int, outcome: Outcome) -> None:
    acknowledged: dict[str, str] = {}
    connector = aiohttp.TCPConnector(ssl=admin_context(plane), limit=WRITERS + 2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        killer = asyncio.get_running_loop().call_later(random.uniform(0.3, 0.8), plane.process.kill)
        with contextlib.suppress(aiohttp.ClientError, AssertionError):
            listing = await write_and_list_until_killed(session, plane.url, f"r{number}", acknowledged)
        killer.cancel()
    assert listing is not None, "no list completed before the kill"
    await asyncio.to_thread(plane.restart, signal.SIGKILL)

    connector = aiohttp.TCPConnector(ssl=admin_context(plane))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        after_restart = await list_configmaps(session, plane.url)
        for name, revision in acknowledged.items():  # an acknowledged create survives kill -9
            if after_restart.objects.get(name) != revision:
                outcome.acknowledged_lost.append(name)
        for n in range(WRITES_AFTER_RESTART):  # writes that an informer reconnecting later must not miss
            await create(session, plane.url, f"r{number}-after-{n}")
        sentinel = f"r{number}-sentinel"
        watch = asyncio.ensure_future(watched_until(session, plane.url, listing.revision, sentinel))
        await asyncio.sleep(0.1)
        await create(session, plane.url, sentinel)
        events = await watch
        if events is None:
            outcome.relisted += 1
            return
        outcome.resumed += 1
        rebuilt = dict(listing.objects)
        seen: set[str] = set()
        for event in events:
            meta = event["object"]["metadata"]
            revision = meta["resourceVersion"]
            if revision in seen or int(revision) <= listing.revision:
                outcome.duplicated += 1
            seen.add(revision)
            if event["type"] == "DELETED":
                rebuilt.pop(meta["name"], None)
            else:
                rebuilt[meta["name"]] = revision
        actual = (await list_configmaps(session, plane.url)).objects
        outcome.skipped += sum(1 for name in actual.keys() | rebuilt.keys() if actual.get(name) != rebuilt.get(name))


async def test_watch_resumed_from_a_list_after_kill_9_misses_nothing(tmp_path: Path) -> None:
    plane = await asyncio.to_thread(start_plane, tmp_path / "data", tmp_path / "kubectl-cache")
    outcome = Outcome()
    try:
        for number in range(ROUNDS):
            await one_round(plane, number, outcome)
    finally:
        await asyncio.to_thread(plane.stop)
    print(outcome)
    assert outcome.relisted + outcome.resumed == ROUNDS
    assert (outcome.skipped, outcome.duplicated, outcome.acknowledged_lost) == (0, 0, []), outcome
