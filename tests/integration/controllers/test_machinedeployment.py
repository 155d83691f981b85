"""The MachineDeployment controller against a real `herd serve`.

Only this controller runs: the test plays the MachineSet controller by reporting the MachineSets'
status.replicas and status.availableReplicas by hand.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from support.manager import management_client, running_manager
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.cluster import CLUSTER, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import MACHINE_DEPLOYMENT_UNIQUE_LABEL, REVISION_ANNOTATION
from herd.controllers import machinedeployment
from herd.runtime import EVENT, AlreadyExists, Client

NS = "md-test"


@contextlib.asynccontextmanager
async def running(plane: ServedPlane) -> AsyncIterator[Client]:
    """A manager running only the MachineDeployment controller; yields a client."""
    deployments = functools.partial(machinedeployment.new_controller, cluster_wait=0.3)
    async with management_client(plane.kubeconfig, NS) as client, running_manager(client, deployments):
        yield client


def machine_deployment(name: str, replicas: int, **rolling: Any) -> dict[str, Any]:
    return {
        "apiVersion": CLUSTER.api_version, "kind": "MachineDeployment", "metadata": {"name": name, "namespace": NS},
        "spec": {
            "clusterName": "c1", "replicas": replicas, "selector": {"matchLabels": {"pool": name}},
            "rollout": {"strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}},
            "template": {
                "metadata": {"labels": {"pool": name}},
                "spec": {"clusterName": "c1", "version": "v1.30.0", "bootstrap": {"dataSecretName": "data"},
                         "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine",
                                               "name": "t"}}}}}


async def machine_sets(client: Client, md_name: str) -> list[dict[str, Any]]:
    listed = await client.list(MACHINE_SET, namespace=NS)
    found = [ms for ms in listed.items
             if any(ref.get("name") == md_name for ref in ms["metadata"].get("ownerReferences") or [])]
    return sorted(found, key=lambda ms: int(ms["metadata"]["annotations"][REVISION_ANNOTATION]))


async def report(client: Client, ms: dict[str, Any], current: int, available: int, *,
                 up_to_date: int | None = None) -> None:
    """What the MachineSet controller would write: its Machines exist and are available (and, with `up_to_date`,
    how many match the template, having acted on the set's latest spec)."""
    status: dict[str, Any] = {"replicas": current, "availableReplicas": available, "readyReplicas": available}
    if up_to_date is not None:
        status |= {"upToDateReplicas": up_to_date, "observedGeneration": ms["metadata"]["generation"]}
    await client.patch_status(MACHINE_SET, ms["metadata"]["name"], {"status": status}, namespace=NS)


async def ensure_cluster(client: Client) -> None:
    """The unpaused Cluster `c1` the MachineDeployments belong to (the plane is shared by the module's tests)."""
    with contextlib.suppress(AlreadyExists):
        await client.create({"apiVersion": CLUSTER.api_version, "kind": "Cluster",
                             "metadata": {"name": "c1", "namespace": NS}, "spec": {"paused": False}})


async def test_rolling_update_moves_machines_to_a_new_machine_set_within_surge(shared_plane: ServedPlane) -> None:
    async with running(shared_plane) as client:
        await ensure_cluster(client)
        await client.create(machine_deployment("workers", 3, maxSurge=1, maxUnavailable=0))

        async def one_set_of_three() -> bool:
            sets = await machine_sets(client, "workers")
            return len(sets) == 1 and sets[0]["spec"]["replicas"] == 3

        await eventually(one_set_of_three, what="a MachineSet with 3 replicas")
        [first] = await machine_sets(client, "workers")
        first_hash = first["metadata"]["labels"][MACHINE_DEPLOYMENT_UNIQUE_LABEL]
        assert first["spec"]["selector"]["matchLabels"] == {"pool": "workers", MACHINE_DEPLOYMENT_UNIQUE_LABEL:
                                                            first_hash}
        assert first["spec"]["template"]["metadata"]["labels"][MACHINE_DEPLOYMENT_UNIQUE_LABEL] == first_hash
        assert first["metadata"]["annotations"][REVISION_ANNOTATION] == "1"
        await report(client, first, 3, 3)

        async def md_available() -> bool:
            md = await client.get(MACHINE_DEPLOYMENT, "workers", NS)
            return md.get("status", {}).get("availableReplicas") == 3 and md["status"].get("phase") == "Running"

        await eventually(md_available, what="MachineDeployment reports 3 available")
        await client.patch(MACHINE_DEPLOYMENT, "workers", {"spec": {"template": {"spec": {"version": "v1.31.0"}}}},
                           namespace=NS)

        async def second_set_surges() -> bool:
            sets = await machine_sets(client, "workers")
            return len(sets) == 2 and sets[1]["spec"]["replicas"] == 1

        await eventually(second_set_surges, what="a second MachineSet scaled to maxSurge")
        old, new = await machine_sets(client, "workers")
        assert old["spec"]["replicas"] == 3
        assert new["metadata"]["annotations"][REVISION_ANNOTATION] == "2"
        assert new["metadata"]["labels"][MACHINE_DEPLOYMENT_UNIQUE_LABEL] != first_hash
        assert new["spec"]["template"]["spec"]["version"] == "v1.31.0"

        async def play_machine_set_controller() -> bool:
            """Report each set's Machines as they would become; check the surge and availability bounds."""
            sets = await machine_sets(client, "workers")
            assert sum(ms["spec"]["replicas"] for ms in sets) <= 4
            for ms in sets:
                wanted, status = ms["spec"]["replicas"], ms.get("status") or {}
                if status.get("replicas") != wanted or status.get("availableReplicas") != wanted:
                    await report(client, ms, wanted, wanted)
            old, new = sets
            return old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 3

        await eventually(play_machine_set_controller, what="the rollout to finish")
        old, new = await machine_sets(client, "workers")
        await report(client, old, 0, 0)
        await report(client, new, 3, 3)

        async def rolled_out() -> bool:
            md = await client.get(MACHINE_DEPLOYMENT, "workers", NS)
            conditions = {c["type"]: c["status"] for c in md.get("status", {}).get("conditions") or []}
            return (md["status"].get("replicas") == 3 and conditions.get("RollingOut") == "False"
                    and conditions.get("Available") == "True"
                    and md["metadata"]["annotations"].get(REVISION_ANNOTATION) == "2")

        await eventually(rolled_out, what="the MachineDeployment to report the rollout done")
        # what kubectl describe shows: the MachineSets created, and each scaling step of the rollout
        listed = await client.list(EVENT, namespace=NS, field_selector="involvedObject.kind=MachineDeployment,"
                                   "involvedObject.name=workers")
        told = {(e["reason"], e["message"]) for e in listed.items}
        old_name, new_name = old["metadata"]["name"], new["metadata"]["name"]
        assert {("SuccessfulCreate", f"Created MachineSet {NS}/{old_name} with 3 replicas"),
                ("SuccessfulCreate", f"Created MachineSet {NS}/{new_name} with 0 replicas"),
                ("SuccessfulScale", f"Scaled up MachineSet {new_name}: 0 -> 1"),
                ("SuccessfulScale", f"Scaled down MachineSet {old_name}: 3 -> 2")} <= told
        assert {e["source"]["component"] for e in listed.items} == {"machinedeployment-controller"}


async def test_a_finished_rolling_update_deletes_the_old_machine_set(shared_plane: ServedPlane) -> None:
    async with running(shared_plane) as client:
        await ensure_cluster(client)
        await client.create(machine_deployment("rolled", 2, maxSurge=1, maxUnavailable=0))
        reported: dict[str, int] = {}  # the Machines each set was last said to have

        async def play_machine_set_controller() -> list[dict[str, Any]]:
            """Report each set's Machines as they would become (those of the current template up to date)."""
            sets = await machine_sets(client, "rolled")
            for name, count in reported.items():  # a set may go only once it has no Machines left
                assert count == 0 or any(ms["metadata"]["name"] == name for ms in sets), (name, count)
            md = await client.get(MACHINE_DEPLOYMENT, "rolled", NS)
            version = md["spec"]["template"]["spec"]["version"]
            for ms in sets:
                wanted, status = ms["spec"]["replicas"], ms.get("status") or {}
                current = wanted if ms["spec"]["template"]["spec"]["version"] == version else 0
                if (status.get("replicas"), status.get("upToDateReplicas"), status.get("observedGeneration")) != \
                        (wanted, current, ms["metadata"]["generation"]):
                    await report(client, ms, wanted, wanted, up_to_date=current)
                reported[ms["metadata"]["name"]] = wanted
            return sets

        async def only(version: str) -> bool:
            sets = await play_machine_set_controller()
            return [(ms["spec"]["template"]["spec"]["version"], ms["spec"]["replicas"]) for ms in sets] == \
                [(version, 2)]

        await eventually(lambda: only("v1.30.0"), what="one MachineSet of 2 Machines")
        [old] = await machine_sets(client, "rolled")
        await client.patch(MACHINE_DEPLOYMENT, "rolled", {"spec": {"template": {"spec": {"version": "v1.31.0"}}}},
                           namespace=NS)
        await eventually(lambda: only("v1.31.0"), what="the rollout to finish with the old MachineSet deleted")

        # what `kubectl get machinesets` shows: the new set alone, all its Machines there
        listed = await client.list(MACHINE_SET, namespace=NS, label_selector="pool=rolled")
        [new] = listed.items
        assert new["metadata"]["name"] != old["metadata"]["name"]
        assert new["metadata"]["annotations"][REVISION_ANNOTATION] == "2"
        assert (new["spec"]["replicas"], new["status"]["replicas"], new["status"]["availableReplicas"]) == (2, 2, 2)

        async def reports_two_up_to_date() -> bool:
            status = (await client.get(MACHINE_DEPLOYMENT, "rolled", NS))["status"]
            rolling_out = {c["type"]: c["status"] for c in status.get("conditions") or []}.get("RollingOut")
            return (status["replicas"], status["upToDateReplicas"], rolling_out) == (2, 2, "False")

        await eventually(reports_two_up_to_date, what="the MachineDeployment to report 2 up-to-date replicas")
        events = await client.list(EVENT, namespace=NS, field_selector="involvedObject.kind=MachineDeployment,"
                                   "involvedObject.name=rolled")
        assert ("SuccessfulDelete", f'Deleted MachineSet "{old["metadata"]["name"]}"') in \
            {(e["reason"], e["message"]) for e in events.items}
