"""The SDK's example provider (herd.providers.example, machines are local processes) as a user runs it:
`herd up --provider herd.providers.example:provider`, `kubectl apply -f examples/providers/process-cluster.yaml`,
both Machines Running with their Nodes in the workload cluster served by the control plane machine's process, and
`kubectl delete cluster` stopping that process."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.herd_up import HerdUp, herd_up
from support.plane import kubectl
from support.waiting import eventually_sync

MANIFEST = Path(__file__).resolve().parents[2] / "examples" / "providers" / "process-cluster.yaml"
MACHINES = ("procs-control-plane-0", "procs-worker-0")

eventually = functools.partial(eventually_sync, timeout=60, poll=0.3)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def herd(tmp_path: Path) -> Iterator[HerdUp]:
    with herd_up(tmp_path, HerdUp, "--provider", "herd.providers.example:provider") as running:
        yield running


def manifest(work: Path) -> str:
    """The example, with each machine's files under `work` (so the test finds and cleans them)."""
    documents = list(yaml.safe_load_all(MANIFEST.read_text()))
    for doc in documents:
        if doc["kind"] == "ProcessMachine":
            doc["spec"]["workDir"] = str(work / doc["metadata"]["name"])
    return yaml.safe_dump_all(documents)


def test_a_cluster_of_process_machines_runs_and_its_deletion_stops_the_processes(herd: HerdUp,
                                                                                 tmp_path: Path) -> None:
    work = tmp_path / "machines"
    crd = json.loads(herd.kubectl("get", "crd", "processmachinetemplates.infrastructure.cluster.x-k8s.io",
                                  "-o", "json").stdout)
    assert crd["metadata"]["labels"]["cluster.x-k8s.io/v1beta2"] == "v1beta2"
    herd.kubectl("apply", "-f", "-", input=manifest(work))
    pid_file = work / "procs-control-plane-0" / "pid"
    try:
        def phases() -> dict[str, str]:
            return {m["metadata"]["name"]: m.get("status", {}).get("phase", "")
                    for m in herd.items("machines", "default")}

        eventually(lambda: phases() == dict.fromkeys(MACHINES, "Running") or False)
        infra = herd.get("processcluster", "procs", "default")
        ready = {c["type"]: c["status"] for c in infra["status"]["conditions"]}
        assert ready["Ready"] == "True" and infra["status"]["initialization"] == {"provisioned": True}
        endpoint = infra["spec"]["controlPlaneEndpoint"]
        assert endpoint["host"] == "127.0.0.1" and endpoint["port"] > 0

        control_plane = herd.get("processmachine", "procs-control-plane-0", "default")
        assert control_plane["spec"]["providerID"] == "process://default/procs-control-plane-0"
        pid = control_plane["status"]["pid"]
        assert alive(pid) and int(pid_file.read_text()) == pid

        secret = herd.get("secret", "procs-kubeconfig", "default")
        workload = tmp_path / "workload.kubeconfig"
        workload.write_bytes(base64.b64decode(secret["data"]["value"]))
        nodes = json.loads(kubectl(workload, herd.cache, "get", "nodes", "-o", "json").stdout)["items"]
        assert {n["metadata"]["name"]: n["spec"]["providerID"] for n in nodes} == {
            name: f"process://default/{name}" for name in MACHINES}
        events = json.loads(herd.kubectl("get", "events", "-n", "default", "-o", "json").stdout)["items"]
        reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
        assert {("procs-control-plane-0", "ProcessStarted"), ("procs-control-plane-0", "Provisioned"),
                ("procs", "Provisioned")} <= reasons

        herd.kubectl("delete", "cluster", "procs", "--timeout", "60s")
        assert herd.items("processmachines", "default") == [] and herd.items("processclusters", "default") == []
        eventually(lambda: not alive(pid))
        assert not (work / "procs-control-plane-0").exists()
    finally:
        _stop_leftover(pid_file)


def _stop_leftover(pid_file: Path) -> None:
    """A failed test must not leave an API server process behind."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        os.killpg(int(pid_file.read_text()), signal.SIGKILL)




@pytest.mark.parametrize(("name", "message"), [
    ("herd.providers.example", "expected module:attribute"),
    ("no_such_package.provider:provider", "cannot import no_such_package.provider"),
])
def test_a_provider_that_cannot_be_loaded_stops_herd_up_with_one_line(tmp_path: Path, name: str,
                                                                      message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(tmp_path), "--port", "0",
                           "--provider", name], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stdout == "" and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
