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

With `--against real` the same runs twice in one go: first on `herd up`, then with `herd init --kubeconfig`
against etcd + kube-apiserver (built by `make real-k8s`, started by tests/support/realk8s.py; the controllers
under their ServiceAccount), each figure prefixed `herd_` or `kube_`, then herd's divided by kube's. There the
API server's CPU and RSS are kube-apiserver's and etcd's, the manager's are `herd init`'s.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from herd.api.cluster import MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.runtime import Client, ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.realk8s import binaries_built, real_kubernetes  # the test helper starts etcd + kube-apiserver

NAMESPACE = "default"
MD_NAME = "fleet-md-0"
DEPLOYMENT_LABEL = "cluster.x-k8s.io/deployment-name"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cluster-with-workers.yaml"
Report = Callable[[str, float], None]  # a figure's name and value
POLL = 0.5  # seconds between checks (the Machines' phases come by watch; the deployment is read each time)


def stop_herd(process: subprocess.Popen[str], base: Path) -> None:
    """Stop `herd up` (SIGTERM, then SIGKILL after 30 s) and remove its data directory."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(base, ignore_errors=True)


def drain(process: subprocess.Popen[str]) -> None:
    threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()


def start_herd(data_dir: Path, *flags: str,
               env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], Path]:
    """`herd up [flags]` in a subprocess; returns once the manager is running (its output is then drained)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(data_dir), "--port", "0", *flags],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"export KUBECONFIG=(\S+)", line)
        if match:
            drain(process)
            return process, Path(match.group(1))
    raise SystemExit("herd up did not start")


def start_herd_init(kubeconfig: Path, data_dir: Path) -> subprocess.Popen[str]:
    """`herd init --kubeconfig` in a subprocess; returns once its manager is running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "init", "--kubeconfig", str(kubeconfig), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "manager metrics and probes on" in line:
            drain(process)
            return process
    raise SystemExit("herd init did not start")


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def roles(pid: int, servers: dict[str, int]) -> dict[str, list[int]]:
    """The processes by role: `herd up`/`herd init` ("manager"), the child serving the simulated workload clusters
    ("workloads") and the API server: `herd up`'s child, or kube-apiserver and etcd ("apiserver")."""
    found: dict[str, list[int]] = {"manager": [pid], "workloads": [], "apiserver": list(servers.values())}
    for child in children(pid):
        workload_host = b"herd.cli.workload_host" in Path(f"/proc/{child}/cmdline").read_bytes()
        found["workloads" if workload_host else "apiserver"].append(child)
    return found


def rss_of(pids: list[int]) -> float:
    """Peak RSS (VmHWM) of these processes together."""
    total = 0.0
    for each in pids:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{each}/status").read_text())
        total += int(match.group(1)) / 1024 if match else 0.0
    return total


def peak_rss_mib(pid: int) -> float:
    """Peak RSS of the process and its children (`herd up` runs its API server and the workload clusters' API
    servers as children)."""
    return rss_of([pid, *children(pid)])


