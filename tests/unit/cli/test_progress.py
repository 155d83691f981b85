"""What `herd wait` and `herd delete --wait` show: --timeout as kubectl takes it, condition messages on one line, the
Cluster's availability and deletion states, what is left of a Cluster being deleted, and the display printing
each change once when stdout is no terminal."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import pytest

from herd.cli.delete import Leftovers, deletion_state
from herd.cli.progress import Display, State, follow, format_duration, one_line, parse_duration
from herd.cli.wait import availability, deletion


@pytest.mark.parametrize(("text", "seconds"), [
    ("10m", 600.0), ("1s", 1.0), ("1m30s", 90.0), ("1h", 3600.0), ("500ms", 0.5), ("1.5s", 1.5), ("45", 45.0),
    ("2h15m", 8100.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "m", "10m-5s", "1d"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"^invalid duration .*: expected e\.g\. 30s, 10m, 1h"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(1.0, "1s"), (0.5, "0.5s"), (90.0, "90s"), (600.0, "10m"),
                                               (3600.0, "1h"), (5400.0, "1h30m"), (150.0, "150s")])
def test_a_timeout_as_the_user_wrote_it(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("message", "line"), [
    ("", ""),
    ("Waiting for DevCluster to be deleted", "Waiting for DevCluster to be deleted"),
    ("* MachineDeployments: md-0\n* MachineSets: md-0-abc, md-0-def",
     "MachineDeployments: md-0; MachineSets: md-0-abc, md-0-def"),
    ("* ControlPlaneAvailable: Waiting for the first control plane Machine\n* WorkersAvailable:\n"
     "  * MachineDeployment md-0: 0 available replicas, at least 3 required",
     "ControlPlaneAvailable: Waiting for the first control plane Machine; WorkersAvailable: MachineDeployment md-0: "
     "0 available replicas, at least 3 required"),
])
def test_condition_messages_on_one_line(message: str, line: str) -> None:
    assert one_line(message) == line


def cluster(*conditions: dict[str, Any], deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "fleet", "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"conditions": list(conditions)}}


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(("obj", "state"), [
    pytest.param(cluster(cond("Available", "True", "Available")), State(True, "cluster fleet is available"),
                 id="available"),
    pytest.param(cluster(), State(False, "cluster fleet not available: no Available condition reported yet",
                                  "no Available condition reported yet"), id="no-status-yet"),
    pytest.param(cluster(cond("Available", "False", "NotAvailable", "* RemoteConnectionProbe: Remote connection "
                              "not established yet")),
                 State(False, "cluster fleet not available: NotAvailable: RemoteConnectionProbe: Remote connection "
                       "not established yet", "NotAvailable: RemoteConnectionProbe: Remote connection not "
                       "established yet"), id="what-is-missing"),
    pytest.param(cluster(cond("Available", "False", "NotAvailable"),
                         cond("Deleting", "True", "WaitingForWorkersDeletion", "* MachineDeployments: md-0"),
                         deleting=True),
                 State(False, "cluster fleet is being deleted: WaitingForWorkersDeletion: MachineDeployments: md-0",
                       "it is being deleted: WaitingForWorkersDeletion: MachineDeployments: md-0"),
                 id="deleted-meanwhile"),
])
def test_availability(obj: dict[str, Any], state: State) -> None:
    assert availability(obj) == state


def test_deletion_states() -> None:
    assert deletion(None, "fleet") == State(True, "cluster fleet is deleted")
    assert deletion(cluster(), "fleet") == State(
        False, "cluster fleet is not being deleted (delete it with `herd delete cluster fleet`)",
        "it is not being deleted")
    going = cluster(cond("Deleting", "True", "WaitingForControlPlaneDeletion",
                         "Waiting for KubeadmControlPlane to be deleted"), deleting=True)
    assert deletion(going, "fleet") == State(
        False, "cluster fleet deleting: WaitingForControlPlaneDeletion: Waiting for KubeadmControlPlane to be deleted",
        "WaitingForControlPlaneDeletion: Waiting for KubeadmControlPlane to be deleted")


@pytest.mark.parametrize(("left", "summary"), [
    pytest.param(Leftovers(machines=6, control_plane_machines=3, machine_deployments=1, machine_sets=2,
                           control_plane="KubeadmControlPlane ha-control-plane", infrastructure="DevCluster ha"),
                 "6 Machines (3 control plane), 1 MachineDeployment, 2 MachineSets, KubeadmControlPlane "
                 "ha-control-plane, DevCluster ha", id="everything"),
    pytest.param(Leftovers(machines=1, machine_sets=1), "1 Machine, 1 MachineSet", id="singular"),
    pytest.param(Leftovers(infrastructure="DevCluster fleet"), "DevCluster fleet", id="infrastructure-last"),
    pytest.param(Leftovers(), "nothing but the Cluster", id="nothing"),
])
def test_what_is_left_of_a_cluster(left: Leftovers, summary: str) -> None:
    assert left.summary() == summary


def test_the_deletion_line_names_the_blocker() -> None:
    left = Leftovers(machines=4, control_plane_machines=1, machine_deployments=1, infrastructure="DevCluster fleet")
    going = cluster(cond("Deleting", "True", "WaitingForWorkersDeletion", "* MachineDeployments: fleet-md-0\n"
                         "* Worker Machines: a, b, c"), deleting=True)
    assert deletion_state("fleet", going, left) == State(
        False, "cluster fleet deleting; left: 4 Machines (1 control plane), 1 MachineDeployment, DevCluster fleet; "
               "WaitingForWorkersDeletion: MachineDeployments: fleet-md-0; Worker Machines: a, b, c")
    not_seen_yet = cluster(cond("Deleting", "False", "NotDeleting"), deleting=True)
    assert deletion_state("fleet", not_seen_yet, left).line.endswith(
        "; waiting for the Cluster's controller to start the deletion")
    assert deletion_state("fleet", None, left) == State(True, "cluster fleet is deleted")


def test_without_a_terminal_each_change_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    states = iter([State(False, "a"), State(False, "a"), State(False, "b"), State(True, "done")])

    async def look() -> State:
        return next(states)
    with Display(live=False) as display:
        last = asyncio.run(follow(look, 10.0, display))
    assert last == State(True, "done")
    assert capsys.readouterr().out == "a\nb\ndone\n"


def test_a_timeout_ends_the_wait_with_the_last_state(capsys: pytest.CaptureFixture[str]) -> None:
    async def look() -> State:
        return State(False, "still waiting")
    with Display(live=False) as display:
        last = asyncio.run(follow(look, 0.2, display))
    assert last == State(False, "still waiting")
    assert capsys.readouterr().out == "still waiting\n"
