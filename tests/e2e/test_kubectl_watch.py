"""The real kubectl against `herd serve`: commands that wait for changes made by someone else.

`kubectl get -w`, `kubectl wait` and `kubectl delete` (with finalizers) run in the background while
another kubectl changes the object; the tests assert what the waiting command prints and when it exits.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import yaml
from support.plane import KUBECTL, ServedPlane
from support.waiting import eventually_sync

MANIFESTS = Path(__file__).parent / "manifests"
DEADLINE_SECONDS = 20.0


def widget(name: str, namespace: str, *, labels: dict[str, str] | None = None,
           finalizers: list[str] | None = None, **spec: Any) -> str:
    """A Widget manifest as YAML; `size` defaults to small."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if finalizers:
        metadata["finalizers"] = finalizers
    return yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata,
                           "spec": {"size": "small", **spec}}, sort_keys=False)


eventually = functools.partial(eventually_sync, timeout=DEADLINE_SECONDS)


class Running:
    """A kubectl left running in the background; threads collect its stdout and stderr lines."""

    def __init__(self, plane: ServedPlane, *args: str) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [KUBECTL, f"--cache-dir={plane.cache_dir}", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)})
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)

    def wait_for_stdout(self, matches: Callable[[list[str]], bool], what: str) -> None:
        """Until a cell-split stdout line satisfies `matches` (kubectl's tables split on whitespace)."""
        eventually(lambda: any(matches(line.split()) for line in list(self.stdout)),
                   f"kubectl {' '.join(self.args)} to print {what}; printed {self.stdout}, {self.stderr}")

    def wait_for_stderr(self, text: str) -> None:
        eventually(lambda: any(text in line for line in list(self.stderr)),
                   f"kubectl {' '.join(self.args)} to log {text!r}; logged {self.stderr}")

    def still_running_after(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return True
        return False

    def finish(self) -> int:
        """The exit code, once it exits (within the deadline), with its output fully read."""
        code = self.process.wait(timeout=DEADLINE_SECONDS)
        for reader in self._readers:
            reader.join(timeout=DEADLINE_SECONDS)
        return code


@pytest.fixture(scope="module")
def kube(shared_plane: ServedPlane) -> ServedPlane:
    """The shared plane with the Widget CRD applied."""
    shared_plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))
    return shared_plane


def set_status(plane: ServedPlane, name: str, namespace: str, *, ready: str, observed_generation: int) -> None:
    status = {"observedGeneration": observed_generation, "conditions": [{"type": "Ready", "status": ready}]}
    plane.kubectl("patch", "widget", name, "-n", namespace, "--subresource=status", "--type", "merge",
                  "-p", json.dumps({"status": status}))


# ---- kubectl get -w ------------------------------------------------------------------------------------

def test_kubectl_get_watch_prints_changes_made_by_another_client(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "watched")
    kube.kubectl("apply", "-f", "-", input=widget("w1", "watched"))

    with Running(kube, "get", "widgets", "-n", "watched", "-w") as watching:
        watching.wait_for_stdout(lambda cells: cells[:3] == ["w1", "small", "1"], "the existing widget")
        kube.kubectl("patch", "widget", "w1", "-n", "watched", "--type", "merge",
                     "-p", '{"spec": {"size": "large", "replicas": 2}}')
        watching.wait_for_stdout(lambda cells: cells[:3] == ["w1", "large", "2"], "the patched widget")
        kube.kubectl("apply", "-f", "-", input=widget("w2", "watched", size="medium"))
        watching.wait_for_stdout(lambda cells: cells[:3] == ["w2", "medium", "1"], "the new widget")

    assert watching.stdout[0].split() == ["NAME", "SIZE", "REPLICAS", "READY", "AGE"]


