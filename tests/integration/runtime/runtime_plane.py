"""Helpers for herd.runtime integration tests: `herd serve` in a subprocess, and awaiting conditions.

A module of its own (not conftest.py) so tests import it by a unique name.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Plane:
    """One data dir served by successive `herd serve` processes on the same port."""

    data_dir: Path
    extra: tuple[str, ...] = ()
    port: int = 0
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "management.kubeconfig"

    def start(self) -> Plane:
        """Start `herd serve` (on the previous port after a restart) and wait until it listens."""
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
                self.port = int(match.group(1))
                self.process = process
                # keep draining output so the server never blocks on a full pipe
                threading.Thread(target=lambda: self.output.extend(process.stdout or []), daemon=True).start()
                while not self.kubeconfig.exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
                return self
        process.kill()
        raise AssertionError("herd serve did not start:\n" + "".join(self.output))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server with `sig` (SIGKILL: no chance to clean up) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, sig: int = signal.SIGTERM) -> Plane:
        self.stop(sig)
        return self.start()


async def eventually(condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 30.0,
                     interval: float = 0.02, message: str = "condition") -> None:
    """Await until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not hold within {timeout}s")
        await asyncio.sleep(interval)


GROUP = "runtime.herd.dev"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {
        "group": GROUP, "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "minimum": 0},
                    "color": {"type": "string"},
                }},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            }}},
        }],
    },
}


def widget(name: str, namespace: str = "default", **spec: object) -> dict[str, object]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name, "namespace": namespace},
            "spec": dict(spec)}
