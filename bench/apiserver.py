"""Throughput and latency of `herd serve` over TLS, measured from separate client processes; with
`--against real`, the same workload against kube-apiserver + etcd (built by `make real-k8s`) in the same run.

    .venv/bin/python bench/apiserver.py [--seconds 10] [--connections 64] [--paced-rate 1000] [--against real]

Starts `herd serve` (SQLite storage, fresh data dir, a bearer token file) in a subprocess and
installs a CRD. Saturation figures (creates/s of ~1 KiB custom resources, gets/s, p50/p99) come
from `wrk` (Debian package `wrk`; a C load generator, so the client costs little of the 2 cores)
over keep-alive TLS connections; p50/p99 of creates paced at a fixed rate come from Python client
processes. Prints one figure per line. With `--against real` the servers run one after the other
(herd's plane, then etcd + kube-apiserver with a kubeadm cluster's flags, from tests/support/realk8s.py),
each figure is printed for both, and then herd's figure divided by kube-apiserver's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.realk8s import binaries_built, real_kubernetes  # the test helper starts etcd + kube-apiserver

GROUP = "bench.herd.dev"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"gadgets.{GROUP}"},
    "spec": {
        "group": GROUP, "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "minimum": 0},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "notes": {"type": "string", "maxLength": 2048},
                }},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            }}},
        }],
    },
}
PATH = f"/apis/{GROUP}/v1/namespaces/default/gadgets"


def gadget(name: str) -> dict[str, Any]:
    """A custom resource of about 1 KiB once stored."""
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gadget",
            "metadata": {"name": name, "labels": {"bench": "true", "shard": name[-1]}},
            "spec": {"size": 3, "labels": {f"k{i}": f"value-{i}" for i in range(8)}, "notes": "x" * 640}}


class Connection:
    """TLS material and credentials (a client certificate or a bearer token) from the plane's kubeconfig."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.server = cluster["server"]
        self.tmp = tempfile.mkdtemp(prefix="herd-bench-")
        self.token: str | None = user.get("token")
        ca = Path(self.tmp, "ca.crt")
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        self.ca, self.cert, self.key = str(ca), "", ""
        if "client-certificate-data" in user:
            self.cert, self.key = str(Path(self.tmp, "client.crt")), str(Path(self.tmp, "client.key"))
            Path(self.cert).write_bytes(base64.b64decode(user["client-certificate-data"]))
            fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, base64.b64decode(user["client-key-data"]))
            os.close(fd)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


async def _worker_run(conn: Connection, mode: str, names: list[str], concurrency: int,
                      rate: float) -> list[float]:
    connector = aiohttp.TCPConnector(ssl=conn.ssl_context(), limit=concurrency)
    latencies: list[float] = []
    async with aiohttp.ClientSession(conn.server, connector=connector, headers=conn.headers()) as session:
        queue = list(names)
        start = time.perf_counter()
        issued = 0

        async def one() -> None:
            nonlocal issued
            while queue:
                name = queue.pop()
                if rate:
                    due = start + issued / rate
                    issued += 1
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                t0 = time.perf_counter()
                if mode == "get":
                    async with session.get(f"{PATH}/{name}") as resp:
                        await resp.read()
                        ok = resp.status == 200
                else:
                    async with session.post(PATH, data=orjson.dumps(gadget(name)),
                                            headers={"Content-Type": "application/json"}) as resp:
                        await resp.read()
                        ok = resp.status == 201
                if not ok:
                    raise SystemExit(f"{mode} {name} failed: HTTP {resp.status}")
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(one() for _ in range(concurrency)))
    return latencies


def _worker(args: tuple[str, str, list[str], int, float]) -> list[float]:
    kubeconfig, mode, names, concurrency, rate = args
    return asyncio.run(_worker_run(Connection(Path(kubeconfig)), mode, names, concurrency, rate))


def run_phase(kubeconfig: Path, mode: str, names: list[str], clients: int, concurrency: int,
              rate: float = 0.0) -> tuple[float, list[float]]:
    shards = [names[i::clients] for i in range(clients)]
    per_client_rate = rate / clients if rate else 0.0
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        start = time.perf_counter()
        results = pool.map(_worker, [(str(kubeconfig), mode, s, concurrency, per_client_rate) for s in shards])
        elapsed = time.perf_counter() - start
    return elapsed, sorted(lat for r in results for lat in r)


def percentile(values: list[float], pct: float) -> float:
    return values[min(len(values) - 1, int(len(values) * pct / 100))] * 1000


def peak_rss_mib(*pids: int) -> float:
    """Peak RSS (VmHWM) of these processes together."""
    total = 0.0
    for pid in pids:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        total += int(match.group(1)) / 1024 if match else 0.0
    return total


def cpu_seconds(*pids: int) -> float:
    """CPU time (user + system) these processes used so far."""
    used = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


