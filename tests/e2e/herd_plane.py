"""`herd serve` or `herd up` in a subprocess and the real kubectl against it: helpers for end-to-end tests.

A module of its own (not conftest.py) so tests can import it by a unique name."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

KUBECTL = "/usr/bin/kubectl"

T = TypeVar("T")


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


@dataclass
class HerdUp:
    """A running `herd up` and kubectl against it."""

    process: Process
    data_dir: Path
    cache: Path

    @classmethod
    def start(cls, data_dir: Path, cache: Path) -> Self:
        """Start `herd up --data-dir data_dir --port 0` and wait until it prints `export KUBECONFIG=`."""
        process = Process("up", "--data-dir", str(data_dir), "--port", "0")
        try:
            process.wait_for(r"^export KUBECONFIG=")
        except BaseException:
            process.stop()
            raise
        return cls(process, data_dir, cache)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "management.kubeconfig"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kubectl(self.kubeconfig, self.cache, *args, input=input, check=check)

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)
        return obj

    def items(self, kind: str, namespace: str, *selector: str) -> list[dict[str, Any]]:
        listed = json.loads(self.kubectl("get", kind, "-n", namespace, "-o", "json", *selector).stdout)
        items: list[dict[str, Any]] = listed["items"]
        return items


def eventually(probe: Callable[[], T], what: str, *, timeout: float, poll: float) -> T:
    """`probe()`'s value once it stops failing an assertion, tried every `poll` seconds; fails with the last
    assertion after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except AssertionError as exc:
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not within {timeout:.0f}s:\n{exc}") from None
        time.sleep(poll)


def throughout(probe: Callable[[], None], *, seconds: float, poll: float) -> None:
    """`probe()` holds at every poll, every `poll` seconds for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe()
        time.sleep(poll)


@dataclass
class KubectlWatch:
    """`kubectl get KIND -w --output-watch-events -o json`, each event handed to `on_event(type, object)` from a
    reader thread as kubectl prints it."""

    process: subprocess.Popen[str]
    on_event: Callable[[str, dict[str, Any]], None]

    @classmethod
    def start(cls, herd: HerdUp, on_event: Callable[[str, dict[str, Any]], None], kind: str,
              *selection: str) -> KubectlWatch:
        process = subprocess.Popen(
            [KUBECTL, f"--cache-dir={herd.cache}", f"--kubeconfig={herd.kubeconfig}", "get", kind, *selection,
             "-w", "--output-watch-events", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch = cls(process, on_event)
        threading.Thread(target=watch._read, daemon=True).start()
        return watch

    def _read(self) -> None:
        assert self.process.stdout is not None
        decoder, buffer = json.JSONDecoder(), ""
        for line in self.process.stdout:  # one event a line, or pretty-printed over several
            buffer += line
            try:
                event, _ = decoder.raw_decode(buffer.strip())
            except json.JSONDecodeError:
                continue
            buffer = ""
            self.on_event(event["type"], event["object"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
