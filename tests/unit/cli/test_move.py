"""`herd move` giving up while the source holds the move (Paused not reported, block-move kept): nothing exists
in the target yet, so the source's Clusters run again and the journal goes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from herd.api.cluster import CLUSTER, MACHINE
from herd.cli.journal import Journal
from herd.cli.move import Mover
from herd.cli.move_source import NotReadyToMove
from herd.cli.objectgraph import MoveNode
from herd.cli.serve import CLIError

NODES = [MoveNode(CLUSTER, "ns", "fleet", "u1"), MoveNode(CLUSTER, "ns", "kept-paused", "u2"),
         MoveNode(MACHINE, "ns", "m", "u3", ("u1",))]


class HeldSource:
    """A source whose objects never become ready to move; records the pauses asked for."""

    def __init__(self) -> None:
        self.paused: dict[str, bool] = {}

    async def set_paused(self, node: MoveNode, *, paused: bool) -> None:
        self.paused[node.name] = paused

    async def wait_ready_for_move(self, nodes: list[MoveNode]) -> None:
        raise NotReadyToMove("DevMachine/m still carries clusterctl.cluster.x-k8s.io/block-move after 120 s")


def test_a_move_held_before_anything_was_created_gives_the_source_its_clusters_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "move-ns.journal")
    journal.start(namespace="ns", nodes=[n.to_record() for n in NODES], paused_before=["kept-paused"])
    source = HeldSource()
    mover = Mover(source, None, "ns", journal)  # type: ignore[arg-type]
    with pytest.raises(CLIError) as raised:
        asyncio.run(mover.pause(journal.read()))
    assert str(raised.value) == ("DevMachine/m still carries clusterctl.cluster.x-k8s.io/block-move after 120 s; "
                                 "nothing was moved and the Clusters run again in the source")
    assert source.paused == {"fleet": False, "kept-paused": True}  # the one paused before the move stays paused
    assert not journal.exists()


class LateSource(HeldSource):
    """A source where a second Cluster and a Machine appeared between the plan and the pause."""

    async def wait_ready_for_move(self, nodes: list[MoveNode]) -> None:
        self.waited_for = [node.name for node in nodes]

    machine_status: dict[str, object] = {"nodeRef": {"name": "late-m"}}

    async def move_plan(self, namespace: str) -> tuple[list[MoveNode], list[dict[str, object]]]:
        machine = {"apiVersion": MACHINE.api_version, "kind": "Machine", "metadata": {"name": "late-m"},
                   "status": self.machine_status}
        return [*NODES, MoveNode(CLUSTER, "ns", "late", "u4"), MoveNode(MACHINE, "ns", "late-m", "u5", ("u4",))], \
            [machine]


def test_what_moves_is_found_again_once_everything_is_paused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "move-ns.journal")
    journal.start(namespace="ns", nodes=[n.to_record() for n in NODES], paused_before=["kept-paused"])
    source = LateSource()
    asyncio.run(Mover(source, None, "ns", journal).pause(journal.read()))  # type: ignore[arg-type]
    assert source.paused == {"fleet": True, "kept-paused": True, "late": True}
    assert source.waited_for == ["fleet", "kept-paused", "m", "late", "late-m"]
    state = journal.read()
    assert state.next_step == "create" and [n.name for n in state.nodes] == source.waited_for


def test_a_machine_that_appeared_before_the_pause_must_be_provisioned_too(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "move-ns.journal")
    journal.start(namespace="ns", nodes=[n.to_record() for n in NODES], paused_before=["kept-paused"])
    source = LateSource()
    source.machine_status = {"phase": "Provisioning"}
    with pytest.raises(CLIError) as raised:
        asyncio.run(Mover(source, None, "ns", journal).pause(journal.read()))  # type: ignore[arg-type]
    assert str(raised.value) == ("Machine/late-m still provisioning: move once the Clusters are provisioned and "
                                 "every Machine has its Node; nothing was moved and the Clusters run again in the "
                                 "source")
    assert source.paused == {"fleet": False, "kept-paused": True, "late": False} and not journal.exists()
