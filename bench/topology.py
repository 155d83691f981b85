"""How fast `herd up` builds topology Clusters from a ClusterClass.

    .venv/bin/python bench/topology.py [--clusters 50] [--timeout 300]

Starts `herd up` with the ClusterTopology gate (fresh data dir, port 0), applies examples/clusterclass-dev.yaml with
every startup duration at 0s, then creates N Clusters of 1 control-plane and 1 worker Machine that name the class
in `spec.topology`. Prints one figure per line: seconds from the first Cluster's creation until every Cluster is
Available with its topology reconciled, the CPU seconds `herd up` and its children used meanwhile (and, from the
manager's /metrics, the reconcile CPU of the topology controller and of the busiest others), and their peak RSS
(VmHWM) together.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from controlplane import cpu_used
from fleet import apply, cpu_seconds, peak_rss_mib, start_herd, stop_herd, wait_for

from herd.api.cluster import CLUSTER
from herd.runtime import Client

NAMESPACE, VERSION = "default", "v1.33.0"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "clusterclass-dev.yaml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reconcile_cpu(health_port: int) -> dict[str, float]:
    """herd_reconcile_cpu_seconds_total per controller, from the manager's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^herd_reconcile_cpu_seconds_total\{controller="([^"]+)"\} (\S+)$', text, re.MULTILINE)}


def class_objects() -> list[dict[str, Any]]:
    """The example class and its templates, every simulated startup at 0s."""
    text = re.sub(r"startupDuration: [0-9a-z]+", "startupDuration: 0s", EXAMPLE.read_text())
    objects = [d for d in yaml.safe_load_all(text) if d]
    for obj in objects:
        obj["metadata"]["namespace"] = NAMESPACE
    return objects


def topology_cluster(name: str) -> dict[str, Any]:
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"topology": {"classRef": {"name": "dev"}, "version": VERSION, "controlPlane": {"replicas": 1},
                                  "workers": {"machineDeployments": [
                                      {"class": "default-worker", "name": "md-0", "replicas": 1}]},
                                  "variables": [{"name": "vmStartupDuration", "value": "0s"}]}}}


def available(cluster: dict[str, Any]) -> bool:
    conditions = {c.get("type"): c for c in (cluster.get("status") or {}).get("conditions") or []}
    return bool((conditions.get("Available") or {}).get("status") == "True"
                and (conditions.get("TopologyReconciled") or {}).get("status") == "True"
                and (cluster.get("status") or {}).get("workers", {}).get("availableReplicas") == 1)


async def run(clusters: int, timeout: float) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-topology-"))
    health_port = free_port()
    process, kubeconfig = start_herd(base / "data", "--health-port", str(health_port),
                                     "--feature-gates", "ClusterTopology=true")
    client = Client.from_kubeconfig(kubeconfig)
    figures: dict[str, float] = {}
    try:
        await apply(client, class_objects())
        cpu_before = cpu_seconds(process.pid)
        started = time.perf_counter()
        await apply(client, [topology_cluster(f"t{i:03d}") for i in range(clusters)])

        async def all_available() -> bool:
            listed = await client.list(CLUSTER, namespace=NAMESPACE)
            return sum(1 for c in listed.items if available(c)) == clusters
        try:
            await wait_for(f"{clusters} Clusters Available", all_available, timeout)
        except SystemExit:
            for cluster in (await client.list(CLUSTER, namespace=NAMESPACE)).items:
                if not available(cluster):  # what the ones that did not make it say about themselves
                    conditions = {c["type"]: c.get("reason") for c in cluster.get("status", {}).get("conditions", [])}
                    print(f"not available: {cluster['metadata']['name']} {conditions}", flush=True)
            raise
        figures["clusters_available_seconds"] = time.perf_counter() - started
        figures["cpu_seconds"] = cpu_used(process.pid, cpu_before)
        figures["peak_rss_mib"] = peak_rss_mib(process.pid)
        by_controller = sorted(reconcile_cpu(health_port).items(), key=lambda item: -item[1])
        for controller, seconds in by_controller[:6]:
            figures[f"reconcile_cpu_seconds[{controller}]"] = seconds
    finally:
        await client.close()
        stop_herd(process, base)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300, help="seconds the Clusters may take")
    args = parser.parse_args()
    print(f"clusters: {args.clusters}")
    for name, value in asyncio.run(run(args.clusters, args.timeout)).items():
        print(f"{name}: {value:.1f}", flush=True)


if __name__ == "__main__":
    main()
