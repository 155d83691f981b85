"""A provider written on the SDK, run against an API server: what a user sees on its objects — finalizers, the
endpoint and failure domains, providerID and addresses, the waits, paused, errors as conditions retried with growing
delays, Events, and deletion.

The provider is a fake cloud in a dict; only the SDK's two controllers run (no core controllers), so each test
plays the Cluster and Machine controllers' part by hand: owner references, the Cluster's initialization, the
Machine's bootstrap data."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import Field
from support.manager import ensure_namespace, install_crds, running
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.cluster import CLUSTER, MACHINE
from herd.providersdk import (
    APIEndpoint,
    Backoff,
    ClusterContext,
    ClusterKind,
    ClusterProvisioned,
    ClusterSpec,
    ClusterStatus,
    FailureDomain,
    InfrastructureProvider,
    MachineAddress,
    MachineContext,
    MachineKind,
    MachineProvisioned,
    MachineSpec,
    MachineStatus,
    RetryableError,
    Waiting,
    find_or_create,
)
from herd.runtime import EVENT, SECRET, Client, Manager, NotFound, Object

NAMES = (f"t{i}" for i in itertools.count())


class FakeClusterSpec(ClusterSpec):
    region: str = Field(default="here", description="Where.")


class FakeClusterStatus(ClusterStatus):
    network_id: str | None = Field(default=None, alias="networkID", description="The network made.")


class FakeMachineSpec(MachineSpec):
    size: str = Field(default="small", description="How big.")


@dataclass
class Cloud:
    """What the fake provider made, and the faults to inject."""

    networks: dict[str, str] = field(default_factory=dict)
    vms: dict[str, bytes] = field(default_factory=dict)
    throttle: int = 0  # the next N cluster reconciles fail with Throttling
    attempts: list[float] = field(default_factory=list)


CLOUD = Cloud()


async def reconcile_cluster(ctx: ClusterContext[FakeClusterSpec, FakeClusterStatus]) -> ClusterProvisioned:
    CLOUD.attempts.append(time.monotonic())
    if CLOUD.throttle > 0:
        CLOUD.throttle -= 1
        raise RetryableError("Rate exceeded", reason="Throttling")
    network, _ = await find_or_create(lambda: CLOUD.networks.get(ctx.name),
                                      lambda: CLOUD.networks.setdefault(ctx.name, f"net-{ctx.name}"))
    ctx.status.network_id = network
    ctx.set_condition("NetworkReady", True, "Created")
    return ClusterProvisioned(endpoint=APIEndpoint(host="10.0.0.1", port=6443),
                              failure_domains=[FailureDomain(name="zone-a", control_plane=True)])


async def delete_cluster(ctx: ClusterContext[FakeClusterSpec, FakeClusterStatus]) -> Waiting | None:
    if ctx.machines():
        return Waiting("WaitingForMachines", "machines remain")
    CLOUD.networks.pop(ctx.name, None)
    return None


async def reconcile_machine(ctx: MachineContext[FakeMachineSpec, MachineStatus]) -> MachineProvisioned:
    CLOUD.vms[ctx.name] = await ctx.bootstrap_data()
    return MachineProvisioned(f"fake:///{ctx.name}", [MachineAddress(type="InternalIP", address="10.0.0.9")])


async def delete_machine(ctx: MachineContext[FakeMachineSpec, MachineStatus]) -> None:
    CLOUD.vms.pop(ctx.name, None)


PROVIDER = InfrastructureProvider(
    name="fake", backoff=Backoff(initial=0.3, factor=2.0, maximum=5.0),
    cluster=ClusterKind("FakeCluster", FakeClusterSpec, FakeClusterStatus, reconcile=reconcile_cluster,
                        delete=delete_cluster),
    machine=MachineKind("FakeMachine", FakeMachineSpec, MachineStatus, reconcile=reconcile_machine,
                        delete=delete_machine),
)


@pytest.fixture
async def client(shared_plane: ServedPlane) -> AsyncIterator[Client]:
    """A client of the module's plane with the fake provider's controllers running."""
    management = Client.from_kubeconfig(shared_plane.kubeconfig)
    await install_crds(management, PROVIDER.crds())  # kept when an earlier test of the module installed them
    manager = Manager(management, health_port=None)
    PROVIDER.add_to(manager)
    async with running(manager):
        yield management
    await management.close()


@dataclass
class World:
    client: Client
    namespace: str
    cluster: Object

    async def get(self, kind: Any, name: str) -> Object:
        return await self.client.get(kind, name, self.namespace)

    async def condition(self, kind: Any, name: str, type_: str) -> dict[str, Any]:
        obj = await self.get(kind, name)
        return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})

    async def events(self, name: str) -> list[str]:
        found = await self.client.list(EVENT, namespace=self.namespace)
        return [e["reason"] for e in found.items if e["involvedObject"]["name"] == name]


def owner(obj: Object) -> list[dict[str, Any]]:
    return [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
             "uid": obj["metadata"]["uid"]}]


async def new_world(client: Client, *, paused: bool = False) -> World:
    namespace = next(NAMES) + "-" + str(int(time.time() * 1000) % 100000)
    await ensure_namespace(client, namespace)
    cluster = await client.create({
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
        "metadata": {"name": "c", "namespace": namespace},
        "spec": {"paused": paused, "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                         "kind": "FakeCluster", "name": "c"}}}, kind=CLUSTER)
    return World(client, namespace, cluster)


async def create_infra_cluster(world: World) -> None:
    await world.client.create({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "FakeCluster",
        "metadata": {"name": "c", "namespace": world.namespace, "ownerReferences": owner(world.cluster),
                     "labels": {"cluster.x-k8s.io/cluster-name": "c"}}, "spec": {}}, kind=PROVIDER.cluster_kind)


async def test_a_cluster_is_provisioned_with_its_endpoint_failure_domains_and_conditions(client: Client) -> None:
    world = await new_world(client)
    await create_infra_cluster(world)

    async def provisioned() -> Object | bool:
        obj = await world.get(PROVIDER.cluster_kind, "c")
        return obj if (obj.get("status") or {}).get("initialization", {}).get("provisioned") else False

    obj = await eventually(provisioned, "FakeCluster provisioned")
    assert obj["metadata"]["finalizers"] == ["fakecluster.infrastructure.cluster.x-k8s.io"]
    assert obj["spec"]["controlPlaneEndpoint"] == {"host": "10.0.0.1", "port": 6443}
    assert obj["status"]["failureDomains"] == [{"name": "zone-a", "controlPlane": True}]
    assert obj["status"]["networkID"] == "net-c"
    types = {c["type"]: (c["status"], c["reason"]) for c in obj["status"]["conditions"]}
    assert types["Provisioned"] == ("True", "Provisioned")
    assert types["NetworkReady"] == ("True", "Created")
    assert types["Ready"] == ("True", "Ready")
    assert types["Paused"] == ("False", "NotPaused")
    await eventually(lambda: _recorded(world, "c", "Provisioned"), "the Provisioned Event")


async def test_a_paused_cluster_is_only_told_it_is_paused(client: Client) -> None:
    world = await new_world(client, paused=True)
    await create_infra_cluster(world)
    await eventually(lambda: _is(lambda: _status(world, "Paused"), "True"), "Paused reported")
    obj = await world.get(PROVIDER.cluster_kind, "c")
    assert not obj["metadata"].get("finalizers") and "controlPlaneEndpoint" not in obj["spec"]


async def test_errors_are_conditions_retried_with_growing_delays(client: Client) -> None:
    world = await new_world(client)
    CLOUD.throttle, CLOUD.attempts = 3, []
    await create_infra_cluster(world)

    async def throttled() -> dict[str, Any] | bool:
        found = await world.condition(PROVIDER.cluster_kind, "c", "Provisioned")
        return found if found.get("reason") == "Throttling" else False

    condition = await eventually(throttled, "the Throttling condition")
    assert condition["status"] == "False" and condition["message"].startswith("Rate exceeded (attempt ")
    ready = await world.condition(PROVIDER.cluster_kind, "c", "Ready")
    assert ready["status"] == "False" and "Rate exceeded" in ready["message"]

    async def recovered() -> bool:
        return (await world.condition(PROVIDER.cluster_kind, "c", "Provisioned")).get("status") == "True"

    await eventually(recovered, "provisioned once the throttling stops")
    gaps = [b - a for a, b in itertools.pairwise(CLOUD.attempts[:4])]
    assert len(gaps) == 3 and gaps[0] >= 0.25 and gaps[1] > gaps[0] * 1.5 and gaps[2] > gaps[1] * 1.5, gaps
    await eventually(lambda: _recorded(world, "c", "Throttling"), "a Throttling Event")


async def test_a_machine_waits_for_the_cluster_infrastructure_and_its_bootstrap_data(client: Client) -> None:
    world = await new_world(client)
    machine = await client.create({
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
        "metadata": {"name": "m", "namespace": world.namespace},
        "spec": {"clusterName": "c", "bootstrap": {},
                 "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "FakeMachine",
                                       "name": "m"}}}, kind=MACHINE)
    await client.create({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "FakeMachine",
        "metadata": {"name": "m", "namespace": world.namespace, "ownerReferences": owner(machine),
                     "labels": {"cluster.x-k8s.io/cluster-name": "c"}}, "spec": {}}, kind=PROVIDER.machine_kind)

    async def reason() -> str:
        return str((await world.condition(PROVIDER.machine_kind, "m", "Provisioned")).get("reason"))

    await eventually(lambda: _is(reason, "WaitingForClusterInfrastructureReady"), "waiting for the cluster")
    await client.patch_status(CLUSTER, "c", {"status": {"initialization": {"infrastructureProvisioned": True}}},
                              namespace=world.namespace)
    await eventually(lambda: _is(reason, "WaitingForControlPlaneInitialized"), "waiting for the control plane")
    await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "m-data",
                         "namespace": world.namespace}, "data": {"value": base64.b64encode(b"#cloud-config").decode()}},
                        kind=SECRET)
    await client.patch(MACHINE, "m", {"spec": {"bootstrap": {"dataSecretName": "m-data"}}}, namespace=world.namespace)
    await eventually(lambda: _is(reason, "Provisioned"), "provisioned")
    obj = await world.get(PROVIDER.machine_kind, "m")
    assert obj["spec"]["providerID"] == "fake:///m"
    assert obj["status"]["addresses"] == [{"type": "InternalIP", "address": "10.0.0.9"}]
    assert obj["status"]["initialization"] == {"provisioned": True}
    assert CLOUD.vms["m"] == b"#cloud-config"

    # deleting: the cluster waits for its machines, then both go and the provider cleaned up
    await create_infra_cluster(world)
    await eventually(lambda: _is(lambda: _cluster_reason(world), "Provisioned"), "cluster provisioned")
    await client.delete(PROVIDER.cluster_kind, "c", namespace=world.namespace)
    await eventually(lambda: _is(lambda: _cluster_reason(world), "Deleting"), "the cluster waits for its machines")
    await client.delete(PROVIDER.machine_kind, "m", namespace=world.namespace)
    await eventually(lambda: _gone(world), "both deleted")
    assert "m" not in CLOUD.vms


async def _recorded(world: World, name: str, reason: str) -> bool:
    return reason in await world.events(name)


async def _status(world: World, condition: str) -> str:
    return str((await world.condition(PROVIDER.cluster_kind, "c", condition)).get("status"))


async def _cluster_reason(world: World) -> str:
    return str((await world.condition(PROVIDER.cluster_kind, "c", "Provisioned")).get("reason"))


async def _is(probe: Any, expected: str) -> bool:
    return bool(await probe() == expected)


async def _gone(world: World) -> bool:
    for kind, name in ((PROVIDER.machine_kind, "m"), (PROVIDER.cluster_kind, "c")):
        try:
            await world.get(kind, name)
            return False
        except NotFound:
            pass
    return True
