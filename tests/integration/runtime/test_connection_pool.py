"""Clients given one ConnectionPool share keep-alive connections, but only with the same server and TLS settings,
and each request still carries its own client's token."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightkube
import pytest
from aiohttp import web

from herd.apiserver.pki import ensure_server_pki, server_ssl_context
from herd.runtime import CONFIGMAP, Client, ConnectionPool


@dataclass
class Seen:
    """What the server saw: (client port, Authorization header) per request."""

    requests: list[tuple[int, str]] = field(default_factory=list)

    def connections(self) -> set[int]:
        return {port for port, _ in self.requests}


@dataclass
class Server:
    url: str
    ca_pem: bytes
    seen: Seen


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    pki = ensure_server_pki(tmp_path, ["127.0.0.1"])
    seen = Seen()

    async def config_map(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.requests.append((peer[1] if peer else 0, request.headers.get("Authorization", "")))
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": request.match_info["name"], "namespace": "kube-public"}}
        return web.Response(body=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/kube-public/configmaps/{name}", config_map)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(pki))
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Server(f"https://127.0.0.1:{port}", pki.ca_cert.read_bytes(), seen)
    finally:
        await runner.cleanup()


def token_client(server: Server, token: str, pool: ConnectionPool | None, *, verify: bool = True) -> Client:
    cluster: dict[str, Any] = {"server": server.url}
    if verify:
        cluster["certificate-authority-data"] = base64.b64encode(server.ca_pem).decode("ascii")
    else:
        cluster["insecure-skip-tls-verify"] = True
    config = lightkube.KubeConfig.from_dict({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "current-context": "x"}).get()
    return Client.from_config(config, pool=pool)


async def test_clients_of_one_pool_share_a_connection_and_keep_their_own_tokens(server: Server) -> None:
    pool = ConnectionPool()
    try:
        for token in ("abcdef.0000000000000001", "abcdef.0000000000000002", "abcdef.0000000000000003"):
            client = token_client(server, token, pool)
            await client.get(CONFIGMAP, "cluster-info", "kube-public")
            await client.close()  # closing a pooled client leaves the pool's connections open
        assert [auth for _, auth in server.seen.requests] == [
            "Bearer abcdef.0000000000000001", "Bearer abcdef.0000000000000002", "Bearer abcdef.0000000000000003"]
        assert len(server.seen.connections()) == 1
    finally:
        await pool.close()


async def test_a_pooled_connection_is_not_reused_under_other_tls_settings(server: Server) -> None:
    pool = ConnectionPool()
    try:
        unverified = token_client(server, "abcdef.0000000000000001", pool, verify=False)
        await unverified.get(CONFIGMAP, "cluster-info", "kube-public")
        verified = token_client(server, "abcdef.0000000000000001", pool)
        await verified.get(CONFIGMAP, "cluster-info", "kube-public")
        assert len(server.seen.connections()) == 2, "a connection opened without verification serves no verified client"
    finally:
        await pool.close()


async def test_clients_without_a_pool_keep_their_own_connections(server: Server) -> None:
    first, second = token_client(server, "t1", None), token_client(server, "t2", None)
    try:
        await first.get(CONFIGMAP, "a", "kube-public")
        await second.get(CONFIGMAP, "b", "kube-public")
        await first.get(CONFIGMAP, "c", "kube-public")
        assert len(server.seen.connections()) == 2
    finally:
        await first.close()
        await second.close()
