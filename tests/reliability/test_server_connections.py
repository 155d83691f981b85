"""Connections to the API server: no memory kept per closed connection, deadlines, room for authenticated clients.

The heavier measurements (40,000 connections, 1,000 slow ones) are bench/connections.py; these are the same
probes at a size CI can afford.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import resource
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.plane import ServedPlane, serving, stop_process

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

TOKEN = "reliability-connections-token"
REQUEST = b"GET /api/v1/namespaces/default HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def admin_context(data_dir: Path) -> ssl.SSLContext:
    pki = data_dir / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    return context


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


async def short_connection(port: int, context: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
    try:
        writer.write(REQUEST)
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def many_connections(port: int, context: ssl.SSLContext, count: int, parallel: int = 16) -> None:
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            answer = await short_connection(port, context)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]

    await asyncio.gather(*(worker() for _ in range(parallel)))


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    with serving(tmp_path_factory.mktemp("connections"), "--storage", "memory") as served:
        yield served


async def test_closed_tls_connections_leave_no_memory_behind(plane: ServedPlane) -> None:
    context = admin_context(plane.data_dir)
    await many_connections(plane.port, context, 300)  # warm-up: caches, allocator arenas
    before = rss_bytes(plane.process.pid)
    await many_connections(plane.port, context, 1_500)
    growth = rss_bytes(plane.process.pid) - before
    assert growth < 15 * 2**20, f"RSS grew {growth / 2**20:.1f} MiB over 1,500 connections"


def start_with_file_limit(data_dir: Path, limit: int) -> tuple[subprocess.Popen[str], int]:
    """`herd serve` whose process may open only `limit` files (soft and hard)."""

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    process = subprocess.Popen(
        [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir), "--port", "0",
         "--storage", "memory"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=limit_files)
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"\(port (\d+)\)", line):
            threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
            deadline = time.monotonic() + 10
            while not (data_dir / "management.kubeconfig").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return process, int(match.group(1))
    raise AssertionError("herd serve did not start")


async def slow_connection(port: int) -> asyncio.StreamWriter | None:
    """A TLS connection that sends half a request line and then nothing."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 5)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    writer.write(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.")
    return writer


async def test_slow_unauthenticated_connections_leave_room_for_authenticated_clients(tmp_path: Path) -> None:
    process, port = start_with_file_limit(tmp_path / "data", 128)
    slow: list[asyncio.StreamWriter | None] = []
    try:
        for _ in range(5):  # 160 in all: more than the process has descriptors for
            slow += await asyncio.gather(*(slow_connection(port) for _ in range(32)))
        context = admin_context(tmp_path / "data")
        latencies = []
        for _ in range(30):
            started = time.monotonic()
            answer = await asyncio.wait_for(short_connection(port, context), 10)
            latencies.append(time.monotonic() - started)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        latencies.sort()
        assert latencies[-1] < 1.0, latencies
    finally:
        for writer in slow:
            if writer is not None:
                writer.close()
        stop_process(process)


@pytest.fixture
async def plain_server() -> AsyncIterator[APIServer]:
    tokens = TokenFile({TOKEN: UserInfo("admin", "", ("system:masters",))})
    server = APIServer(Store(MemoryBackend()), ssl_context=None, authenticator=Authenticator(tokens))
    server.connections.header_timeout = 0.5
    await server.start()
    yield server
    await server.stop()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    return True


async def test_a_connection_that_does_not_authenticate_in_time_is_closed(plain_server: APIServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", plain_server.port)
    writer.write(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
    assert await closed_within(reader, 3)
    writer.close()


async def test_an_authenticated_connection_outlives_the_header_deadline(plain_server: APIServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", plain_server.port)
    request = f"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    for _ in range(2):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        await asyncio.sleep(1.0)  # twice the header deadline
    writer.close()