WRK_CREATE = """
local counter = 0
local threads = {}
function setup(thread) thread:set("tid", #threads + 1); table.insert(threads, thread) end
function init(args) tid = tid or 1 end
request = function()
  counter = counter + 1
  local body = string.format(TEMPLATE, string.format("w%d-%d", tid, counter))
  return wrk.format("POST", PATH, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. TOKEN}, body)
end
"""
WRK_GET = """
request = function()
  local name = string.format("w1-%d", math.random(1, COUNT))
  return wrk.format("GET", PATH .. "/" .. name, {["Authorization"] = "Bearer " .. TOKEN})
end
"""


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def run_wrk(url: str, script: str, seconds: float, connections: int) -> dict[str, float]:
    """Run wrk and parse requests/s, p50/p99 latency and non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", handle.name,
                             url], capture_output=True, text=True, check=True)
    out = result.stdout

    def ms(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return float("nan")
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * factor

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": ms("50"), "p99": ms("99"),
            "non2xx": float(bad.group(1)) if bad else 0.0, "requests": float(total.group(1)) if total else 0.0}


@dataclass
class Server:
    """A running API server under test: its URL, admin token and kubeconfig, and the processes it is made of."""

    name: str
    url: str
    token: str
    kubeconfig: Path
    pids: list[int]


@contextlib.contextmanager
def herd_serve() -> Iterator[Server]:
    """`herd serve` (SQLite, fresh data dir) with a bearer token in system:masters."""
    data_dir = Path(tempfile.mkdtemp(prefix="herd-bench-data-"))
    token = secrets.token_hex(16)
    token_file = data_dir / "tokens.csv"
    token_file.write_text(f"{token},bench,bench-uid,\"system:masters\"\n")
    server = subprocess.Popen([sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir),
                               "--port", "0", "--token-auth-file", str(token_file)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    port = 0
    for line in server.stdout:
        match = re.search(r"\(port (\d+)\)", line)
        if match:
            port = int(match.group(1))
            break
    try:
        yield Server("herd", f"https://127.0.0.1:{port}", token, data_dir / "management.kubeconfig", [server.pid])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def kube_apiserver() -> Iterator[Server]:
    """etcd + kube-apiserver on loopback (tests/support/realk8s.py), the admin token in system:masters."""
    directory = Path(tempfile.mkdtemp(prefix="herd-bench-real-"))
    try:
        with real_kubernetes(directory) as real:
            yield Server("kube", real.server, real.admin_token, real.kubeconfig, [p.pid for p in real.processes])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure(server: Server, args: argparse.Namespace) -> dict[str, float]:
    """The workload against one server: its figures by name."""
    subprocess.run(["kubectl", "--kubeconfig", str(server.kubeconfig), "apply", "-f", "-"], check=True,
                   input=orjson.dumps(CRD).decode(), capture_output=True, text=True)
    subprocess.run(["kubectl", "--kubeconfig", str(server.kubeconfig), "wait", "--for=condition=Established",
                    f"crd/gadgets.{GROUP}"], check=True, capture_output=True, text=True)
    # kube-apiserver holds a new CRD's first writes until its watch cache is filled: not part of the measure
    subprocess.run(["kubectl", "--kubeconfig", str(server.kubeconfig), "create", "-f", "-", "--request-timeout=60s"],
                   check=True, input=orjson.dumps(gadget("warm-up")).decode(), capture_output=True, text=True)
    template = orjson.dumps(gadget("NAME")).decode().replace("%", "%%").replace("NAME", "%s")
    prelude = f"PATH = {_lua_string(PATH)}\nTOKEN = {_lua_string(server.token)}\nTEMPLATE = {_lua_string(template)}\n"
    figures: dict[str, float] = {}
    cpu_before = cpu_seconds(*server.pids)
    created = run_wrk(server.url, prelude + WRK_CREATE, args.seconds, args.connections)
    stored = created["requests"] - created["non2xx"]
    figures["server_cpu_ms_per_create"] = (cpu_seconds(*server.pids) - cpu_before) * 1000 / max(1.0, stored)
    figures.update({"creates_per_second": created["rps"], "create_p50_ms": created["p50"],
                    "create_p99_ms": created["p99"], "create_failures": created["non2xx"]})
    count = max(1, int(created["requests"] / 2 * 0.5))
    cpu_before = cpu_seconds(*server.pids)
    got = run_wrk(server.url, prelude + f"COUNT = {count}\n" + WRK_GET, args.seconds, args.connections)
    figures["server_cpu_ms_per_get"] = (cpu_seconds(*server.pids) - cpu_before) * 1000 / max(1.0, got["requests"])
    figures.update({"gets_per_second": got["rps"], "get_p50_ms": got["p50"], "get_p99_ms": got["p99"],
                    "get_failures": got["non2xx"]})
    paced = [f"p-{i:07d}" for i in range(int(args.paced_rate * args.paced_seconds))]
    elapsed, lat = run_phase(server.kubeconfig, "create", paced, args.clients, args.concurrency, args.paced_rate)
    figures.update({"paced_creates_per_second": len(paced) / elapsed, "paced_create_p50_ms": percentile(lat, 50),
                    "paced_create_p99_ms": percentile(lat, 99), "server_peak_rss_mib": peak_rss_mib(*server.pids),
                    "objects_stored": stored + len(paced)})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk phase")
    parser.add_argument("--connections", type=int, default=64, help="wrk keep-alive connections")
    parser.add_argument("--clients", type=int, default=2, help="client processes of the paced phase")
    parser.add_argument("--concurrency", type=int, default=32, help="connections per paced client process")
    parser.add_argument("--paced-rate", type=float, default=1000.0, help="creates/s for the latency phase")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--against", choices=("herd", "real"), default="herd",
                        help="real: kube-apiserver + etcd too, in the same run, and the ratios")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/apiserver.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    if args.against == "real" and not binaries_built():
        print("--against real needs kube-apiserver and etcd: make real-k8s", file=sys.stderr)
        return 2
    results: dict[str, dict[str, float]] = {}
    for start in (herd_serve, kube_apiserver) if args.against == "real" else (herd_serve,):
        with start() as server:
            results[server.name] = measure(server, args)
        prefix = f"{server.name}_" if args.against == "real" else ""
        for figure, value in results[server.name].items():
            decimals = 2 if figure.endswith(("_per_create", "_per_get")) else 1 if figure.endswith("_ms") else 0
            print(f"{prefix}{figure} {value:.{decimals}f}", flush=True)
    if args.against == "real":
        for figure, value in results["herd"].items():
            if not figure.endswith("failures") and results["kube"][figure]:
                print(f"ratio_herd_to_kube_{figure} {value / results['kube'][figure]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
