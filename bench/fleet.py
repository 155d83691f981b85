"""How fast `herd up` brings up and rolls a fleet of worker Machines on the Dev provider's inMemory backend.

    .venv/bin/python bench/fleet.py [--workers 1000] [--rollout-workers 100] [--max-surge 10]

Starts `herd up` (fresh data dir, port 0) in a subprocess and applies examples/cluster-with-workers.yaml with every
startup duration at 0s and the MachineDeployment at 0 replicas; once the control plane Machine is Running:

1. scale-up: the MachineDeployment goes 0 → N; seconds until N worker Machines are Running (followed by a watch
   of the deployment's Machines, so the benchmark itself costs the server little), and until the
   MachineDeployment reports them ready and available;
2. scale-down to the rollout size (skipped when N equals it);
3. rollout: a rolling update (maxSurge, maxUnavailable 0) triggered by a new template version; seconds until the
   MachineDeployment reports every replica up to date and available and the old MachineSet is at 0.

Prints one figure per line: the seconds above, the CPU time `herd up` and its child processes (API server,
simulated workload API servers) each used per worker during the scale-up, and their peak RSS (VmHWM) together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from herd.api.cluster import MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.runtime import Client

NAMESPACE = "default"
MD_NAME = "fleet-md-0"
DEPLOYMENT_LABEL = "cluster.x-k8s.io/deployment-name"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cluster-with-workers.yaml"
POLL = 0.5  # seconds between checks (the Machines' phases come by watch; the deployment is read each time)


def stop_herd(process: subprocess.Popen[str], base: Path) -> None:
    """Stop `herd up` (SIGTERM, then SIGKILL after 30 s) and remove its data directory."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(base, ignore_errors=True)


