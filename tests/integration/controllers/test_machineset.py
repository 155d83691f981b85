"""The MachineSet controller against a real `herd serve`: cloning templates, scaling, deletion order, finalizer.

Only the MachineSet controller runs, so Machines never get a Node; the test removes the Machine finalizer
itself where the Machine controller would, once it has seen the MachineSet ask for the deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from support.manager import management_client, running_manager
from support.objects import gone
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.bootstrap import KUBEADM_CONFIG, KUBEADM_CONFIG_TEMPLATE
from herd.api.cluster import CLUSTER, MACHINE, MACHINE_SET
from herd.api.infrastructure import DEV_MACHINE, DEV_MACHINE_TEMPLATE
from herd.controllers import machineset as machineset_controller
from herd.runtime import Client, Kind, NotFound, Object, conditions

SET_NAME = "cluster.x-k8s.io/set-name"
FAST = 0.3


@contextlib.asynccontextmanager
async def running(plane: ServedPlane, namespace: str) -> AsyncIterator[Client]:
    """A manager running the MachineSet controller; yields a management client."""
    machine_sets = functools.partial(machineset_controller.new_controller, template_wait=FAST)
    async with management_client(plane.kubeconfig, namespace) as client, running_manager(client, machine_sets):
        yield client


async def create_cluster_and_templates(client: Client, ns: str) -> None:
    await client.create({"apiVersion": CLUSTER.api_version, "kind": "Cluster",
                         "metadata": {"name": "c", "namespace": ns},
                         "spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                        "kind": "DevCluster", "name": "c"}}})
    await client.create({"apiVersion": KUBEADM_CONFIG_TEMPLATE.api_version, "kind": "KubeadmConfigTemplate",
                         "metadata": {"name": "workers", "namespace": ns},
                         "spec": {"template": {"metadata": {"labels": {"from-bootstrap-template": "yes"}},
                                               "spec": {"joinConfiguration": {"nodeRegistration": {"name": "n"}}}}}})
    await client.create({"apiVersion": DEV_MACHINE_TEMPLATE.api_version, "kind": "DevMachineTemplate",
                         "metadata": {"name": "workers", "namespace": ns},
                         "spec": {"template": {"spec": {"backend": {"inMemory": {}}}}}})


def machine_set(ns: str, replicas: int) -> Object:
    labels = {"pool": "workers", "machine-template-hash": "h1"}
    return {"apiVersion": MACHINE_SET.api_version, "kind": "MachineSet",
            "metadata": {"name": "workers", "namespace": ns},
            "spec": {"clusterName": "c", "replicas": replicas, "selector": {"matchLabels": labels},
                     "deletion": {"order": "Newest"},
                     "template": {"metadata": {"labels": labels, "annotations": {"team": "blue"}},
                                  "spec": {"clusterName": "c", "version": "v1.33.0",
                                           "deletion": {"nodeDrainTimeoutSeconds": 30},
                                           "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io",
                                                                       "kind": "KubeadmConfigTemplate",
                                                                       "name": "workers"}},
                                           "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                                 "kind": "DevMachineTemplate", "name": "workers"}}}}}


async def items(client: Client, kind: Kind, ns: str) -> list[Object]:
    return (await client.list(kind, namespace=ns)).items


async def count_is(client: Client, kind: Kind, ns: str, n: int) -> bool:
    return len(await items(client, kind, ns)) == n


def controller_of(obj: Object) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


async def release(client: Client, machine: Object) -> None:
    """What the Machine controller would do once done: drop its finalizer."""
    with contextlib.suppress(NotFound):
        await client.patch(MACHINE, machine["metadata"]["name"], {"metadata": {"finalizers": None}},
                           namespace=machine["metadata"]["namespace"])


async def test_machineset_clones_templates_scales_down_in_order_and_deletes_its_machines(
        shared_plane: ServedPlane) -> None:
    ns = "ms-scale"
    async with running(shared_plane, ns) as client:
        await create_cluster_and_templates(client, ns)
        await client.create(machine_set(ns, 3))
        ms = await client.get(MACHINE_SET, "workers", ns)

        for kind in (MACHINE, KUBEADM_CONFIG, DEV_MACHINE):
            await eventually(lambda kind=kind: count_is(client, kind, ns, 3), what=f"3 {kind.kind}s")
        await asyncio.sleep(1.0)  # no more are made once the cache has caught up
        machines = await items(client, MACHINE, ns)
        assert len(machines) == 3
        for m in machines:
            name, labels = m["metadata"]["name"], m["metadata"]["labels"]
            assert name.startswith("workers-") and len(name) == len("workers-") + 5
            assert labels[SET_NAME] == "workers" and labels["machine-template-hash"] == "h1"
            assert labels["cluster.x-k8s.io/cluster-name"] == "c" and labels["pool"] == "workers"
            assert m["metadata"]["annotations"]["team"] == "blue"
            owner = controller_of(m)
            assert owner is not None and owner["kind"] == "MachineSet" and owner["uid"] == ms["metadata"]["uid"]
            assert "machine.cluster.x-k8s.io" in m["metadata"]["finalizers"]
            assert m["spec"]["bootstrap"]["configRef"] == {"apiGroup": "bootstrap.cluster.x-k8s.io",
                                                           "kind": "KubeadmConfig", "name": name}
            assert m["spec"]["infrastructureRef"]["name"] == name and m["spec"]["version"] == "v1.33.0"
            assert m["spec"]["deletion"]["nodeDrainTimeoutSeconds"] == 30
            for kind, template_kind in ((KUBEADM_CONFIG, "KubeadmConfigTemplate"), (DEV_MACHINE, "DevMachineTemplate")):
                clone = await client.get(kind, name, ns)
                annotations = clone["metadata"]["annotations"]
                assert annotations["cluster.x-k8s.io/cloned-from-name"] == "workers"
                assert annotations["cluster.x-k8s.io/cloned-from-groupkind"] == \
                    f"{template_kind}.{kind.api_version.rpartition('/')[0]}"
                assert clone["metadata"]["labels"][SET_NAME] == "workers"
                assert [r["uid"] for r in clone["metadata"]["ownerReferences"]] == [ms["metadata"]["uid"]]
            config = await client.get(KUBEADM_CONFIG, name, ns)
            assert config["metadata"]["labels"]["from-bootstrap-template"] == "yes"

        async def status_reports_three() -> bool:
            st = (await client.get(MACHINE_SET, "workers", ns)).get("status") or {}
            return st.get("replicas") == 3 and st.get("selector") == "machine-template-hash=h1,pool=workers"
        await eventually(status_reports_three, what="status.replicas 3")
        current = await client.get(MACHINE_SET, "workers", ns)
        assert "cluster.x-k8s.io/machineset" in current["metadata"]["finalizers"]
        assert conditions.get_condition(current, "ScalingUp")["reason"] == "NotScalingUp"  # type: ignore[index]

        # the marked Machine goes first; then (none has a Node, so all rank alike) the first by name
        names = sorted(m["metadata"]["name"] for m in machines)
        marked = names[2]
        await client.patch(MACHINE, marked, {"metadata": {"annotations": {"cluster.x-k8s.io/delete-machine": ""}}},
                           namespace=ns)
        await client.patch(MACHINE_SET, "workers", {"spec": {"replicas": 1}}, namespace=ns)

        async def two_deleting() -> bool:
            return sorted(m["metadata"]["name"] for m in await items(client, MACHINE, ns)
                          if m["metadata"].get("deletionTimestamp")) == sorted([marked, names[0]])
        await eventually(two_deleting, what="the marked and the first Machine deleting")
        await asyncio.sleep(1.0)
        assert sum(1 for m in await items(client, MACHINE, ns) if m["metadata"].get("deletionTimestamp")) == 2
        for m in await items(client, MACHINE, ns):
            if m["metadata"].get("deletionTimestamp"):
                await release(client, m)
        await eventually(lambda: count_is(client, MACHINE, ns, 1), what="one Machine left")

        async def status_reports_one() -> bool:
            st = (await client.get(MACHINE_SET, "workers", ns)).get("status") or {}
            return st.get("replicas") == 1
        await eventually(status_reports_one, what="status.replicas 1")
        assert [m["metadata"]["name"] for m in await items(client, MACHINE, ns)] == [names[1]]

        # deleting the MachineSet deletes its Machine first; the finalizer holds it until the Machine is gone
        await client.delete(MACHINE_SET, "workers", ns)

        async def last_machine_deleting() -> bool:
            left = await items(client, MACHINE, ns)
            return len(left) == 1 and bool(left[0]["metadata"].get("deletionTimestamp"))
        await eventually(last_machine_deleting, what="the last Machine deleting")
        assert (await client.get(MACHINE_SET, "workers", ns))["metadata"].get("deletionTimestamp")
        await release(client, (await items(client, MACHINE, ns))[0])
        await eventually(gone(client, MACHINE_SET, "workers", ns), what="the MachineSet gone")


async def test_missing_template_is_reported_and_machines_appear_once_it_exists(shared_plane: ServedPlane) -> None:
    ns = "ms-missing"
    async with running(shared_plane, ns) as client:
        await create_cluster_and_templates(client, ns)
        await client.delete(DEV_MACHINE_TEMPLATE, "workers", ns)
        await client.create(machine_set(ns, 2))

        async def blocked() -> bool:
            found = conditions.get_condition(await client.get(MACHINE_SET, "workers", ns), "ScalingUp")
            return found is not None and "DevMachineTemplate does not exist" in str(found.get("message"))
        await eventually(blocked, what="ScalingUp blocked by the missing template")
        assert await items(client, MACHINE, ns) == [] and await items(client, KUBEADM_CONFIG, ns) == []
        await client.create({"apiVersion": DEV_MACHINE_TEMPLATE.api_version, "kind": "DevMachineTemplate",
                             "metadata": {"name": "workers", "namespace": ns},
                             "spec": {"template": {"spec": {"backend": {"inMemory": {}}}}}})
        await eventually(lambda: count_is(client, MACHINE, ns, 2), what="2 Machines")


async def test_orphans_are_adopted_remediation_replaces_machines_and_template_labels_propagate(
        shared_plane: ServedPlane) -> None:
    ns = "ms-adopt"
    async with running(shared_plane, ns) as client:
        await create_cluster_and_templates(client, ns)
        await client.create({"apiVersion": MACHINE.api_version, "kind": "Machine",
                             "metadata": {"name": "orphan", "namespace": ns,
                                          "labels": {"pool": "workers", "machine-template-hash": "h1"}},
                             "spec": {"clusterName": "c", "bootstrap": {"dataSecretName": "s"},
                                      "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                            "kind": "DevMachine", "name": "orphan"}}})
        await client.create(machine_set(ns, 2))

        async def adopted() -> bool:
            owner = controller_of(await client.get(MACHINE, "orphan", ns))
            return owner is not None and owner["kind"] == "MachineSet"
        await eventually(adopted, what="the orphan adopted")
        await eventually(lambda: count_is(client, MACHINE, ns, 2), what="one Machine added to the orphan")

        # a MachineHealthCheck's verdict: the MachineSet deletes the Machine and makes a new one
        orphan = await client.get(MACHINE, "orphan", ns)
        verdict = {"type": "OwnerRemediated", "status": "False", "reason": "WaitingForRemediation",
                   "message": "Waiting for remediation", "lastTransitionTime": "2025-06-01T12:00:00Z"}
        await client.patch_status(MACHINE, "orphan", {"status": {"conditions": [
            *((orphan.get("status") or {}).get("conditions") or []), verdict]}}, namespace=ns)
        # the orphan has no finalizer (no Machine controller runs): it just goes
        await eventually(gone(client, MACHINE, "orphan", ns), what="the unhealthy Machine deleted")
        await eventually(lambda: count_is(client, MACHINE, ns, 2), what="a replacement Machine")
        assert "orphan" not in [m["metadata"]["name"] for m in await items(client, MACHINE, ns)]

        await client.patch(MACHINE_SET, "workers", {"spec": {"template": {"metadata": {"labels": {"tier": "gold"}}}}},
                           namespace=ns)

        async def propagated() -> bool:
            return all((m["metadata"].get("labels") or {}).get("tier") == "gold"
                       for m in await items(client, MACHINE, ns))
        await eventually(propagated, what="the new template label on every Machine")
