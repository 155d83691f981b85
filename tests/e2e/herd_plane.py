"""`herd serve` in a subprocess and the real kubectl against it: helpers for end-to-end tests.

A module of its own (not conftest.py) so tests can import it by a unique name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

KUBECTL = "/usr/bin/kubectl"


@dataclass
class ServedPlane:
    """A running `herd serve` and how to reach it."""

    process: subprocess.Popen[str]
    data_dir: Path
    port: int
    kubeconfig: Path
    cache_dir: Path
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this plane."""
        full_env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), **(env or {})}
        result = subprocess.run(
            [KUBECTL, f"--cache-dir={self.cache_dir}", *args], input=input, capture_output=True, text=True,
            env=full_env, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_plane(data_dir: Path, cache_dir: Path, *extra: str, port: int = 0) -> ServedPlane:
    """Start `herd serve` and wait until it prints its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"\(port (\d+)\)", line)
        if match:
            plane = ServedPlane(process, data_dir, int(match.group(1)), data_dir / "management.kubeconfig",
                                cache_dir, lines)
            # keep draining output so the server never blocks on a full pipe

            threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
            deadline = time.monotonic() + 10
            while not plane.kubeconfig.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return plane
    process.kill()
    raise AssertionError("herd serve did not start:\n" + "".join(lines))


class Process:
    """A herd command in the background whose output is collected line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "herd.cli.main", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"never printed {pattern!r}:\n{''.join(self.lines)}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def kubectl(kubeconfig: Path, cache: Path, *args: str, input: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real kubectl with this kubeconfig; fails the test on a non-zero exit unless `check` is False."""
    result = subprocess.run([KUBECTL, f"--cache-dir={cache}", *args], input=input, capture_output=True, text=True,
                            env={**os.environ, "KUBECONFIG": str(kubeconfig)}, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result
