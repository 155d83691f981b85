"""Events through both groups: a core/v1 Event is an events.k8s.io/v1 Event with kube's field names (regarding,
note, reportingController, deprecated*), field selectors work on each group's names, events.k8s.io/v1 writes are
validated as kube validates them, and Events expire a TTL after their last write."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp

from herd.apiserver.builtins import EVENTS
from herd.apiserver.controllers.event_ttl import EventExpiry
from herd.apiserver.server import APIServer

CORE = "/api/v1/namespaces/default/events"
EVENTS_V1 = "/apis/events.k8s.io/v1/namespaces/default/events"


def core_event(name: str, kind: str = "MachineDeployment", reason: str = "SuccessfulCreate") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": kind, "name": "md-0", "namespace": "default",
                           "apiVersion": "cluster.x-k8s.io/v1beta2"},
        "reason": reason, "message": 'Created MachineSet "md-0-abc"', "type": "Normal",
        "source": {"component": "machinedeployment-controller"}, "count": 3,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z",
        "reportingComponent": "machinedeployment-controller",
    }


async def post(http: aiohttp.ClientSession, path: str, body: Any) -> tuple[int, Any]:
    async with http.post(path, json=body) as response:
        return response.status, await response.json()


async def get(http: aiohttp.ClientSession, path: str, **params: str) -> Any:
    async with http.get(path, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_core_event_reads_as_events_k8s_io_v1(http: aiohttp.ClientSession) -> None:
    assert (await post(http, CORE, core_event("one")))[0] == 201
    shown = await get(http, f"{EVENTS_V1}/one")
    assert shown["apiVersion"] == "events.k8s.io/v1"
    assert shown["regarding"]["kind"] == "MachineDeployment"
    assert shown["note"] == 'Created MachineSet "md-0-abc"'
    assert shown["reportingController"] == "machinedeployment-controller"
    assert shown["deprecatedSource"] == {"component": "machinedeployment-controller"}
    assert (shown["deprecatedCount"], shown["deprecatedLastTimestamp"]) == (3, "2026-01-01T00:05:00Z")
    assert shown["eventTime"] is None
    assert not {"involvedObject", "message", "count", "source"} & set(shown)
    listed = await get(http, EVENTS_V1)
    assert (listed["kind"], [e["metadata"]["name"] for e in listed["items"]]) == ("EventList", ["one"])


async def test_an_events_k8s_io_v1_event_reads_as_core_v1(http: aiohttp.ClientSession) -> None:
    body = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "new"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "herd.io/machine-controller",
        "reportingInstance": "herd-1", "action": "Drain", "reason": "SuccessfulDrainNode", "type": "Normal",
        "regarding": {"kind": "Machine", "name": "m-1", "namespace": "default"}, "note": "drained",
    }
    status, created = await post(http, EVENTS_V1, body)
    assert status == 201, created
    assert created["note"] == "drained"
    core = await get(http, f"{CORE}/new")
    assert (core["apiVersion"], core["involvedObject"]["name"], core["message"]) == ("v1", "m-1", "drained")
    assert core["reportingComponent"] == "herd.io/machine-controller"


async def test_events_k8s_io_v1_refuses_what_kube_refuses(http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "bad"}, "type": "Odd",
            "regarding": {"kind": "Machine", "name": "m-1", "namespace": "default"}, "deprecatedCount": 2}
    status, answer = await post(http, EVENTS_V1, body)
    assert (status, answer["reason"]) == (422, "Invalid")
    fields = {cause["field"] for cause in answer["details"]["causes"]}
    assert {"eventTime", "type", "count"} <= fields
    status, answer = await post(http, CORE, {**core_event("elsewhere"), "involvedObject": {
        "kind": "Machine", "name": "m", "namespace": "other"}})
    assert status == 422
    assert answer["details"]["causes"][0]["message"] == 'Invalid value: "other": does not match event.namespace'


async def test_field_selectors_on_each_groups_names(http: aiohttp.ClientSession) -> None:
    await post(http, CORE, core_event("md", kind="MachineDeployment"))
    await post(http, CORE, core_event("ms", kind="MachineSet", reason="SuccessfulDelete"))

    async def names(path: str, selector: str) -> list[str]:
        return [e["metadata"]["name"] for e in (await get(http, path, fieldSelector=selector))["items"]]

    assert await names(CORE, "involvedObject.kind=MachineSet") == ["ms"]
    assert await names(EVENTS_V1, "regarding.kind=MachineDeployment") == ["md"]
    assert await names(EVENTS_V1, "regarding.name=md-0,reason=SuccessfulDelete") == ["ms"]
    assert await names(EVENTS_V1, "reportingController=machinedeployment-controller") == ["md", "ms"]
    assert await names(CORE, "type=Warning") == []
    async with http.get(EVENTS_V1, params={"fieldSelector": "involvedObject.kind=Machine"}) as response:
        assert response.status == 400
        assert (await response.json())["message"] == "field label not supported: involvedObject.kind"


async def test_discovery_lists_events_k8s_io_v1(http: aiohttp.ClientSession) -> None:
    resources = await get(http, "/apis/events.k8s.io/v1")
    (events,) = resources["resources"]
    assert (events["name"], events["kind"], events["namespaced"]) == ("events", "Event", True)
    groups = await get(http, "/apis")
    assert "events.k8s.io" in [g["name"] for g in groups["groups"]]


async def test_events_expire_a_ttl_after_their_last_write(server: APIServer, http: aiohttp.ClientSession) -> None:
    expiry = asyncio.ensure_future(EventExpiry(server.store, ttl=0.6).run())
    await asyncio.sleep(0.05)  # it has listed: what follows counts from its writes, not its (old) timestamps
    try:
        await post(http, CORE, core_event("short"))
        await post(http, CORE, core_event("repeated"))
        for count in range(4, 8):  # each repeat is a write that starts the TTL again
            await asyncio.sleep(0.3)
            async with http.patch(f"{CORE}/repeated", json={"count": count},
                                  headers={"Content-Type": "application/merge-patch+json"}) as response:
                assert response.status == 200
        names = [e["metadata"]["name"] for e in (await get(http, CORE))["items"]]
        assert names == ["repeated"]
        await asyncio.sleep(1.0)
        assert (await get(http, CORE))["items"] == []
    finally:
        expiry.cancel()


async def test_kubectl_get_shows_the_same_columns_through_either_group(http: aiohttp.ClientSession) -> None:
    await post(http, CORE, core_event("tabled"))
    table_of: dict[str, list[Any]] = {}
    for path in (CORE, EVENTS_V1):
        async with http.get(path, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}) as response:
            table = await response.json()
        names = [c["name"] for c in table["columnDefinitions"]]
        table_of[path] = [dict(zip(names, row["cells"], strict=True)) for row in table["rows"]]
    assert table_of[CORE] == table_of[EVENTS_V1]
    [row] = table_of[EVENTS_V1]
    assert (row["Object"], row["Message"], row["Count"]) == (
        "machinedeployment/md-0", 'Created MachineSet "md-0-abc"', 3)
    assert row["Source"] == "machinedeployment-controller"


async def test_events_found_at_start_count_from_their_newest_timestamp(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, last in (("old", "2026-01-01T00:05:00Z"), ("recent", now)):  # as a restarted server finds them
        event = core_event(name)
        event["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
        event["lastTimestamp"] = last
        await server.store.create(EVENTS.key("default", name), event)
    expiry = asyncio.ensure_future(EventExpiry(server.store, ttl=3600).run())
    try:
        for _ in range(50):
            names = [e["metadata"]["name"] for e in (await get(http, CORE))["items"]]
            if names == ["recent"]:
                break
            await asyncio.sleep(0.02)
        assert names == ["recent"]
    finally:
        expiry.cancel()
