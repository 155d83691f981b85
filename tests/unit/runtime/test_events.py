"""The event recorder: repeats become count patches, floods are folded and capped, failures never reach the caller."""

from __future__ import annotations

from typing import Any, cast

from herd.runtime import Client, NotFound
from herd.runtime.events import COMBINED_PREFIX, EventRecorder

MACHINE_SET = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineSet",
               "metadata": {"name": "workers", "namespace": "demo", "uid": "u-1", "resourceVersion": "7"}}


class Recording:
    """Stands in for the API: keeps the Events by name, as the server would."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self.failing = False

    async def create(self, obj: dict[str, Any], *, kind: Any = None) -> dict[str, Any]:
        self.writes += 1
        if self.failing:
            raise ConnectionError("the server is away")
        self.events[obj["metadata"]["name"]] = dict(obj)
        return obj

    async def patch(self, kind: Any, name: str, patch: dict[str, Any], *, namespace: str | None = None) -> Any:
        self.writes += 1
        if name not in self.events:
            raise NotFound(404, "NotFound", f'events "{name}" not found')
        self.events[name].update(patch)
        return self.events[name]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def recorder(api: Recording, clock: Clock | None = None, **kw: Any) -> EventRecorder:
    return EventRecorder(cast(Client, api), "machineset-controller", clock=clock or Clock(), **kw)


async def test_the_first_event_is_written_as_kubectl_describe_reads_it() -> None:
    api = Recording()
    await recorder(api).normal(MACHINE_SET, "SuccessfulCreate", 'Created machine "workers-abc"')
    (event,) = api.events.values()
    assert event["metadata"]["namespace"] == "demo"
    assert event["metadata"]["name"].startswith("workers.")
    assert event["involvedObject"] == {"kind": "MachineSet", "namespace": "demo", "name": "workers", "uid": "u-1",
                                       "apiVersion": "cluster.x-k8s.io/v1beta2", "resourceVersion": "7"}
    assert (event["type"], event["reason"], event["count"]) == ("Normal", "SuccessfulCreate", 1)
    assert event["source"] == {"component": "machineset-controller"}
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2027-01-15T08:00:00Z"


async def test_a_repeat_increments_the_count_of_the_same_event() -> None:
    api, clock = Recording(), Clock()
    events = recorder(api, clock)
    for _ in range(3):
        await events.warning(MACHINE_SET, "FailedCreate", "Failed to create machine: quota")
        clock.now += 60
    (event,) = api.events.values()
    assert event["count"] == 3
    assert (event["firstTimestamp"], event["lastTimestamp"]) == ("2027-01-15T08:00:00Z", "2027-01-15T08:02:00Z")


async def test_an_expired_event_is_written_anew() -> None:
    api = Recording()
    events = recorder(api)
    await events.warning(MACHINE_SET, "FailedCreate", "quota")
    api.events.clear()  # the server's TTL removed it
    await events.warning(MACHINE_SET, "FailedCreate", "quota")
    assert [e["count"] for e in api.events.values()] == [1]


async def test_many_similar_messages_fold_into_one_combined_event() -> None:
    api = Recording()
    events = recorder(api)
    for number in range(20):
        await events.normal(MACHINE_SET, "SuccessfulCreate", f'Created machine "workers-{number}"')
    combined = [e for e in api.events.values() if e["message"].startswith(COMBINED_PREFIX)]
    assert len(api.events) == 10
    assert len(combined) == 1 and combined[0]["count"] == 11
    assert combined[0]["message"] == COMBINED_PREFIX + 'Created machine "workers-19"'


async def test_a_hot_loop_is_capped_per_object_and_refills_with_time() -> None:
    api, clock = Recording(), Clock()
    events = recorder(api, clock, burst=25, refill_seconds=300)
    for _ in range(10_000):
        await events.normal(MACHINE_SET, "Spinning", "again")
    assert api.writes == 25
    assert [e["count"] for e in api.events.values()] == [25]
    clock.now += 300
    await events.normal(MACHINE_SET, "Spinning", "again")
    assert api.writes == 26


async def test_a_failing_write_is_swallowed_and_retried_as_a_create() -> None:
    api = Recording()
    events = recorder(api)
    api.failing = True
    await events.normal(MACHINE_SET, "SuccessfulDelete", 'Deleted machine "workers-1"')  # does not raise
    api.failing = False
    await events.normal(MACHINE_SET, "SuccessfulDelete", 'Deleted machine "workers-1"')
    assert [e["count"] for e in api.events.values()] == [1]


async def test_cluster_scoped_objects_get_their_events_in_default() -> None:
    api = Recording()
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u"}}
    await recorder(api).normal(node, "Drained", "drained")
    (event,) = api.events.values()
    assert event["metadata"]["namespace"] == "default"
