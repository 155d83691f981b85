"""`herd up` talks like a tool: one line per step on stdout, its log (and its children's) in <data-dir>/logs/herd.log,
echoed with -v or as JSON lines with --log-format json; `herd status` tells whether it is up."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from support.plane import kubectl, stop_process

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster-with-workers.yaml"
CONTROL_PLANE_KINDS = {"Cluster", "DevCluster", "KubeadmConfig", "DevMachine", "Machine"}  # its workers left out
INFO_LINE = re.compile(r"^\S+Z INFO herd[.\w]* ")  # how a text log line at INFO starts


def herd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herd.cli.main", *args], capture_output=True, text=True,
                          timeout=60)


@dataclass
class Up:
    """`herd up` in the background with its stdout and stderr kept apart, line by line."""

    data_dir: Path
    flags: tuple[str, ...] = ()
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(  # a process group of its own, as a shell gives a command it runs
            [sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(self.data_dir), "--port", "0",
             *self.flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        for stream, lines in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=lambda s=stream, kept=lines: kept.extend(line.rstrip("\n") for line in s),
                             daemon=True).start()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith("ready: ") for line in self.stdout):
            assert self.proc.poll() is None and time.monotonic() < deadline, f"{self.stdout}\n{self.stderr}"
            time.sleep(0.05)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "herd.log"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "management.kubeconfig"

    def steps(self) -> list[str]:
        """stdout up to and including the ready line."""
        ready = next(index for index, line in enumerate(self.stdout) if line.startswith("ready: "))
        return self.stdout[:ready + 1]

    def stop(self) -> int:
        return stop_process(self.proc, signal.SIGTERM)


def expected_steps(up: Up) -> list[str]:
    port = re.search(r"server: https://127\.0\.0\.1:(\d+)", up.kubeconfig.read_text())
    assert port is not None
    return [f"API server listening on https://127.0.0.1:{port.group(1)}", "installing Cluster API CRDs (14)",
            "starting webhooks and controllers", f"ready: export KUBECONFIG={up.kubeconfig}"]


def after_ready(up: Up) -> set[str]:
    """What `herd up` printed after its steps, but for the address of the manager's metrics."""
    return {line for line in up.stdout[len(up.steps()):] if not line.startswith("manager metrics and probes on ")}


def eventually(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    up = Up(tmp_path_factory.mktemp("up") / "data")
    try:
        up.wait_ready()
        yield up
    finally:
        up.stop()


def test_herd_up_prints_one_line_per_step_and_nothing_else(plane: Up) -> None:
    assert plane.steps() == expected_steps(plane)
    assert plane.stderr == []  # no log line on stderr without -v


def test_its_log_file_holds_its_info_lines_and_its_childrens(plane: Up, tmp_path: Path) -> None:
    # owner-only like the rest of the data dir: logs never hold secrets, but they name clusters and addresses
    assert stat.S_IMODE(plane.log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(plane.log_file.parent.stat().st_mode) == 0o700
    lines = plane.log_file.read_text().splitlines()
    assert any(INFO_LINE.match(line) and "herd.cli Cluster API CRDs installed (14, 14 created" in line
               for line in lines), "herd up's own INFO lines"
    assert any(INFO_LINE.match(line) and "herd.apiserver.pki generating cluster CA" in line
               for line in lines), "the API server child's INFO lines"
    control_plane = [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc["kind"] in CONTROL_PLANE_KINDS]
    kubectl(plane.kubeconfig, tmp_path / "cache", "apply", "-f", "-", input=yaml.safe_dump_all(control_plane))
    eventually(lambda: "workload cluster default/fleet: API server listening" in plane.log_file.read_text(),
               "the workload host child's INFO lines")
    assert plane.stderr == [] and len(plane.stdout) <= 5  # the steps and the manager's metrics address


def test_herd_status_names_the_endpoint_and_pid_of_the_plane(plane: Up) -> None:
    result = herd("status", "--data-dir", str(plane.data_dir))
    url = expected_steps(plane)[0].removeprefix("API server listening on ")
    assert (result.returncode, result.stdout) == (0, f"up in {plane.data_dir}: {url} (pid {plane.proc.pid})\n")


def test_a_taken_port_is_one_line_that_says_what_to_do(plane: Up, tmp_path: Path) -> None:
    port = expected_steps(plane)[0].rpartition(":")[2]
    taken = subprocess.run([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(tmp_path / "data"),
                            "--port", port], capture_output=True, text=True, timeout=60)
    assert taken.returncode == 1 and taken.stdout == ""
    assert len(taken.stderr.splitlines()) == 1, taken.stderr
    assert taken.stderr.startswith(f"herd: cannot listen on 127.0.0.1:{port}: ")
    assert "choose another --port" in taken.stderr
    assert not (tmp_path / "data" / "herd.pid").exists()


def test_once_stopped_the_plane_is_not_up_and_leaves_no_kubeconfig(plane: Up) -> None:
    assert plane.stop() == 0
    assert after_ready(plane) == {"stopping"} and plane.stderr == []
    assert not plane.kubeconfig.exists() and not (plane.data_dir / "herd.pid").exists()
    assert "herd API server stopping" in plane.log_file.read_text()
    result = herd("status", "--data-dir", str(plane.data_dir))
    assert (result.returncode, result.stdout) == (1, f"not up in {plane.data_dir}: no management.kubeconfig\n")


def test_ctrl_c_stops_the_plane_quietly(tmp_path: Path) -> None:
    up = Up(tmp_path / "data")
    try:
        up.wait_ready()
        os.killpg(up.proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole group, children included
        assert up.proc.wait(timeout=30) == 0
    finally:
        up.stop()
    time.sleep(0.2)  # the reader threads take the last lines
    assert after_ready(up) == {"stopping"} and up.stderr == []
    assert not up.kubeconfig.exists()


def test_verbose_echoes_the_log_to_stderr(tmp_path: Path) -> None:
    up = Up(tmp_path / "data", ("-v",))
    try:
        up.wait_ready()
        assert up.steps() == expected_steps(up)
        echoed = [line for line in up.stderr if INFO_LINE.match(line)]
        assert any("herd.cli Cluster API CRDs installed" in line for line in echoed)
        assert any("herd.apiserver.pki generating cluster CA" in line for line in echoed)  # the child's too
        assert set(echoed) <= set(up.log_file.read_text().splitlines())
    finally:
        assert up.stop() == 0


def test_json_logs_stay_on_stderr(tmp_path: Path) -> None:
    up = Up(tmp_path / "data", ("--log-format", "json"))
    try:
        up.wait_ready()
        assert up.steps() == expected_steps(up)
    finally:
        assert up.stop() == 0
    entries = [json.loads(line) for line in up.stderr]  # every line, the API server child's too
    assert {"herd.cli", "herd.apiserver.pki"} <= {entry["logger"] for entry in entries}
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in entries)
    assert not up.log_file.exists()
