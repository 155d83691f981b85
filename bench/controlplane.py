"""How fast `herd up` brings up a highly available KubeadmControlPlane cluster and rolls its control plane.

    .venv/bin/python bench/controlplane.py [--runs 3] [--timeout 120]

Each run starts `herd up` (fresh data dir, port 0) in a subprocess and applies examples/ha-cluster.yaml (three
control-plane Machines over three failure domains, three workers, two MachineHealthChecks) with every startup
duration at 0s, then:

1. up: seconds from the first create until the KubeadmControlPlane is Available with 3 ready, up-to-date replicas
   and the MachineDeployment reports its 3 workers available (target < 5 s);
2. rollout: `spec.version` v1.33.0 → v1.33.1 (RollingUpdate, maxSurge 1); seconds until 3 control-plane Machines
   of the new version are ready, up to date, and the old ones are gone (target < 15 s).

Prints one figure per line for each run (and the CPU seconds `herd up` and its children used in each phase), then
the spread of every figure over the runs: min / median / max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from fleet import apply, cpu_seconds, peak_rss_mib, start_herd, stop_herd, wait_for

from herd.api.cluster import MACHINE, MACHINE_DEPLOYMENT
from herd.runtime import Client, Kind

NAMESPACE, KCP_NAME, MD_NAME = "default", "ha-control-plane", "ha-md-0"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ha-cluster.yaml"
OLD, NEW, REPLICAS, WORKERS = "v1.33.0", "v1.33.1", 3, 3


def ha_objects() -> list[dict[str, Any]]:
    """The example, every startup duration at 0s."""
    objects = [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc]
    for obj in objects:
        if obj["kind"] == "DevMachineTemplate":
            backend = obj["spec"]["template"]["spec"]["backend"]["inMemory"]
            for component in ("vm", "node", "apiServer", "etcd"):
                backend[component] = {"provisioning": {"startupDuration": "0s"}}
    return objects


def status_of(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def condition(obj: dict[str, Any], type_: str) -> str | None:
    return next((c.get("status") for c in status_of(obj).get("conditions") or [] if c.get("type") == type_), None)


async def kcp_kind(client: Client) -> Kind:
    return await client.mapper.kind_for("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane")


async def control_plane_settled(client: Client, kcp: Kind, version: str) -> bool:
    """The KubeadmControlPlane observed its spec, Available, MachinesUpToDate, with REPLICAS ready up-to-date
    replicas of `version`, and exactly REPLICAS control-plane Machines, all Running at `version`."""
    obj = await client.get(kcp, KCP_NAME, NAMESPACE)
    status = status_of(obj)
    if not (status.get("observedGeneration", 0) >= obj["metadata"]["generation"]
            and condition(obj, "Available") == "True" and condition(obj, "MachinesUpToDate") == "True"
            and status.get("version") == version
            and status.get("replicas") == status.get("readyReplicas") == status.get("upToDateReplicas") == REPLICAS):
        return False
    machines = (await client.list(MACHINE, namespace=NAMESPACE, label_selector=CONTROL_PLANE_LABEL)).items
    return len(machines) == REPLICAS and all(
        m["spec"].get("version") == version and status_of(m).get("phase") == "Running"
        and not m["metadata"].get("deletionTimestamp") for m in machines)


async def workers_available(client: Client) -> bool:
    md = await client.get(MACHINE_DEPLOYMENT, MD_NAME, NAMESPACE)
    status = status_of(md)
    return status.get("availableReplicas") == status.get("readyReplicas") == WORKERS


def cpu_used(pid: int, before: dict[str, float]) -> float:
    return sum(cpu_seconds(pid).values()) - sum(before.values())


async def one_run(timeout: float) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-controlplane-"))
    process, kubeconfig = start_herd(base / "data")
    client = Client.from_kubeconfig(kubeconfig)
    figures: dict[str, float] = {}
    try:
        cpu_before = cpu_seconds(process.pid)
        started = time.perf_counter()
        await apply(client, ha_objects())
        kcp = await kcp_kind(client)
        await wait_for("the control plane", lambda: control_plane_settled(client, kcp, OLD), timeout)
        figures["control_plane_available_seconds"] = time.perf_counter() - started
        await wait_for("the workers", lambda: workers_available(client), timeout)
        figures["cluster_available_seconds"] = time.perf_counter() - started
        figures["up_cpu_seconds"] = cpu_used(process.pid, cpu_before)

        cpu_before = cpu_seconds(process.pid)
        started = time.perf_counter()
        await client.patch(kcp, KCP_NAME, {"spec": {"version": NEW}}, namespace=NAMESPACE)
        await wait_for("the control-plane rollout", lambda: control_plane_settled(client, kcp, NEW), timeout)
        figures["control_plane_rollout_seconds"] = time.perf_counter() - started
        figures["rollout_cpu_seconds"] = cpu_used(process.pid, cpu_before)
        figures["herd_peak_rss_mib"] = peak_rss_mib(process.pid)
    finally:
        await client.close()
        stop_herd(process, base)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="seconds each phase may take")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    for run in range(1, args.runs + 1):
        figures = asyncio.run(one_run(args.timeout))
        for name, value in figures.items():
            print(f"run_{run}_{name}: {value:.1f}", flush=True)
        runs.append(figures)
    for name in runs[0]:
        values = sorted(figures[name] for figures in runs)
        print(f"{name}: min {values[0]:.1f} / median {statistics.median(values):.1f} / max {values[-1]:.1f}")


if __name__ == "__main__":
    main()
