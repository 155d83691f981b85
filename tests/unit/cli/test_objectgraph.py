"""`herd move`'s object graph from fixed objects: what moves, in which order, and the objects made for the
target (owners rewritten to new UIDs, server metadata and status left out, Clusters paused)."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.cli.objectgraph import (
    BLOCK_MOVE_ANNOTATION,
    DELETE_FOR_MOVE_ANNOTATION,
    MOVED_FROM_ANNOTATION,
    Inventory,
    MoveNode,
    blocked,
    build_move_plan,
    not_paused,
    order_groups,
    rewrite_owner_references,
    still_provisioning,
    target_object,
)
from herd.runtime import CONFIGMAP, SECRET, Kind, Object

WIDGET = Kind("example.com/v1", "Widget", "widgets")


def obj(kind: Kind, name: str, *, owners: tuple[str, ...] = (), labels: dict[str, str] | None = None,
        spec: dict[str, Any] | None = None) -> tuple[Kind, Object]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{kind.kind}-{name}", "labels": labels or {}}
    if owners:
        meta["ownerReferences"] = [{"apiVersion": "x/v1", "kind": o.split("/")[0], "name": o.split("/")[1],
                                    "uid": f"uid-{o.replace('/', '-')}"} for o in owners]
    return kind, {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "spec": spec or {}}


def ref(kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": kind, "name": name}


CLUSTER_LABEL = {"cluster.x-k8s.io/cluster-name": "fleet"}
FLEET = [
    obj(CLUSTER, "fleet", spec={"infrastructureRef": ref("DevCluster", "fleet")}),
    obj(DEV_CLUSTER, "fleet", owners=("Cluster/fleet",)),
    obj(MACHINE_DEPLOYMENT, "md", owners=("Cluster/fleet",), labels=CLUSTER_LABEL),
    obj(MACHINE_SET, "ms", owners=("MachineDeployment/md",), labels=CLUSTER_LABEL),
    obj(MACHINE, "m1", owners=("MachineSet/ms",), labels=CLUSTER_LABEL,
        spec={"infrastructureRef": ref("DevMachine", "m1"), "bootstrap": {"dataSecretName": "m1-data"}}),
    obj(DEV_MACHINE, "m1", owners=("Machine/m1",)),
    obj(SECRET, "m1-data"),  # only the Machine's dataSecretName points at it
    obj(SECRET, "fleet-kubeconfig"),  # named after the Cluster
    obj(CONFIGMAP, "labelled", labels=CLUSTER_LABEL),
]
OTHERS = [
    obj(SECRET, "unrelated"),
    obj(CONFIGMAP, "forced", labels={"clusterctl.cluster.x-k8s.io/move": ""}),
    obj(WIDGET, "w1"),
    obj(SECRET, "w1-owned", owners=("Widget/w1",)),
]


def labels_in_order(groups: list[list[MoveNode]]) -> list[list[str]]:
    return [[node.label for node in group] for group in groups]


@pytest.mark.parametrize(("move_kinds", "hierarchy_kinds", "expected"), [
    pytest.param(frozenset(), frozenset(), [
        ["Cluster/fleet", "ConfigMap/forced", "Secret/m1-data"],
        ["ConfigMap/labelled", "DevCluster/fleet", "MachineDeployment/md", "Secret/fleet-kubeconfig"],
        ["MachineSet/ms"], ["Machine/m1"], ["DevMachine/m1"]], id="a-cluster-and-what-belongs-to-it"),
    pytest.param(frozenset({WIDGET.group_kind}), frozenset(), [
        ["Cluster/fleet", "ConfigMap/forced", "Secret/m1-data", "Widget/w1"],
        ["ConfigMap/labelled", "DevCluster/fleet", "MachineDeployment/md", "Secret/fleet-kubeconfig"],
        ["MachineSet/ms"], ["Machine/m1"], ["DevMachine/m1"]], id="a-move-kind-moves-its-objects-only"),
    pytest.param(frozenset(), frozenset({WIDGET.group_kind}), [
        ["Cluster/fleet", "ConfigMap/forced", "Secret/m1-data", "Widget/w1"],
        ["ConfigMap/labelled", "DevCluster/fleet", "MachineDeployment/md", "Secret/fleet-kubeconfig",
         "Secret/w1-owned"],
        ["MachineSet/ms"], ["Machine/m1"], ["DevMachine/m1"]], id="a-move-hierarchy-kind-moves-what-they-own"),
])
def test_what_moves_and_in_which_order(move_kinds: frozenset[tuple[str, str]],
                                       hierarchy_kinds: frozenset[tuple[str, str]],
                                       expected: list[list[str]]) -> None:
    groups = build_move_plan(Inventory(FLEET + OTHERS, move_kinds, hierarchy_kinds))
    assert labels_in_order(groups) == expected


def test_without_a_cluster_only_forced_objects_move() -> None:
    assert labels_in_order(build_move_plan(Inventory(OTHERS))) == [["ConfigMap/forced"]]


def node(name: str, *owners: str) -> MoveNode:
    return MoveNode(SECRET, "ns", name, name, owners)


@pytest.mark.parametrize(("nodes", "expected"), [
    pytest.param([node("c", "b"), node("b", "a"), node("a")], [["a"], ["b"], ["c"]], id="a-chain"),
    pytest.param([node("b", "a"), node("c", "a", "b"), node("a")], [["a"], ["b"], ["c"]], id="every-owner-first"),
    pytest.param([node("x", "y"), node("y", "x"), node("a")], [["a"], ["x", "y"]], id="a-cycle-ends-last"),
])
def test_owners_come_first(nodes: list[MoveNode], expected: list[list[str]]) -> None:
    assert [[n.name for n in group] for group in order_groups(nodes)] == expected


def test_owner_references_get_the_new_uids_and_owners_not_in_the_target_are_dropped() -> None:
    refs = [{"apiVersion": "v1", "kind": "A", "name": "a", "uid": "old-a", "controller": True},
            {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "not-moved"},
            {"apiVersion": "v1", "kind": "C", "name": "c", "uid": "vanished-before-its-copy"}]
    assert rewrite_owner_references(refs, {"old-a": "new-a", "vanished-before-its-copy": ""}) == [
        {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "new-a", "controller": True}]


def test_the_target_object_is_a_fresh_paused_copy() -> None:
    _, cluster = obj(CLUSTER, "fleet", owners=("Widget/w",))
    cluster["metadata"].update(resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z", generation=3,
                               finalizers=["cluster.cluster.x-k8s.io"],
                               annotations={DELETE_FOR_MOVE_ANNOTATION: "", "keep": "me"})
    cluster["status"] = {"phase": "Provisioned"}
    created = target_object(cluster, {"uid-Widget-w": "new-w"})
    assert created == {
        "apiVersion": CLUSTER.api_version, "kind": "Cluster", "spec": {"paused": True},
        "metadata": {"name": "fleet", "namespace": "ns", "labels": {}, "finalizers": ["cluster.cluster.x-k8s.io"],
                     "annotations": {"keep": "me", MOVED_FROM_ANNOTATION: "uid-Cluster-fleet"},
                     "ownerReferences": [{"apiVersion": "x/v1", "kind": "Widget", "name": "w", "uid": "new-w"}]}}
    assert "paused" not in target_object(obj(MACHINE, "m")[1], {})["spec"]


def test_block_move_and_paused_conditions_are_read_per_object() -> None:
    waiting = {"kind": "Machine", "metadata": {"name": "m"}, "status": {"conditions": [
        {"type": "Paused", "status": "False"}]}}
    done = {"kind": "Machine", "metadata": {"name": "n"}, "status": {"conditions": [
        {"type": "Paused", "status": "True"}]}}
    silent = {"kind": "Secret", "metadata": {"name": "s", "annotations": {BLOCK_MOVE_ANNOTATION: ""}}}
    assert not_paused([waiting, done, silent]) == ["Machine/m"]
    assert blocked([waiting, done, silent]) == ["Secret/s"]


def test_a_node_survives_the_journal() -> None:
    moved = MoveNode(DEV_MACHINE, "ns", "m1", "uid-1", ("uid-0",))
    assert MoveNode.from_record(moved.to_record()) == moved


PROVISIONED = {"initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True}}


@pytest.mark.parametrize(("kind", "status", "provisioning"), [
    pytest.param(CLUSTER, PROVISIONED, False, id="cluster-provisioned"),
    pytest.param(CLUSTER, {"initialization": {"infrastructureProvisioned": True}}, True, id="cluster-without-cp"),
    pytest.param(CLUSTER, None, True, id="cluster-without-status"),
    pytest.param(MACHINE, {"nodeRef": {"name": "n"}}, False, id="machine-with-node"),
    pytest.param(MACHINE, {"phase": "Provisioning"}, True, id="machine-without-node"),
    pytest.param(DEV_MACHINE, None, False, id="other-kinds-are-not-asked"),
])
def test_a_move_waits_for_provisioning(kind: Kind, status: dict[str, Any] | None, provisioning: bool) -> None:
    _, made = obj(kind, "x")
    if status is not None:
        made["status"] = status
    assert still_provisioning([made]) == ([f"{kind.kind}/x"] if provisioning else [])