def test_kubectl_get_watch_with_a_selector_sees_objects_leave_it(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "selected")
    kube.kubectl("apply", "-f", "-", input="---\n".join(
        widget(name, "selected", labels={"app": "demo"}) for name in ("stays", "leaves", "removed")))

    with Running(kube, "get", "widgets", "-n", "selected", "-l", "app=demo", "-w", "--output-watch-events") as w:
        w.wait_for_stdout(lambda cells: cells[:2] == ["ADDED", "removed"], "the initial widgets")
        kube.kubectl("label", "widget", "leaves", "-n", "selected", "app=other", "--overwrite")
        w.wait_for_stdout(lambda cells: cells[:2] == ["DELETED", "leaves"], "the relabelled widget leaving")
        kube.kubectl("delete", "widget", "removed", "-n", "selected")
        w.wait_for_stdout(lambda cells: cells[:2] == ["DELETED", "removed"], "the deleted widget")
        kube.kubectl("scale", "widget", "stays", "-n", "selected", "--replicas=5")
        w.wait_for_stdout(lambda cells: cells[:4] == ["MODIFIED", "stays", "small", "5"], "the scaled widget")

    events = [line.split()[:2] for line in w.stdout[1:]]
    assert sorted(events[:3]) == [["ADDED", "leaves"], ["ADDED", "removed"], ["ADDED", "stays"]]
    assert events[3:] == [["DELETED", "leaves"], ["DELETED", "removed"], ["MODIFIED", "stays"]]


# ---- kubectl wait --------------------------------------------------------------------------------------

def test_kubectl_wait_for_ready_returns_once_the_current_generation_is_ready(kube: ServedPlane) -> None:
    kube.kubectl("create", "namespace", "waiting")
    kube.kubectl("apply", "-f", "-", input=widget("ready", "waiting"))
    kube.kubectl("patch", "widget", "ready", "-n", "waiting", "--type", "merge", "-p", '{"spec": {"size": "large"}}')

    with Running(kube, "wait", "--for=condition=Ready", "widget/ready", "-n", "waiting", "--timeout=60s",
                 "-v=6") as waiting:
        waiting.wait_for_stderr("watch=true")
        set_status(kube, "ready", "waiting", ready="True", observed_generation=1)  # ready, but for the old spec
        set_status(kube, "ready", "waiting", ready="False", observed_generation=2)
        assert waiting.still_running_after(1.0), waiting.stdout

        set_status(kube, "ready", "waiting", ready="True", observed_generation=2)

        assert waiting.finish() == 0, waiting.stderr
    assert waiting.stdout == ["widget.example.com/ready condition met"]


# ---- kubectl delete with finalizers --------------------------------------------------------------------

@pytest.mark.parametrize("style, patch", [
    ("json", '[{"op": "remove", "path": "/metadata/finalizers"}]'),
    ("merge", '{"metadata": {"finalizers": null}}'),
])
def test_kubectl_delete_waits_until_finalizer_removed(kube: ServedPlane, style: str, patch: str) -> None:
    namespace, name = f"finalizing-{style}", "held"
    kube.kubectl("create", "namespace", namespace)
    kube.kubectl("apply", "-f", "-", input=widget(name, namespace, finalizers=["example.com/hold"]))

    with Running(kube, "delete", "widget", name, "-n", namespace, "-v=6") as deleting:
        eventually(lambda: kube.kubectl("get", "widget", name, "-n", namespace,
                                        "-o", "jsonpath={.metadata.deletionTimestamp}").stdout != "",
                   "the widget to be marked for deletion")
        deleting.wait_for_stderr("watch=true")
        assert deleting.still_running_after(0.5), deleting.stdout

        kube.kubectl("patch", "widget", name, "-n", namespace, "--type", style, "-p", patch)

        assert deleting.finish() == 0, deleting.stderr
    assert deleting.stdout == [f'widget.example.com "{name}" deleted']
    gone = kube.kubectl("get", "widget", name, "-n", namespace, check=False)
    assert gone.returncode == 1
    assert f'widgets.example.com "{name}" not found' in gone.stderr
