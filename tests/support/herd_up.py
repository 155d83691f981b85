"""`herd up` in a subprocess, kubectl against it, and `kubectl get -w` read event by event."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from .plane import KUBECTL, kubectl, stop_process


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
        return stop_process(self.proc, sig)


@dataclass
class HerdUp:
    """A running `herd up` and kubectl against it."""

    process: Process
    data_dir: Path
    cache: Path

    @classmethod
    def start(cls, data_dir: Path, cache: Path, *flags: str) -> Self:
        """Start `herd up -v --data-dir data_dir --port 0 [flags]` (-v: its log is in `lines` too) and wait until it
        prints `ready: export KUBECONFIG=`."""
        process = Process("up", "-v", "--data-dir", str(data_dir), "--port", "0", *flags)
        try:
            process.wait_for(r"^ready: export KUBECONFIG=")
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


H = TypeVar("H", bound=HerdUp)


@contextlib.contextmanager
def herd_up(base: Path, kind: type[H], *flags: str) -> Iterator[H]:
    """`herd up` of `base`/data while the block runs; after it, `herd up` must exit cleanly on SIGTERM (unless the
    block failed: then it is only stopped)."""
    running = kind.start(base / "data", base / "kubectl-cache", *flags)
    try:
        yield running
    except BaseException:
        running.process.stop()
        raise
    assert running.process.stop() == 0, "".join(running.process.lines)


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


class WatchRecorder:
    """Keeps what a `kubectl get -w` reports, as a subclass's `record(type, object)` says."""

    watch: KubectlWatch | None = None

    def start_watch(self, herd: HerdUp, kind: str, *selection: str) -> Self:
        self.watch = KubectlWatch.start(herd, self.record, kind, *selection)
        return self

    def record(self, type_: str, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        assert self.watch is not None
        self.watch.stop()
