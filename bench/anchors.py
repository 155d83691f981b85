"""Same-run anchors for bench/apiserver.py: what the hardware allows, so the API server's figures are ratios.

    .venv/bin/python bench/anchors.py [--seconds 10] [--connections 64]

- **SQLite's durable single-row commit rate**: one writer inserting ~1 KiB rows, one transaction each, in WAL
  mode with `synchronous=FULL` (the settings herd's storage uses). An API server that commits each create on
  its own can go no faster; herd's group commit may go faster under concurrency.
- **A bare aiohttp TLS server's GET rate**: the same TLS (a fresh ECDSA P-256 certificate), the same `wrk`
  settings and a ~1 KiB JSON answer, with no authentication, authorization or storage at all: the conventional
  aiohttp application (one route, one handler, uvloop as herd has it) is the anchor; the figure of aiohttp's
  low-level server (no router, no application: what herd itself is built on) is printed beside it as a bound.

This VM is noisy, so the API server's figures are judged against anchors measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROW = b"x" * 1024

WRK_BARE_GET = """
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer anchor"
"""

# The bare server, run in its own process so it has a core of its own as `herd serve` does.
_BARE_SERVER = r"""
import asyncio, ssl, sys
import orjson
from aiohttp import web

BODY = orjson.dumps({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "anchor"}, "data": "x" * 900})

async def handle(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(body=BODY, content_type="application/json")

async def main() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    if sys.argv[3] == "low-level":
        listener = await asyncio.get_running_loop().create_server(web.Server(handle), "127.0.0.1", 0, ssl=context)
        print(listener.sockets[0].getsockname()[1], flush=True)
    else:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{namespace}/things/{name}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

try:
    import uvloop
    uvloop.install()
except ImportError:
    pass
asyncio.run(main())
"""


def sqlite_commit_rate(seconds: float) -> float:
    """Single-row durable commits per second, one writer, as herd's SQLite storage configures it."""
    with tempfile.TemporaryDirectory(prefix="herd-anchor-") as tmp:
        conn = sqlite3.connect(Path(tmp, "anchor.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)")
        count = 0
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO kv VALUES (?, ?)", (f"k{count}", ROW))
            conn.execute("COMMIT")
            count += 1
        elapsed = time.perf_counter() - start
        conn.close()
    return count / elapsed


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anchor")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    os.close(fd)
    return cert_path, key_path


def bare_tls_get_rate(seconds: float, connections: int, flavour: str = "application") -> float:
    """GETs per second `wrk` gets from a bare aiohttp TLS server answering ~1 KiB of JSON.

    `flavour` is "application" (web.Application with a router) or "low-level" (web.Server).
    """
    with tempfile.TemporaryDirectory(prefix="herd-anchor-") as tmp:
        cert, key = _self_signed(Path(tmp))
        server = subprocess.Popen([sys.executable, "-c", _BARE_SERVER, str(cert), str(key), flavour],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            script = Path(tmp, "get.lua")
            script.write_text(WRK_BARE_GET)
            result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script),
                                     f"https://127.0.0.1:{port}/api/v1/namespaces/default/things/anchor"],
                                    capture_output=True, text=True, check=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    return float(match.group(1)) if match else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    print(f"anchor_sqlite_commits_per_second {sqlite_commit_rate(args.seconds):.0f}")
    print(f"anchor_bare_tls_gets_per_second {bare_tls_get_rate(args.seconds, args.connections):.0f}")
    low_level = bare_tls_get_rate(args.seconds, args.connections, "low-level")
    print(f"bound_low_level_tls_gets_per_second {low_level:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
