"""`herd serve` in a subprocess, and the real kubectl against it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

KUBECTL = "/usr/bin/kubectl"


def kubectl(kubeconfig: Path, cache: Path, *args: str, input: str | None = None, check: bool = True,
            env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real kubectl with this kubeconfig; fails the test on a non-zero exit unless `check` is False."""
    result = subprocess.run([KUBECTL, f"--cache-dir={cache}", *args], input=input, capture_output=True, text=True,
                            env={**os.environ, "KUBECONFIG": str(kubeconfig), **(env or {})}, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def stop_process(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    """Send `sig` (SIGKILL: no chance to clean up) unless it has exited; its exit code, killed after 20 s."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class ServedPlane:
    """One data dir served by `herd serve` (again on the same port after `restart`), and how to reach it."""

    data_dir: Path
    cache_dir: Path
    extra: tuple[str, ...] = ()
    port: int = 0
    output: list[str] = field(default_factory=list)
    _process: subprocess.Popen[str] | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self._process is not None, "the plane was never started"
        return self._process

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "management.kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start `herd serve` and wait until it prints its port and has written its kubeconfig."""
        process = subprocess.Popen(
            [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(self.data_dir),
             "--port", str(self.port), *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(r"\(port (\d+)\)", line)
            if match:
                self.port, self._process = int(match.group(1)), process
                # keep draining output so the server never blocks on a full pipe
                threading.Thread(target=lambda: self.output.extend(process.stdout or []), daemon=True).start()
                deadline = time.monotonic() + 10
                while not self.kubeconfig.exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
                return self
        process.kill()
        raise AssertionError("herd serve did not start:\n" + "".join(self.output))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server with `sig` and wait for it to exit; its exit code."""
        return stop_process(self.process, sig)

    def restart(self, sig: int = signal.SIGTERM, *, same_port: bool = True) -> Self:
        """Stop (a SIGTERM'd server must exit cleanly) and start again, on the same port unless told otherwise."""
        code = self.stop(sig)
        if sig == signal.SIGTERM:
            assert code == 0, "".join(self.output)
        if not same_port:
            self.port = 0
        return self.start()

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this plane."""
        return kubectl(self.kubeconfig, self.cache_dir, *args, input=input, check=check, env=env, timeout=timeout)


def start_plane(data_dir: Path, cache_dir: Path, *extra: str, port: int = 0) -> ServedPlane:
    """A started `herd serve` of `data_dir`; kubectl keeps its discovery cache in `cache_dir`."""
    return ServedPlane(data_dir, cache_dir, extra, port).start()


@contextlib.contextmanager
def serving(base: Path, *extra: str) -> Iterator[ServedPlane]:
    """`herd serve` of `base`/data while the block runs."""
    plane = start_plane(base / "data", base / "kubectl-cache", *extra)
    try:
        yield plane
    finally:
        plane.stop()


@contextlib.contextmanager
def management_and_workload(base: Path, *workload_extra: str) -> Iterator[tuple[ServedPlane, ServedPlane]]:
    """A management plane and a second `herd serve` as a workload cluster's API server, while the block runs."""
    with serving(base / "management") as management, serving(base / "workload", *workload_extra) as workload:
        yield management, workload
