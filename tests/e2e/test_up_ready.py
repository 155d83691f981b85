"""`herd up` publishes the management kubeconfig only once the plane serves the Cluster API kinds and their
webhooks: a script that starts it, waits for the file and applies a Cluster at once succeeds every time."""

from __future__ import annotations

import time
from pathlib import Path

from support.herd_up import Process
from support.plane import kubectl

RUNS = 5  # each is a full start and stop of the plane (the 20 were run by hand)
CLUSTER = """apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: at-once-%d
  namespace: default
spec:
  clusterNetwork:
    pods:
      cidrBlocks: ["192.168.0.0/16"]
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DevCluster
    name: at-once
"""


def wait_for_file(path: Path, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.proc.poll() is None, "".join(process.lines)
        assert time.monotonic() < deadline, f"{path} never appeared:\n{''.join(process.lines)}"
        time.sleep(0.01)


def test_a_cluster_applied_as_soon_as_the_kubeconfig_appears_is_accepted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    kubeconfig = data / "management.kubeconfig"
    for run in range(RUNS):
        process = Process("up", "--data-dir", str(data), "--port", "0")
        try:
            wait_for_file(kubeconfig, process)
            applied = kubectl(kubeconfig, tmp_path / f"cache-{run}", "apply", "-f", "-", input=CLUSTER % run,
                              check=False)
            assert applied.returncode == 0, applied.stderr
            assert kubeconfig.stat().st_mode & 0o077 == 0
        finally:
            assert process.stop() == 0
        assert not kubeconfig.exists(), "a stopped plane leaves no kubeconfig behind to be mistaken for a ready one"
