"""`kubectl scale kcp` up to five and back to three: etcd grows to five members, one per new Node; on the way down
the Machines annotated `cluster.x-k8s.io/delete-machine` go first (one of them the etcd leader's), leadership moves
to a Machine that stays before the leader's Machine is deleted, and at every look the etcd members are Nodes of
existing control-plane Machines (the leader's not being deleted): a Machine's member goes before the Machine."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.herd_up import herd_up
from support.kcp import (
    DELETE_MACHINE,
    KCP,
    ControlPlaneHerd,
    available,
    deleting,
    ha_cluster,
    name,
    node_name,
    summary,
)
from support.waiting import eventually_sync

NAMESPACE = "scaling"
PRE_TERMINATE_HOOK = "pre-terminate.delete.hook.machine.cluster.x-k8s.io/kcp-cleanup"

eventually = functools.partial(eventually_sync, timeout=90.0, poll=0.3)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), ControlPlaneHerd) as running:
        yield running


def converged(herd: ControlPlaneHerd, replicas: int) -> list[dict[str, Any]]:
    """Once `replicas` control-plane Machines are available and etcd's members are exactly their Nodes, with a
    leader among them: the Machines."""
    def probe() -> list[dict[str, Any]]:
        machines = herd.control_plane_machines(NAMESPACE)
        assert len(machines) == replicas and all(available(m) for m in machines), summary(machines)
        nodes = sorted(str(node_name(m)) for m in machines)
        view = herd.etcd(NAMESPACE, nodes[0])
        assert view.members == tuple(nodes) and view.leader in nodes, (view, nodes)
        status = herd.kcp(NAMESPACE)["status"]
        assert (status.get("replicas"), status.get("readyReplicas")) == (replicas, replicas), status
        return machines
    machines: list[dict[str, Any]] = eventually(probe, f"{replicas} control-plane Machines, one etcd member each")
    return machines


@pytest.mark.timeout(300)
def test_scaling_to_five_and_back_to_three_keeps_etcd_to_the_machines_and_moves_the_leader_first(
        herd: ControlPlaneHerd) -> None:
    herd.apply(NAMESPACE, ha_cluster(NAMESPACE, workers=0))
    converged(herd, 3)

    herd.kubectl("scale", "kubeadmcontrolplane", KCP, "-n", NAMESPACE, "--replicas=5")
    five = converged(herd, 5)
    by_node = {str(node_name(m)): name(m) for m in five}
    leader = herd.etcd(NAMESPACE, sorted(by_node)[0]).leader
    assert leader is not None
    doomed = {by_node[leader], sorted(set(by_node.values()) - {by_node[leader]})[0]}
    survivors = set(by_node.values()) - doomed
    for machine in doomed:
        herd.kubectl("annotate", "machine", machine, "-n", NAMESPACE, f"{DELETE_MACHINE}=yes")

    herd.kubectl("scale", "kubeadmcontrolplane", KCP, "-n", NAMESPACE, "--replicas=3")
    survivor_node = next(node for node, machine in by_node.items() if machine in survivors)
    deadline = time.monotonic() + 90
    while True:
        # Machines before etcd: a member is removed while its Machine is being deleted, before the Machine goes
        machines = herd.control_plane_machines(NAMESPACE)
        view = herd.etcd(NAMESPACE, survivor_node)
        assert set(view.members) <= {str(node_name(m)) for m in machines}, (view, summary(machines))
        staying = {str(node_name(m)) for m in machines if not deleting(m)}
        assert view.leader in staying, ("the leader is a Machine being deleted", view, summary(machines))
        # a Machine being deleted is held by the control plane's pre-terminate hook until its member is gone
        held = [name(m) for m in machines if deleting(m) and node_name(m) in view.members]
        assert all(PRE_TERMINATE_HOOK in (m["metadata"].get("annotations") or {})
                   for m in machines if name(m) in held), (held, summary(machines))
        assert survivors <= {name(m) for m in machines if not deleting(m)}, "a Machine not annotated was deleted"
        if {name(m) for m in machines} == survivors:
            break
        assert time.monotonic() < deadline, f"the annotated Machines were not deleted: {summary(machines)}"
    three = converged(herd, 3)
    assert {name(m) for m in three} == survivors
    new_leader = herd.etcd(NAMESPACE, survivor_node).leader
    assert new_leader in {str(node_name(m)) for m in three} and new_leader != leader
