"""The topology controller against a real `herd serve`, stopped between creating an object and the write that
records it (the Cluster's references, a MachineDeployment after its templates, a health check after its
MachineDeployment), then started again with a fresh cache, as after `kill -9`.

The stop is simulated by a write that fails (an HTTP 500) until the manager is stopped; the failed reconcile
is retried meanwhile, as it would be. Each Cluster must end with one infrastructure cluster, one control plane,
one MachineDeployment per topology entry, and only the templates those reference. Also: duplicates left by
earlier attempts are folded into one, and a MachineDeployment the cache has not seen yet keeps its templates.
Only this controller runs (no Cluster controller adopts what it makes)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.manager import ensure_namespace, install_crds, running_manager
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.cluster import CLUSTER, MACHINE_DEPLOYMENT
from herd.controllers import topology
from herd.controllers.topology import load as topology_load
from herd.runtime import AlreadyExists, Cache, Client, Controller, Kind
from herd.runtime.errors import ApiError

NS = "topology-crash"
OWNED = "topology.cluster.x-k8s.io/owned"
KCP_API_VERSION = "controlplane.cluster.x-k8s.io/v1beta2"
INFRA_API_VERSION = "infrastructure.cluster.x-k8s.io/v1beta2"
BOOTSTRAP_API_VERSION = "bootstrap.cluster.x-k8s.io/v1beta2"
CLASS_FILE = Path(__file__).parents[3] / "examples" / "clusterclass-dev.yaml"
Picker = Callable[..., bool]  # the arguments of a client call → whether it is the one watched for


@pytest.fixture
async def client(shared_plane: ServedPlane) -> AsyncIterator[Client]:
    """A client of the plane, with the CRDs, the namespace and the `dev` ClusterClass and its templates."""
    client = Client.from_kubeconfig(shared_plane.kubeconfig)
    try:
        await install_crds(client)
        await ensure_namespace(client, NS)
        for doc in yaml.safe_load_all(CLASS_FILE.read_text()):
            if doc:
                doc["metadata"]["namespace"] = NS
                with contextlib.suppress(AlreadyExists):  # made by an earlier test of the module
                    await client.create(doc, kind=await client.kind_of(doc))
        yield client
    finally:
        await client.close()


def cluster(name: str) -> dict[str, Any]:
    return {"apiVersion": CLUSTER.api_version, "kind": "Cluster", "metadata": {"name": name, "namespace": NS},
            "spec": {"topology": {
                "classRef": {"name": "dev"}, "version": "v1.33.0",
                "variables": [{"name": "vmStartupDuration", "value": "1s"}],
                "controlPlane": {"replicas": 1},
                "workers": {"machineDeployments": [{"class": "default-worker", "name": "md-0", "replicas": 1}]}}}}


@contextlib.contextmanager
def intercepted(client: Client, method: str, when: Picker, *, fail: bool = True) -> Iterator[list[tuple[Any, ...]]]:
    """Calls of `client.<method>` that `when` picks, listed in the yielded list while the block runs; with `fail`
    they fail with a 500 instead of reaching the server."""
    real = getattr(client, method)
    picked: list[tuple[Any, ...]] = []

    async def call(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            picked.append(args)
            if fail:
                raise ApiError(500, "InternalError", f"injected failure of {method}")
        return await real(*args, **kwargs)
    setattr(client, method, call)
    try:
        yield picked
    finally:
        delattr(client, method)


def run_topology(client: Client, caches: list[Cache] | None = None) -> contextlib.AbstractAsyncContextManager[Any]:
    """A manager running the topology controller (its cache appended to `caches`)."""
    def new_controller(c: Client, _clusters: Any, cache: Cache) -> Controller:
        if caches is not None:
            caches.append(cache)
        return topology.new_controller(c, cache, poll_seconds=1)
    return running_manager(client, new_controller)


async def owned(client: Client, api_version: str, kind: str, name: str) -> list[dict[str, Any]]:
    """The objects of a kind the topology made for Cluster `name` (deleting ones left out)."""
    listed = await client.list(await client.kind_of({"apiVersion": api_version, "kind": kind}), namespace=NS,
                               label_selector=f"cluster.x-k8s.io/cluster-name={name},{OWNED}")
    return [o for o in listed.items if not o["metadata"].get("deletionTimestamp")]


async def crash_then_restart(client: Client, name: str, method: str, when: Picker, *, times: int = 2) -> None:
    """Cluster `name` reconciled until `when`'s writes failed `times` times (the failed reconcile is retried),
    the controller stopped, then started again without the failure until `settled`."""
    await client.create(cluster(name), kind=CLUSTER)
    with intercepted(client, method, when) as failures:
        async with run_topology(client):
            await eventually(lambda: len(failures) >= times, f"the {method} failing {times} times", timeout=20)
    async with run_topology(client):
        await settled(client, name)


async def settled(client: Client, name: str) -> dict[str, Any]:
    """The Cluster's spec once it references its objects, its MachineDeployment exists (the control plane
    reported provisioned, which workers wait for) and each object is there once."""
    async def made_once() -> dict[str, Any]:
        spec: dict[str, Any] = (await client.get(CLUSTER, name, NS))["spec"]
        assert spec.get("infrastructureRef") and spec.get("controlPlaneRef"), spec
        await report_provisioned(client, spec["controlPlaneRef"]["name"])
        assert await owned(client, MACHINE_DEPLOYMENT.api_version, "MachineDeployment", name)
        await assert_one_of_each(client, name)
        return spec
    return await eventually(made_once, f"Cluster {name}'s topology made once", timeout=20)


async def report_provisioned(client: Client, name: str) -> None:
    """What the KubeadmControlPlane controller would write once the control plane runs its version."""
    kind = await client.kind_of({"apiVersion": KCP_API_VERSION, "kind": "KubeadmControlPlane"})
    kcp = await client.get(kind, name, NS)
    if not (kcp.get("status") or {}).get("version"):
        await client.patch_status(kind, name, {"status": {"version": kcp["spec"]["version"]}}, namespace=NS)


async def assert_one_of_each(client: Client, name: str) -> None:
    """One infrastructure cluster, control plane and MachineDeployment, the ones referenced, and no template
    besides those they reference."""
    spec = (await client.get(CLUSTER, name, NS))["spec"]
    infra = await owned(client, INFRA_API_VERSION, "DevCluster", name)
    assert [o["metadata"]["name"] for o in infra] == [spec["infrastructureRef"]["name"]]
    kcps = await owned(client, KCP_API_VERSION, "KubeadmControlPlane", name)
    assert [o["metadata"]["name"] for o in kcps] == [spec["controlPlaneRef"]["name"]]
    mds = await owned(client, MACHINE_DEPLOYMENT.api_version, "MachineDeployment", name)
    assert len(mds) == 1, [o["metadata"]["name"] for o in mds]
    machine = mds[0]["spec"]["template"]["spec"]
    machine_templates = await owned(client, INFRA_API_VERSION, "DevMachineTemplate", name)
    assert sorted(o["metadata"]["name"] for o in machine_templates) == sorted(
        [kcps[0]["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"], machine["infrastructureRef"]["name"]])
    configs = await owned(client, BOOTSTRAP_API_VERSION, "KubeadmConfigTemplate", name)
    assert [o["metadata"]["name"] for o in configs] == [machine["bootstrap"]["configRef"]["name"]]


def cluster_references_written(kind: Any, name: str, patch: dict[str, Any], **_: Any) -> bool:
    return bool(kind == CLUSTER and "controlPlaneRef" in (patch.get("spec") or {}))


async def test_control_plane_made_before_a_failed_cluster_update_is_the_one_referenced(client: Client) -> None:
    await crash_then_restart(client, "refs", "patch", cluster_references_written)


async def test_control_plane_made_before_a_failed_creation_is_kept(client: Client) -> None:
    """Stopped between the infrastructure cluster and the control plane, then between the control plane's
    machine template and the control plane."""
    def control_plane_created(obj: dict[str, Any], **_: Any) -> bool:
        return bool(obj["kind"] == "KubeadmControlPlane")
    await crash_then_restart(client, "cp", "create", control_plane_created)


@pytest.mark.parametrize("kind", ["MachineDeployment", "MachineHealthCheck"])
async def test_machine_deployment_made_once_when_stopped_around_its_creation(client: Client, kind: str) -> None:
    """Stopped between a MachineDeployment's templates and it, then between it and its health check."""
    name = f"workers-{kind.lower()}"

    def worker_object_created(obj: dict[str, Any], **_: Any) -> bool:
        return bool(obj["kind"] == kind and obj["metadata"]["name"].startswith(f"{name}-md-0-"))
    # a failed MachineDeployment creation is not retried at once: the control plane it waits for is made by then
    await crash_then_restart(client, name, "create", worker_object_created, times=1)


