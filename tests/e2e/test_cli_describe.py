"""`herd describe cluster` against `herd up` with examples/ha-cluster.yaml applied: once the cluster is ready the
tree lists the Cluster, its DevCluster, KubeadmControlPlane, MachineDeployment and all six Machines, each Available
(the DevCluster Ready); a cluster that does not exist is one line on stderr and exit code 1."""

from __future__ import annotations

import functools
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ha-cluster.yaml"
TREE_CHARACTERS = "│├└─ "

eventually = functools.partial(eventually_sync, timeout=90.0, poll=0.5)


def herd(plane: HerdUp, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herd.cli.main", *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)})


def on_a_terminal(plane: HerdUp, *args: str) -> str:
    """What `herd ARGS` prints when its stdout is a terminal (a pseudo-terminal, read while the command runs)."""
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    reader, writer = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "herd.cli.main", *args], stdout=writer,
                                   env=env | {"KUBECONFIG": str(plane.kubeconfig), "TERM": "xterm"})
    finally:
        os.close(writer)  # the child holds its own copy
    chunks = []
    try:
        while chunk := os.read(reader, 65536):
            chunks.append(chunk)
    except OSError:  # Linux answers EIO once the child has exited and its output is drained
        pass
    finally:
        os.close(reader)
    assert process.wait(timeout=30) == 0
    return b"".join(chunks).decode()


def conditions_by_object(text: str) -> dict[str, dict[str, str]]:
    """From a `--show-conditions all` table: each object row ("Kind ns/name") with its conditions' statuses."""
    header, *lines = text.splitlines()
    replicas_at, status_at, reason_at = (header.index(title) for title in ("REPLICAS", "STATUS", "REASON"))
    found: dict[str, dict[str, str]] = {}
    current = ""
    for line in lines:
        name = line[:replicas_at].strip().lstrip(TREE_CHARACTERS).split(",")[0]
        if " " in name:  # an object row; a condition row's name is the condition's type
            current = name.removeprefix("!! DELETED !! ")
            found[current] = {}
        elif name and current:
            found[current][name] = line[status_at:reason_at].strip()
    return found


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        running.kubectl("apply", "-f", str(EXAMPLE))
        yield running


def test_the_ready_ha_cluster_shows_every_object_available(plane: HerdUp) -> None:
    def all_available() -> dict[str, dict[str, str]]:
        result = herd(plane, "describe", "cluster", "ha", "--show-conditions", "all")
        assert result.returncode == 0, result.stderr
        found = conditions_by_object(result.stdout)
        machines = [name for name in found if name.startswith("Machine default/ha-")]
        assert len(machines) == 6, result.stdout
        for name in ["Cluster default/ha", "KubeadmControlPlane default/ha-control-plane",
                     "MachineDeployment default/ha-md-0", *machines]:
            assert found[name].get("Available") == "True", (name, result.stdout)
        assert found["DevCluster default/ha"].get("Ready") == "True", result.stdout
        return found
    found = eventually(all_available, "herd describe showing the HA cluster available")
    assert sum(name.startswith("Machine default/ha-control-plane-") for name in found) == 3

    grouped = herd(plane, "describe", "cluster", "ha")
    assert grouped.returncode == 0 and grouped.stderr == "", grouped.stderr
    assert grouped.stdout.count("3 Machines...") == 2, grouped.stdout  # control plane and workers, each folded
    assert "\x1b[" not in grouped.stdout  # no colours into a pipe
    coloured = on_a_terminal(plane, "describe", "cluster", "ha")
    assert "\x1b[32mTrue\x1b[0m" in coloured, coloured  # Available in green on a terminal
    assert "\x1b[32mTrue\x1b[0m" in herd(plane, "describe", "cluster", "ha", "--color").stdout  # asked for: a pipe too

    tree = json.loads(herd(plane, "describe", "cluster", "ha", "-o", "json").stdout)
    assert (tree["kind"], tree["status"], tree["replicas"]) == ("Cluster", "True", "6/6")
    assert [child["kind"] for child in tree["children"]] == ["DevCluster", "KubeadmControlPlane", "WorkerGroup"]


def test_a_missing_cluster_is_one_line(plane: HerdUp) -> None:
    result = herd(plane, "describe", "cluster", "nope")
    assert (result.returncode, result.stdout) == (1, ""), result
    assert result.stderr == "herd: cluster nope not found in namespace default\n"
