"""What a user's script does: start `herd up` in the background, wait for the kubeconfig file, apply a Cluster at
once, stop the plane — twenty times, each on a fresh data dir. It must succeed every time: the kubeconfig appears
only once the Cluster API kinds and their webhooks are served, and it is gone once the plane has stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.plane import KUBECTL

RUNS = 20
SCRIPT = r"""
set -eu
cat > "$WORK/cluster.yaml" <<'YAML'
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: at-once, namespace: default}
spec:
  clusterNetwork: {pods: {cidrBlocks: ["192.168.0.0/16"]}}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevCluster, name: at-once}
YAML
for run in $(seq "$RUNS"); do
    data="$WORK/run-$run"
    $HERD up --data-dir "$data" --port 0 > "$WORK/up-$run.out" 2>&1 &
    herd=$!
    waited=0
    until [ -f "$data/management.kubeconfig" ]; do
        kill -0 "$herd" 2>/dev/null || { echo "run $run: herd up exited"; cat "$WORK/up-$run.out"; exit 1; }
        [ "$waited" -lt 1200 ] || { echo "run $run: no kubeconfig after 60s"; kill "$herd"; exit 1; }
        sleep 0.05; waited=$((waited + 1))
    done
    if ! "$KUBECTL" --kubeconfig "$data/management.kubeconfig" --cache-dir "$WORK/cache" apply \
            -f "$WORK/cluster.yaml"; then
        echo "run $run: the apply failed"; kill "$herd"; exit 1
    fi
    kill -TERM "$herd"
    wait "$herd" || { echo "run $run: herd up exited with $?"; cat "$WORK/up-$run.out"; exit 1; }
    [ ! -e "$data/management.kubeconfig" ] || { echo "run $run: the kubeconfig outlived the plane"; exit 1; }
done
echo "$RUNS runs"
"""


@pytest.mark.timeout(RUNS * 30)  # about 4 s a run on an idle machine, 9 s on a busy one
def test_a_script_applies_a_cluster_as_soon_as_the_kubeconfig_appears(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", SCRIPT], capture_output=True, text=True, timeout=RUNS * 30,
        env={"WORK": str(tmp_path), "RUNS": str(RUNS), "KUBECTL": KUBECTL, "PATH": "/usr/bin:/bin",
             "HERD": f"{sys.executable} -m herd.cli.main"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("cluster.cluster.x-k8s.io/at-once created") == RUNS
    assert result.stdout.strip().endswith(f"{RUNS} runs")
    print(f"{RUNS} runs in {time.monotonic() - started:.0f}s")
