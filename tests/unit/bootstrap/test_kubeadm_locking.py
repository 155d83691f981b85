"""The control plane init lock, against an in-memory stand-in for the API server's create/get/update/delete."""

from __future__ import annotations

import copy
import json

import pytest

from herd.api.cluster import MACHINE
from herd.bootstrap.kubeadm.locking import InitLock, holder, lock_configmap
from herd.runtime import AlreadyExists, Conflict, Kind, NotFound, Object

CLUSTER: Object = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                   "metadata": {"name": "c1", "namespace": "ns", "uid": "u-c1"}}


def machine(name: str) -> Object:
    return {"apiVersion": MACHINE.api_version, "kind": "Machine", "metadata": {"name": name, "namespace": "ns"}}


class FakeServer:
    """Objects by (kind, namespace, name) with resourceVersions, answering like the API server does."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Object] = {}
        self.revision = 0

    def _key(self, kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
        return kind, namespace or "", name

    def _stored(self, obj: Object) -> Object:
        self.revision += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.revision)
        return stored

    def add(self, obj: Object) -> None:
        meta = obj["metadata"]
        self.objects[self._key(obj["kind"], meta.get("namespace"), meta["name"])] = self._stored(obj)

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> Object:
        found = self.objects.get(self._key(kind.kind, namespace, name))
        if found is None:
            raise NotFound(404, "NotFound", f"{name} not found")
        return copy.deepcopy(found)

    async def create(self, obj: Object, *, kind: Kind | None = None) -> Object:
        meta = obj["metadata"]
        key = self._key(obj["kind"], meta.get("namespace"), meta["name"])
        if key in self.objects:
            raise AlreadyExists(409, "AlreadyExists", f"{meta['name']} exists")
        self.objects[key] = self._stored(obj)
        return copy.deepcopy(self.objects[key])

    async def update(self, obj: Object, *, kind: Kind | None = None) -> Object:
        meta = obj["metadata"]
        key = self._key(obj["kind"], meta.get("namespace"), meta["name"])
        current = self.objects.get(key)
        if current is None:
            raise NotFound(404, "NotFound", "gone")
        if current["metadata"]["resourceVersion"] != meta.get("resourceVersion"):
            raise Conflict(409, "Conflict", "changed")
        self.objects[key] = self._stored(obj)
        return copy.deepcopy(self.objects[key])

    async def delete(self, kind: Kind, name: str, namespace: str | None = None) -> None:
        if self.objects.pop(self._key(kind.kind, namespace, name), None) is None:
            raise NotFound(404, "NotFound", f"{name} not found")

    def lock_holder(self) -> str | None:
        found = self.objects.get(("ConfigMap", "ns", "c1-lock"))
        return None if found is None else holder(found)


@pytest.fixture
def server() -> FakeServer:
    fake = FakeServer()
    for name in ("cp-0", "cp-1"):
        fake.add(machine(name))
    return fake


def init_lock(server: FakeServer) -> InitLock:
    return InitLock(server, MACHINE)  # type: ignore[arg-type]


async def test_the_first_machine_gets_the_lock_and_keeps_it(server: FakeServer) -> None:
    lock = init_lock(server)
    assert await lock.lock(CLUSTER, machine("cp-0"))
    assert server.lock_holder() == "cp-0"
    assert not await lock.lock(CLUSTER, machine("cp-1")), "a second machine waits"
    assert await lock.lock(CLUSTER, machine("cp-0")), "the holder asking again still holds it"


def test_the_lock_configmap_is_upstreams() -> None:
    configmap = lock_configmap(CLUSTER, "cp-0")
    assert configmap["metadata"]["name"] == "c1-lock"
    assert configmap["metadata"]["labels"] == {"cluster.x-k8s.io/cluster-name": "c1"}
    assert configmap["metadata"]["ownerReferences"][0]["uid"] == "u-c1"
    assert json.loads(configmap["data"]["lock-information"]) == {"machineName": "cp-0"}


async def test_unlock_releases_and_tolerates_a_missing_lock(server: FakeServer) -> None:
    lock = init_lock(server)
    await lock.lock(CLUSTER, machine("cp-0"))
    await lock.unlock(CLUSTER)
    assert server.lock_holder() is None
    await lock.unlock(CLUSTER)
    assert await lock.lock(CLUSTER, machine("cp-1"))


async def test_a_lock_whose_machine_is_gone_is_taken_over(server: FakeServer) -> None:
    lock = init_lock(server)
    await lock.lock(CLUSTER, machine("cp-0"))
    await server.delete(MACHINE, "cp-0", "ns")
    assert await lock.lock(CLUSTER, machine("cp-1"))
    assert server.lock_holder() == "cp-1"


async def test_a_lock_being_deleted_machine_is_taken_over(server: FakeServer) -> None:
    lock = init_lock(server)
    await lock.lock(CLUSTER, machine("cp-0"))
    server.objects[("Machine", "ns", "cp-0")]["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    assert await lock.lock(CLUSTER, machine("cp-1"))


async def test_two_takers_of_a_stale_lock_cannot_both_win(server: FakeServer) -> None:
    server.add(machine("cp-2"))
    await init_lock(server).lock(CLUSTER, machine("cp-0"))
    await server.delete(MACHINE, "cp-0", "ns")
    stale = await server.get(Kind("v1", "ConfigMap", "configmaps"), "c1-lock", "ns")
    # cp-1 and cp-2 both read the stale lock before either takes it over
    racing_get_calls = 0
    original_get = server.get

    async def get(kind: Kind, name: str, namespace: str | None = None) -> Object:
        nonlocal racing_get_calls
        if kind.kind == "ConfigMap":
            racing_get_calls += 1
            return copy.deepcopy(stale)
        return await original_get(kind, name, namespace)

    server.get = get  # type: ignore[method-assign]
    results = [await init_lock(server).lock(CLUSTER, machine(name)) for name in ("cp-1", "cp-2")]
    assert results == [True, False]
    assert server.lock_holder() == "cp-1"
    assert racing_get_calls == 2


def test_holder_reads_unreadable_information_as_nobody() -> None:
    assert holder({"data": {"lock-information": "not json"}}) is None
    assert holder({"data": {}}) is None
    assert holder({}) is None