def start_herd(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    """`herd up` in a subprocess; returns once the manager is running (its output is then drained)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    kubeconfig: Path | None = None
    for line in process.stdout:
        match = re.search(r"export KUBECONFIG=(\S+)", line)
        if match:
            kubeconfig = Path(match.group(1))
            threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
            return process, kubeconfig
    raise SystemExit("herd up did not start")


def peak_rss_mib(pid: int) -> float:
    """Peak RSS (VmHWM) of the process and its children (`herd up` runs its API server and the workload clusters'
    API servers as children)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for each in [pid, *(int(c) for c in children.read_text().split())]:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{each}/status").read_text())
        total += int(match.group(1)) / 1024 if match else 0.0
    return total


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by `herd up` ("manager"), its API server child ("apiserver") and the
    child serving the simulated workload clusters ("workloads")."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for each in [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        command = Path(f"/proc/{each}/cmdline").read_bytes().split(b"\0")
        name = "manager" if each == pid else "workloads" if b"herd.cli.workload_host" in command else "apiserver"
        fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def fleet_objects() -> list[dict[str, Any]]:
    """The example, with zero startup durations and a MachineDeployment of 0 replicas."""
    objects = [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc]
    for obj in objects:
        kind = obj["kind"]
        backend = None
        if kind == "DevMachine":
            backend = obj["spec"]["backend"]["inMemory"]
        elif kind == "DevMachineTemplate":
            backend = obj["spec"]["template"]["spec"]["backend"]["inMemory"]
        if backend is not None:
            for component in ("vm", "node", "apiServer", "etcd"):
                backend[component] = {"provisioning": {"startupDuration": "0s"}}
        if kind == "MachineDeployment":
            obj["spec"]["replicas"] = 0
    return objects


async def apply(client: Client, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        for attempt in range(60):  # the webhooks may need a moment after the manager started
            try:
                await client.create(obj)
                break
            except Exception:
                if attempt == 59:
                    raise
                await asyncio.sleep(0.5)


async def wait_for(what: str, check: Callable[[], Any], timeout: float) -> float:
    """Poll `check` (an async callable returning truthy when done) every POLL seconds; returns seconds taken."""
    started = time.perf_counter()
    deadline = started + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(POLL)
    return time.perf_counter() - started


def md_status(md: dict[str, Any]) -> dict[str, Any]:
    return md.get("status") or {}


async def scale(client: Client, replicas: int) -> None:
    await client.patch(MACHINE_DEPLOYMENT, MD_NAME, {"spec": {"replicas": replicas}}, namespace=NAMESPACE)


async def md_settled(client: Client, replicas: int) -> bool:
    md = await client.get(MACHINE_DEPLOYMENT, MD_NAME, NAMESPACE)
    status = md_status(md)
    return bool(status.get("observedGeneration", 0) >= md["metadata"]["generation"]
                and status.get("replicas") == replicas and status.get("readyReplicas") == replicas
                and status.get("availableReplicas") == replicas and status.get("upToDateReplicas") == replicas)


class MachinePhases:
    """The phase of each worker Machine, kept by a watch: cheaper for the server than listing them every second."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.phases: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    def running(self) -> int:
        return sum(1 for phase in self.phases.values() if phase == "Running")

    async def __aenter__(self) -> MachinePhases:
        listed = await self.client.list(MACHINE, namespace=NAMESPACE, label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}")
        self.phases = {m["metadata"]["name"]: md_status(m).get("phase", "") for m in listed.items}
        self._task = asyncio.ensure_future(self._follow(listed.resource_version))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, version: str) -> None:
        async for event in self.client.watch(MACHINE, namespace=NAMESPACE, resource_version=version,
                                             label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}", timeout_seconds=3600):
            name = event.object.get("metadata", {}).get("name")
            if event.type == "DELETED":
                self.phases.pop(name, None)
            elif event.type in ("ADDED", "MODIFIED"):
                self.phases[name] = md_status(event.object).get("phase", "")


async def phase_scale_up(client: Client, workers: int, timeout: float, herd_pid: int) -> None:
    cpu_before = cpu_seconds(herd_pid)
    async with MachinePhases(client) as machines:
        started = time.perf_counter()
        await scale(client, workers)
        running_at: float | None = None

        async def running() -> bool:
            nonlocal running_at
            if running_at is None and machines.running() >= workers:
                running_at = time.perf_counter() - started
            return running_at is not None and await md_settled(client, workers)

        await wait_for(f"{workers} workers Running", running, timeout)
    print(f"workers: {workers}")
    print(f"workers_running_seconds: {running_at:.1f}")
    print(f"workers_running_per_second: {workers / (running_at or 1):.1f}")
    print(f"md_available_seconds: {time.perf_counter() - started:.1f}")
    cpu_after = cpu_seconds(herd_pid)
    for name, seconds in cpu_after.items():  # steadier than the wall clock on a shared machine
        print(f"{name}_cpu_ms_per_worker: {(seconds - cpu_before.get(name, 0.0)) * 1000 / workers:.0f}")


async def phase_scale_down(client: Client, replicas: int, timeout: float) -> None:
    async with MachinePhases(client) as machines:
        started = time.perf_counter()
        await scale(client, replicas)

        async def done() -> bool:
            return len(machines.phases) == replicas and await md_settled(client, replicas)

        await wait_for(f"scale down to {replicas}", done, timeout)
    print(f"scale_down_to_{replicas}_seconds: {time.perf_counter() - started:.1f}")


async def phase_rollout(client: Client, replicas: int, max_surge: int, timeout: float) -> None:
    await client.patch(MACHINE_DEPLOYMENT, MD_NAME, {"spec": {"rollout": {"strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": 0}}}}},
        namespace=NAMESPACE)
    old_sets = {ms["metadata"]["name"] for ms in (await client.list(
        MACHINE_SET, namespace=NAMESPACE, label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}")).items}
    started = time.perf_counter()
    await client.patch(MACHINE_DEPLOYMENT, MD_NAME, {"spec": {"template": {"spec": {"version": "v1.33.1"}}}},
                       namespace=NAMESPACE)

    async def done() -> bool:
        if not await md_settled(client, replicas):
            return False
        sets = (await client.list(MACHINE_SET, namespace=NAMESPACE,
                                  label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}")).items
        return all((ms.get("spec") or {}).get("replicas", 0) == 0 and not md_status(ms).get("replicas")
                   for ms in sets if ms["metadata"]["name"] in old_sets)

    await wait_for("the rollout", done, timeout)
    print(f"rollout_workers: {replicas} (maxSurge {max_surge}, maxUnavailable 0)")
    print(f"rollout_seconds: {time.perf_counter() - started:.1f}")


async def bench(workers: int, rollout_workers: int, max_surge: int, timeout: float) -> None:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-fleet-"))
    process, kubeconfig = start_herd(base / "data")
    print(f"herd_pid: {process.pid}", flush=True)
    client = Client.from_kubeconfig(kubeconfig)
    try:
        started = time.perf_counter()
        await apply(client, fleet_objects())

        async def control_plane_running() -> bool:
            machine = await client.get(MACHINE, "fleet-control-plane-0", NAMESPACE)
            return bool(md_status(machine).get("phase") == "Running")

        await wait_for("the control plane Machine", control_plane_running, 120)
        print(f"control_plane_running_seconds: {time.perf_counter() - started:.1f}", flush=True)
        if workers:
            await phase_scale_up(client, workers, timeout, process.pid)
            print(f"herd_peak_rss_mib_after_scale_up: {peak_rss_mib(process.pid):.0f}", flush=True)
        if rollout_workers:
            if workers > rollout_workers:
                await phase_scale_down(client, rollout_workers, timeout)
            elif workers < rollout_workers:
                await phase_scale_up(client, rollout_workers, timeout, process.pid)
            await phase_rollout(client, rollout_workers, max_surge, timeout)
        print(f"herd_peak_rss_mib: {peak_rss_mib(process.pid):.0f}")
    finally:
        await client.close()
        stop_herd(process, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1000, help="worker Machines to scale up to (0 skips)")
    parser.add_argument("--rollout-workers", type=int, default=100, help="workers rolled (0 skips the rollout)")
    parser.add_argument("--max-surge", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600, help="seconds each phase may take")
    args = parser.parse_args()
    asyncio.run(bench(args.workers, args.rollout_workers, args.max_surge, args.timeout))


if __name__ == "__main__":
    main()
