"""Two managers, one Lease: exactly one reconciles; when it dies or steps down the other takes over."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from support.plane import ServedPlane
from support.waiting import eventually

from herd.runtime import (
    CONFIGMAP,
    LEASE,
    Client,
    Controller,
    LeaderElectionConfig,
    LeaderElectionLost,
    Manager,
    ObjectKey,
    Result,
)

NS = "default"
LEASE_DURATION = 2.0
RETRY = 0.25


class Candidate:
    """A manager with its own connection, recording what its controller reconciles."""

    def __init__(self, plane: ServedPlane, name: str, *, release_on_cancel: bool = True) -> None:
        self.client = Client.from_kubeconfig(plane.kubeconfig)
        self.reconciled: list[str] = []
        config = LeaderElectionConfig(name="runtime-test", namespace=NS, identity=name,
                                      lease_duration=LEASE_DURATION, renew_deadline=1.5, retry_period=RETRY,
                                      release_on_cancel=release_on_cancel)
        self.manager = Manager(self.client, leader_election=config, health_port=None)
        self.manager.add(Controller.builder("cm").for_(CONFIGMAP).build(self.reconcile))
        self.task: asyncio.Task[None] | None = None

    async def reconcile(self, key: ObjectKey) -> Result:
        self.reconciled.append(key.name)
        return Result()

    def start(self) -> None:
        self.task = asyncio.create_task(self.manager.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaderElectionLost):
                await self.task
        await self.client.close()


@pytest.fixture
async def writer(plane: ServedPlane) -> Client:
    return Client.from_kubeconfig(plane.kubeconfig)


async def create_configmaps(client: Client, *names: str) -> None:
    for name in names:
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}})


@pytest.mark.parametrize("graceful", [False, True], ids=["killed", "stopped"])
async def test_exactly_one_of_two_managers_reconciles_and_the_other_takes_over(plane: ServedPlane, writer: Client,
                                                                            graceful: bool) -> None:
    first = Candidate(plane, "first", release_on_cancel=graceful)
    second = Candidate(plane, "second")
    try:
        first.start()
        assert await first.manager.wait_leading(timeout=15)
        second.start()
        assert await second.manager.wait_synced(timeout=15), "a candidate keeps a warm cache"
        await create_configmaps(writer, *(f"cm-{i}" for i in range(10)))
        await eventually(lambda: {f"cm-{i}" for i in range(10)} <= set(first.reconciled))
        # a few renewals later the candidate still waits and has reconciled nothing
        renewals: set[str] = set()

        async def renewed_three_times() -> bool:
            lease = await writer.get(LEASE, "runtime-test", NS)
            assert lease["spec"]["holderIdentity"] == "first"
            renewals.add(lease["spec"]["renewTime"])
            return len(renewals) >= 3

        await eventually(renewed_three_times, poll=RETRY / 2, timeout=10)
        assert not second.manager.is_leader and second.reconciled == []

        stopped_at = time.monotonic()
        await first.stop()  # killed: the Lease is left to expire; stopped: it is released
        assert await second.manager.wait_leading(timeout=LEASE_DURATION * 3)
        takeover = time.monotonic() - stopped_at
        if graceful:
            assert takeover < LEASE_DURATION, f"a released lease is taken at once, not after {takeover:.2f}s"
        else:
            # expiry is judged on the candidate's clock from when it saw the last renewal, checked every retry
            assert takeover <= LEASE_DURATION + 2 * 2.2 * RETRY + 1.0, f"took {takeover:.2f}s"
        await eventually(lambda: {f"cm-{i}" for i in range(10)} <= set(second.reconciled))
        reconciled_by_first = len(first.reconciled)
        await create_configmaps(writer, "after")
        await eventually(lambda: "after" in second.reconciled)
        assert len(first.reconciled) == reconciled_by_first
        lease = await writer.get(LEASE, "runtime-test", NS)
        assert lease["spec"]["holderIdentity"] == "second" and lease["spec"]["leaseTransitions"] >= 1
    finally:
        await first.stop()
        await second.stop()
        await writer.close()


async def test_a_leader_that_cannot_renew_stops_its_controllers(plane: ServedPlane, writer: Client) -> None:
    leader = Candidate(plane, "leader")
    try:
        leader.start()
        assert await leader.manager.wait_leading(timeout=15)
        # someone else holds the Lease now (as after a long pause of the leader): renewals fail
        lease = await writer.get(LEASE, "runtime-test", NS)
        lease["spec"].update({"holderIdentity": "intruder", "leaseDurationSeconds": 60})
        await writer.update(lease, kind=LEASE)
        assert leader.task is not None
        with pytest.raises(LeaderElectionLost):
            await asyncio.wait_for(asyncio.shield(leader.task), timeout=10)
        assert not leader.manager.is_leader
        assert not leader.manager.controllers[0].started
        await create_configmaps(writer, "unseen")
        assert "unseen" not in leader.reconciled
    finally:
        await leader.stop()
        await writer.close()