async def test_duplicates_left_by_a_controller_that_did_not_look_are_folded_into_one(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A controller that generated a new name whenever the Cluster referenced nothing left an infrastructure
    cluster and a control plane per failed attempt: the oldest of each is adopted, the others deleted."""
    name = "dups"
    await client.create(cluster(name), kind=CLUSTER)
    with monkeypatch.context() as patched, intercepted(client, "patch", cluster_references_written) as failures:
        patched.setattr(topology_load, "_unreferenced", no_lookup)
        async with run_topology(client):
            await eventually(lambda: len(failures) >= 3, "three failed reconciles", timeout=20)
    made = sorted(await owned(client, INFRA_API_VERSION, "DevCluster", name), key=creation_order)
    made_kcps = sorted(await owned(client, KCP_API_VERSION, "KubeadmControlPlane", name), key=creation_order)
    assert len(made) >= 3 and len(made_kcps) >= 3

    async with run_topology(client):
        spec = await settled(client, name)  # the deleted control planes' machine templates gone with them
    assert spec["infrastructureRef"]["name"] == made[0]["metadata"]["name"]
    assert spec["controlPlaneRef"]["name"] == made_kcps[0]["metadata"]["name"]


async def no_lookup(*_: Any) -> None:
    return None


def creation_order(obj: dict[str, Any]) -> tuple[str, str]:
    return str(obj["metadata"]["creationTimestamp"]), str(obj["metadata"]["name"])


async def test_templates_of_a_machine_deployment_the_cache_has_not_seen_yet_are_kept(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconciles whose cache does not list the MachineDeployment yet (made moments before) make no second one
    and do not delete its templates as unused."""
    name = "unseen"
    await client.create(cluster(name), kind=CLUSTER)
    async with run_topology(client):
        await settled(client, name)
    caches: list[Cache] = []
    template_kinds = [await client.kind_of({"apiVersion": api_version, "kind": kind}) for api_version, kind in
                      ((INFRA_API_VERSION, "DevMachineTemplate"), (BOOTSTRAP_API_VERSION, "KubeadmConfigTemplate"))]

    def machine_deployments_listed(kind: Kind, **_: Any) -> bool:
        return kind == MACHINE_DEPLOYMENT

    with intercepted(client, "list", machine_deployments_listed, fail=False) as server_lists:
        async with run_topology(client, caches):
            cache = caches[0]
            real_list = cache.list
            monkeypatch.setattr(cache, "list", lambda kind, **kw: [] if kind == MACHINE_DEPLOYMENT
                                else real_list(kind, **kw))
            await eventually(lambda: all(cache.informer(kind).has_synced for kind in template_kinds),
                             "the template kinds watched", timeout=20)
            # a reconcile that starts after a touch runs with the templates watched; the next touch's reconcile
            # asks the server only once the previous reconcile has ended (one at a time per Cluster)
            for touch in range(2):
                seen = len(server_lists)
                await client.patch(CLUSTER, name, {"metadata": {"annotations": {"touched": str(touch)}}},
                                   namespace=NS)
                await eventually(lambda seen=seen: len(server_lists) > seen,
                                 "a reconcile asking the server for the MachineDeployment", timeout=20)
    await assert_one_of_each(client, name)
