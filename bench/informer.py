"""How fast herd.runtime's informer syncs and follows a kind, and how much memory it takes.

    .venv/bin/python bench/informer.py [--objects 10000] [--updates 10000]

Starts `herd serve` (SQLite, fresh data dir, a compaction window large enough to replay every
update) in a subprocess. Writes happen in a separate writer process, so the time and peak RSS
measured are those of the benchmark process, which runs only the informer (with a controller's
enqueue handler on a work queue). Prints one figure per line:

- sync: list + fill the store (and notify) for N ConfigMaps of ~1 KiB;
- updates replayed: the informer was stopped while N updates were written, then resumes from its
  resourceVersion and catches up (its own processing rate);
- updates live: N updates written while the informer runs; how far it lags behind the last write;
- peak RSS of the benchmark process.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from herd.runtime import CONFIGMAP, Client, Informer, ObjectKey, WorkQueue
from herd.runtime.handlers import EnqueueForObject

NAMESPACE = "default"
WRITERS = 2  # writer processes
CONCURRENCY = 32  # requests in flight per writer


def configmap(name: str, generation: int = 0) -> dict[str, Any]:
    """A ConfigMap of about 1 KiB once stored."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"bench": "informer", "shard": name[-1]}},
            "data": {"generation": str(generation), **{f"key-{i}": f"value-{i}-" + "x" * 80 for i in range(8)}}}


def start_server(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir), "--port", "0",
         "--compaction-window", "100000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    kubeconfig = data_dir / "management.kubeconfig"
    for line in process.stdout:
        if re.search(r"\(port (\d+)\)", line):
            threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
            deadline = time.monotonic() + 10
            while not kubeconfig.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return process, kubeconfig
    raise SystemExit("herd serve did not start")


# ----- the writer process -----

async def _write(kubeconfig: str, mode: str, names: list[str], generation: int) -> None:
    client = Client.from_kubeconfig(kubeconfig)
    pending = iter(names)

    async def worker() -> None:
        for name in pending:
            if mode == "create":
                await client.create(configmap(name), kind=CONFIGMAP)
            else:
                await client.patch(CONFIGMAP, name, {"data": {"generation": str(generation)}}, namespace=NAMESPACE)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    await client.close()


def _writer(args: tuple[str, str, list[str], int]) -> None:
    asyncio.run(_write(*args))


def write(kubeconfig: Path, mode: str, names: list[str], generation: int = 0) -> float:
    """Create or update `names` from writer processes; returns the seconds it took."""
    shards = [(str(kubeconfig), mode, names[i::WRITERS], generation) for i in range(WRITERS)]
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        started = time.perf_counter()
        pool.map(_writer, shards)
        return time.perf_counter() - started


async def write_async(kubeconfig: Path, mode: str, names: list[str], generation: int = 0) -> float:
    return await asyncio.to_thread(write, kubeconfig, mode, names, generation)


# ----- the benchmark -----

def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def caught_up(client: Client, informer: Informer, timeout: float = 600) -> None:
    """Wait until the informer has seen the server's current resourceVersion."""
    target = int((await client.list(CONFIGMAP, namespace=NAMESPACE, label_selector="nothing=matches"))
                 .resource_version)
    deadline = time.monotonic() + timeout
    while int(informer.resource_version or 0) < target:
        if time.monotonic() > deadline:
            raise SystemExit("the informer did not catch up")
        await asyncio.sleep(0.001)


async def bench(objects: int, updates: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-informer-"))
    server, kubeconfig = start_server(base / "data")
    try:
        names = [f"cm-{i:06d}" for i in range(objects)]
        print(f"objects: {objects} ConfigMaps of ~1 KiB")
        elapsed = await write_async(kubeconfig, "create", names)
        print(f"load (writer processes): {objects / elapsed:.0f} creates/s")

        client = Client.from_kubeconfig(kubeconfig)
        rss_before = rss_kib()
        queue: WorkQueue[ObjectKey] = WorkQueue("bench")
        informer = Informer(client, CONFIGMAP, namespace=NAMESPACE)
        informer.add_handler(EnqueueForObject(queue))
        started = time.perf_counter()
        informer.start()
        await informer.wait_for_sync()
        sync = time.perf_counter() - started
        assert len(informer.store) == objects
        print(f"sync {objects} objects: {sync:.2f} s")
        print(f"RSS held by the synced informer: {mib(rss_kib() - rss_before)}")

        per_key = max(1, updates // objects)
        replay_names = (names * per_key)[:updates]
        await informer.stop()
        await write_async(kubeconfig, "update", replay_names, generation=1)
        started = time.perf_counter()
        informer.start()
        await caught_up(client, informer)
        replay = time.perf_counter() - started
        print(f"process {updates} updates (replayed after resume): {replay:.2f} s ({updates / replay:.0f} events/s)")

        writing = asyncio.create_task(write_async(kubeconfig, "update", replay_names, generation=2))
        started = time.perf_counter()
        written = await writing
        finished = time.perf_counter()
        await caught_up(client, informer)
        lag = time.perf_counter() - finished
        print(f"process {updates} updates (live, written at {updates / written:.0f}/s): "
              f"{time.perf_counter() - started:.2f} s, {lag * 1000:.0f} ms behind the last write")
        assert informer.stats.lists == 1 and informer.stats.events == 2 * updates
        print(f"peak RSS of the benchmark process: {mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)}")
        await informer.stop()
        await client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(bench(args.objects, args.updates))


if __name__ == "__main__":
    main()
