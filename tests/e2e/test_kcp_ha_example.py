"""examples/ha-cluster.yaml as a user applies it to `herd up`: the KubeadmControlPlane becomes Available with three
Ready control-plane Nodes, one in each failure domain, an etcd cluster of three members (one per control-plane Node)
that agree on one leader, the four control-plane static pods on every control-plane Node, three workers joined,
and the cluster's certificate and kubeconfig Secrets controlled by the KubeadmControlPlane."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from support.herd_up import herd_up
from support.kcp import (
    CLUSTER,
    EXAMPLE,
    FAILURE_DOMAINS,
    KCP,
    STATIC_PODS,
    ControlPlaneHerd,
    available,
    condition_status,
    node_name,
    summary,
)
from support.waiting import eventually_sync

NAMESPACE, REPLICAS, WORKERS = "default", 3, 3

eventually = functools.partial(eventually_sync, timeout=90.0, poll=0.5)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), ControlPlaneHerd) as running:
        running.kubectl("apply", "-f", str(EXAMPLE))
        yield running


@pytest.fixture(scope="module")
def control_plane(herd: ControlPlaneHerd) -> list[dict[str, Any]]:
    """The control-plane Machines once the KubeadmControlPlane is Available with all of them ready."""
    def ready() -> list[dict[str, Any]]:
        kcp = herd.kcp(NAMESPACE)
        status = kcp.get("status") or {}
        assert condition_status(kcp, "Available") == "True", status
        assert (status.get("replicas"), status.get("readyReplicas"), status.get("availableReplicas"),
                status.get("upToDateReplicas")) == (REPLICAS,) * 4, status
        machines = herd.control_plane_machines(NAMESPACE)
        assert len(machines) == REPLICAS and all(available(m) for m in machines), summary(machines)
        return machines
    machines: list[dict[str, Any]] = eventually(ready, "the KubeadmControlPlane Available with 3 ready Machines")
    return machines


def test_three_ready_control_plane_nodes_one_in_each_failure_domain(
        herd: ControlPlaneHerd, control_plane: list[dict[str, Any]]) -> None:
    assert sorted(m["spec"].get("failureDomain") for m in control_plane) == list(FAILURE_DOMAINS), \
        summary(control_plane)
    nodes = {node_name(m) for m in control_plane}
    assert None not in nodes and nodes <= herd.ready_nodes(NAMESPACE)
    assert all(m["metadata"]["labels"].get("cluster.x-k8s.io/cluster-name") == CLUSTER for m in control_plane)
    owners = [[r["name"] for r in m["metadata"]["ownerReferences"] if r.get("controller")] for m in control_plane]
    assert owners == [[KCP]] * REPLICAS
    kcp = herd.kcp(NAMESPACE)
    assert (kcp["status"].get("version"), condition_status(kcp, "MachinesUpToDate")) == ("v1.33.0", "True")
    assert (kcp["status"].get("initialization") or {}).get("controlPlaneInitialized") is True


def test_one_etcd_member_per_control_plane_node_and_one_leader(
        herd: ControlPlaneHerd, control_plane: list[dict[str, Any]]) -> None:
    nodes = sorted(str(node_name(m)) for m in control_plane)
    views = {node: eventually(lambda node=node: herd.etcd(NAMESPACE, node), f"etcd on {node}") for node in nodes}
    assert {view.members for view in views.values()} == {tuple(nodes)}, views
    leaders = {view.leader for view in views.values()}
    assert len(leaders) == 1 and leaders <= set(nodes), views
    kcp = herd.kcp(NAMESPACE)
    assert condition_status(kcp, "EtcdClusterHealthy") == "True", kcp["status"]
    assert all(condition_status(m, "EtcdMemberHealthy") == "True" for m in herd.control_plane_machines(NAMESPACE))


def test_four_static_pods_on_every_control_plane_node(
        herd: ControlPlaneHerd, control_plane: list[dict[str, Any]]) -> None:
    nodes = {str(node_name(m)) for m in control_plane}
    static_pods = herd.static_pods(NAMESPACE)
    assert set(static_pods) == nodes and all(pods == set(STATIC_PODS) for pods in static_pods.values()), static_pods
    kcp = herd.kcp(NAMESPACE)
    assert condition_status(kcp, "ControlPlaneComponentsHealthy") == "True", kcp["status"]


def test_the_workers_join(herd: ControlPlaneHerd, control_plane: list[dict[str, Any]]) -> None:
    def joined() -> set[str]:
        workers = herd.workers(NAMESPACE)
        assert len(workers) == WORKERS and all(available(m) for m in workers), summary(workers)
        nodes = {str(node_name(m)) for m in workers}
        assert nodes <= herd.ready_nodes(NAMESPACE)
        return nodes
    workers = eventually(joined, "three workers joined")
    assert len(herd.ready_nodes(NAMESPACE)) == REPLICAS + WORKERS and not workers & herd.static_pods(NAMESPACE).keys()


def test_the_cluster_secrets_are_controlled_by_the_kubeadm_control_plane(
        herd: ControlPlaneHerd, control_plane: list[dict[str, Any]]) -> None:
    uid = herd.kcp(NAMESPACE)["metadata"]["uid"]
    for purpose in ("ca", "etcd", "proxy", "sa", "kubeconfig"):
        secret = herd.get("secret", f"{CLUSTER}-{purpose}", NAMESPACE)
        controllers = [(r["kind"], r["name"], r["uid"]) for r in secret["metadata"].get("ownerReferences") or []
                       if r.get("controller")]
        assert controllers == [("KubeadmControlPlane", KCP, uid)], (purpose, secret["metadata"])
        assert secret["metadata"]["labels"].get("cluster.x-k8s.io/cluster-name") == CLUSTER, secret["metadata"]
