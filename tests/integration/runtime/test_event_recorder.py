"""The event recorder against `herd serve`: a hot loop of 10,000 identical Events leaves one Event object with a
bounded count, and a burst of distinct messages about one object folds into a bounded number of objects."""

from __future__ import annotations

from herd.runtime import EVENT, Client
from herd.runtime.events import COMBINED_PREFIX, EventRecorder

MACHINE_DEPLOYMENT = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
                      "metadata": {"name": "spinning", "namespace": "default", "uid": "md-uid-1"}}


async def events_about(client: Client, name: str) -> list[dict[str, object]]:
    listed = await client.list(EVENT, namespace="default", field_selector=f"involvedObject.name={name}")
    return list(listed.items)


async def test_ten_thousand_identical_events_leave_one_object(client: Client) -> None:
    recorder = EventRecorder(client, "machinedeployment-controller")
    for _ in range(10_000):
        await recorder.warning(MACHINE_DEPLOYMENT, "FailedUpdate", "Failed to update MachineSet: conflict")
    (event,) = await events_about(client, "spinning")
    assert event["reason"] == "FailedUpdate"
    assert event["count"] == recorder.burst  # one create, then count patches until the object's bucket ran dry


async def test_a_flood_of_distinct_messages_is_folded(client: Client) -> None:
    recorder = EventRecorder(client, "machinedeployment-controller")
    folded = {**MACHINE_DEPLOYMENT, "metadata": {**MACHINE_DEPLOYMENT["metadata"], "name": "folded", "uid": "u-2"}}
    for number in range(10_000):
        await recorder.normal(folded, "SuccessfulScale", f"Scaled up MachineSet ms-{number}: 0 -> 1")
    events = await events_about(client, "folded")
    assert len(events) <= recorder.burst
    assert any(str(e["message"]).startswith(COMBINED_PREFIX) for e in events)