def cpu_seconds(pid: int, servers: dict[str, int] | None = None) -> dict[str, float]:
    """CPU time (user + system) used so far by each role (see `roles`)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for role, pids in roles(pid, servers or {}).items():
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
            used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def report_rss(target: Target, report: Report, when: str = "") -> None:
    by_role = roles(target.herd_pid, target.servers)
    for role, pids in by_role.items():
        report(f"{role}_peak_rss_mib{when}", rss_of(pids))
    report(f"peak_rss_mib{when}", rss_of([p for pids in by_role.values() for p in pids]))


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

    async def _list(self) -> str:
        listed = await self.client.list(MACHINE, namespace=NAMESPACE, label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}")
        self.phases = {m["metadata"]["name"]: md_status(m).get("phase", "") for m in listed.items}
        return listed.resource_version

    async def __aenter__(self) -> MachinePhases:
        self._task = asyncio.ensure_future(self._follow(await self._list()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, version: str) -> None:
        # kube-apiserver ends a watch whose reader falls behind (and any watch may end): list again and go on
        while True:
            with contextlib.suppress(ClientError):
                async for event in self.client.watch(MACHINE, namespace=NAMESPACE, resource_version=version,
                                                     label_selector=f"{DEPLOYMENT_LABEL}={MD_NAME}",
                                                     timeout_seconds=3600):
                    name = event.object.get("metadata", {}).get("name")
                    if event.type == "DELETED":
                        self.phases.pop(name, None)
                    elif event.type in ("ADDED", "MODIFIED"):
                        self.phases[name] = md_status(event.object).get("phase", "")
            version = await self._list()


async def phase_scale_up(client: Client, workers: int, timeout: float, target: Target, report: Report) -> None:
    cpu_before = cpu_seconds(target.herd_pid, target.servers)
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
    report("workers", workers)
    report("workers_running_seconds", running_at or 0.0)
    report("workers_running_per_second", workers / (running_at or 1))
    report("md_available_seconds", time.perf_counter() - started)
    cpu_after = cpu_seconds(target.herd_pid, target.servers)
    for name, seconds in cpu_after.items():  # steadier than the wall clock on a shared machine
        report(f"{name}_cpu_ms_per_worker", (seconds - cpu_before.get(name, 0.0)) * 1000 / workers)


async def phase_scale_down(client: Client, replicas: int, timeout: float, report: Report) -> None:
    async with MachinePhases(client) as machines:
        started = time.perf_counter()
        await scale(client, replicas)

        async def done() -> bool:
            return len(machines.phases) == replicas and await md_settled(client, replicas)

        await wait_for(f"scale down to {replicas}", done, timeout)
    report(f"scale_down_to_{replicas}_seconds", time.perf_counter() - started)


async def phase_rollout(client: Client, replicas: int, max_surge: int, timeout: float, report: Report) -> None:
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
    report("rollout_workers", replicas)  # maxUnavailable 0
    report("rollout_max_surge", max_surge)
    report("rollout_seconds", time.perf_counter() - started)


@dataclass
class Target:
    """The plane the fleet runs on: the kubeconfig to reach it, herd's process (`herd up` or `herd init`) and any
    API server processes outside it (kube-apiserver, etcd) by name."""

    kubeconfig: Path
    herd_pid: int
    servers: dict[str, int]


@contextlib.contextmanager
def herd_up_target(base: Path) -> Iterator[Target]:
    process, kubeconfig = start_herd(base / "data")
    try:
        yield Target(kubeconfig, process.pid, {})
    finally:
        stop_herd(process, base)


@contextlib.contextmanager
def real_target(base: Path) -> Iterator[Target]:
    with real_kubernetes(base / "real-k8s") as real:
        process = start_herd_init(real.kubeconfig, base / "init")
        try:
            apiserver, etcd = real.processes[1].pid, real.processes[0].pid
            yield Target(real.kubeconfig, process.pid, {"kube-apiserver": apiserver, "etcd": etcd})
        finally:
            stop_herd(process, base)


async def bench(target: Target, workers: int, rollout_workers: int, max_surge: int, timeout: float,
                report: Report) -> None:
    client = Client.from_kubeconfig(target.kubeconfig)
    try:
        started = time.perf_counter()
        await apply(client, fleet_objects())

        async def control_plane_running() -> bool:
            machine = await client.get(MACHINE, "fleet-control-plane-0", NAMESPACE)
            return bool(md_status(machine).get("phase") == "Running")

        await wait_for("the control plane Machine", control_plane_running, 120)
        report("control_plane_running_seconds", time.perf_counter() - started)
        if workers:
            await phase_scale_up(client, workers, timeout, target, report)
            report_rss(target, report, "_after_scale_up")
        if rollout_workers:
            if workers > rollout_workers:
                await phase_scale_down(client, rollout_workers, timeout, report)
            elif workers < rollout_workers:
                await phase_scale_up(client, rollout_workers, timeout, target, report)
            await phase_rollout(client, rollout_workers, max_surge, timeout, report)
        report_rss(target, report)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1000, help="worker Machines to scale up to (0 skips)")
    parser.add_argument("--rollout-workers", type=int, default=100, help="workers rolled (0 skips the rollout)")
    parser.add_argument("--max-surge", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600, help="seconds each phase may take")
    parser.add_argument("--against", choices=("herd", "real"), default="herd",
                        help="real: also herd init against kube-apiserver + etcd, in the same run, and the ratios")
    args = parser.parse_args()
    if args.against == "real" and not binaries_built():
        raise SystemExit("--against real needs kube-apiserver and etcd: make real-k8s")
    targets = {"herd": herd_up_target}
    if args.against == "real":
        targets["kube"] = real_target
    results: dict[str, dict[str, float]] = {}
    for name, start in targets.items():
        figures = results.setdefault(name, {})
        prefix = f"{name}_" if args.against == "real" else ""

        def report(figure: str, value: float, figures: dict[str, float] = figures, prefix: str = prefix) -> None:
            figures[figure] = value
            print(f"{prefix}{figure}: {value:.1f}", flush=True)

        with start(Path(tempfile.mkdtemp(prefix="herd-bench-fleet-"))) as target:
            asyncio.run(bench(target, args.workers, args.rollout_workers, args.max_surge, args.timeout, report))
    if args.against == "real":
        for figure, value in results["herd"].items():
            if results["kube"].get(figure):
                print(f"ratio_herd_to_kube_{figure}: {value / results['kube'][figure]:.2f}")


if __name__ == "__main__":
    main()
