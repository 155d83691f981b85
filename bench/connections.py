"""Connection handling of `herd serve`: memory kept per closed TLS connection, service beside slow clients.

    .venv/bin/python bench/connections.py [--connections 40000] [--slow 1000] [--requests 300] [--file-limit 1024]
                                          [--hard-file-limit N]

Phase 1 starts `herd serve` (memory storage, fresh data dir) and opens --connections short TLS connections
from client processes, each authenticated by the admin client certificate and making one GET; it prints the
server's RSS after a warm-up of 1,000 connections and after the rest, and the growth.
Phase 2 starts another `herd serve` with a soft file limit of --file-limit (the common default; with
--hard-file-limit the hard limit too, so the server cannot raise it) and holds --slow unauthenticated TLS
connections that send a request a byte per second and never finish it (reopening, a second later, any the
server closes); meanwhile an authenticated client makes --requests GETs, each on a new connection, and as
many on one kept-alive connection. Prints latencies and failures, one figure per line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import re
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUEST = b"GET /api/v1/namespaces/default HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def start_server(data_dir: Path, soft_limit: int | None = None,
                 hard_limit: int | None = None) -> tuple[subprocess.Popen[str], int]:
    def limit_files() -> None:
        if soft_limit is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            hard = hard_limit or hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft_limit, hard), hard))

    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir), "--port", "0",
         "--storage", "memory"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=limit_files)
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"\(port (\d+)\)", line):
            while not (data_dir / "management.kubeconfig").exists():
                time.sleep(0.02)
            return process, int(match.group(1))
    raise SystemExit("herd serve did not start")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def admin_context(data_dir: Path) -> ssl.SSLContext:
    pki = data_dir / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    return context


def rss_mib(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert found is not None
    return int(found.group(1)) / 1024


async def one_request(port: int, context: ssl.SSLContext) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
    try:
        writer.write(REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        return (await reader.read()).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


def short_connections(port: int, data_dir: str, count: int) -> int:
    """In a client process: `count` one-request connections, 16 at a time; returns the failures."""
    context = admin_context(Path(data_dir))
    failures = 0

    async def run() -> None:
        nonlocal failures
        remaining = iter(range(count))

        async def worker() -> None:
            nonlocal failures
            for _ in remaining:
                try:
                    ok = await one_request(port, context)
                except (OSError, ssl.SSLError):
                    ok = False
                failures += not ok

        await asyncio.gather(*(worker() for _ in range(16)))

    asyncio.run(run())
    return failures


def connections_phase(base: Path, connections: int) -> None:
    data_dir = base / "memory"
    process, port = start_server(data_dir)
    try:
        short_connections(port, str(data_dir), 1_000)
        before = rss_mib(process.pid)
        workers = 2
        started = time.monotonic()
        with multiprocessing.Pool(workers) as pool:
            failures = sum(pool.starmap(short_connections, [(port, str(data_dir), connections // workers)] * workers))
        elapsed = time.monotonic() - started
        after = rss_mib(process.pid)
        print(f"short_tls_connections {connections}")
        print(f"short_tls_connections_per_second {connections / elapsed:.0f}")
        print(f"short_tls_connection_failures {failures}")
        print(f"server_rss_before_mib {before:.1f}")
        print(f"server_rss_after_mib {after:.1f}")
        print(f"server_rss_growth_mib {after - before:.1f}")
    finally:
        stop_server(process)


async def hold_slow_connection(port: int, opened: list[int], stop: asyncio.Event) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    while not stop.is_set():
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 10)
        except (OSError, TimeoutError, ssl.SSLError):
            await asyncio.sleep(1)
            continue
        opened[0] += 1
        try:
            for byte in b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 10_000:
                if stop.is_set() or writer.is_closing():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            opened[0] -= 1
            writer.close()
        await asyncio.sleep(1)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else float("nan")


async def slow_phase(base: Path, slow: int, requests: int, file_limit: int, hard_limit: int | None) -> None:
    data_dir = base / "limited"
    process, port = await asyncio.to_thread(start_server, data_dir, file_limit, hard_limit)
    stop = asyncio.Event()
    opened = [0]
    holders = []
    try:
        for _ in range(slow // 50):
            holders += [asyncio.ensure_future(hold_slow_connection(port, opened, stop)) for _ in range(50)]
            await asyncio.sleep(0.5)
        await asyncio.sleep(5)
        context = admin_context(data_dir)
        fresh: list[float] = []
        failures = 0
        for _ in range(requests):
            started = time.monotonic()
            try:
                ok = await asyncio.wait_for(one_request(port, context), 10)
            except (OSError, TimeoutError, ssl.SSLError):
                ok = False
            failures += not ok
            fresh.append((time.monotonic() - started) * 1000)
        kept: list[float] = []
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        for _ in range(requests):
            started = time.monotonic()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
            await reader.readexactly(int(length.group(1)) if length else 0)
            failures += not head.startswith(b"HTTP/1.1 200")
            kept.append((time.monotonic() - started) * 1000)
        writer.close()
        print(f"slow_connections_held {opened[0]}")
        print(f"server_soft_file_limit_at_start {file_limit}")
        print(f"server_hard_file_limit {hard_limit or resource.getrlimit(resource.RLIMIT_NOFILE)[1]}")
        print(f"authenticated_requests {2 * requests}")
        print(f"authenticated_failures {failures}")
        print(f"new_connection_p50_ms {percentile(fresh, 50):.1f}")
        print(f"new_connection_p99_ms {percentile(fresh, 99):.1f}")
        print(f"kept_alive_p50_ms {percentile(kept, 50):.1f}")
        print(f"kept_alive_p99_ms {percentile(kept, 99):.1f}")
        print(f"all_p99_ms {percentile(fresh + kept, 99):.1f}")
    finally:
        stop.set()
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        stop_server(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=40_000)
    parser.add_argument("--slow", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--file-limit", type=int, default=1024)
    parser.add_argument("--hard-file-limit", type=int, default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="herd-bench-connections-"))
    try:
        if args.connections:
            connections_phase(base, args.connections)
        if args.slow:
            asyncio.run(slow_phase(base, args.slow, args.requests, args.file_limit, args.hard_file_limit))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
