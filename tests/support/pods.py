"""Pods whose ports are local TCP servers, for port-forward tests: an echo server (optionally TLS), a dialer
that routes (namespace, pod, port) to it, and an API server that uses the dialer."""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.portforward import PodDialer
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

BYE = b"bye\n"  # the echo server closes the connection when it reads this line


@dataclass
class EchoServer:
    port: int
    connections: int = 0


@asynccontextmanager
async def echo_server(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[EchoServer]:
    """A TCP server on 127.0.0.1 that sends back what it reads, and closes the connection on `BYE`."""
    echo = EchoServer(0)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        echo.connections += 1
        try:
            while data := await reader.read(65536):
                if data == BYE:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ssl_context)
    echo.port = server.sockets[0].getsockname()[1]
    try:
        yield echo
    finally:
        server.close()


@dataclass
class PodPorts:
    """A `PodDialer`: (namespace, pod, port) -> a local port; anything else is refused, as a closed port is."""

    routes: dict[tuple[str, str, int], int] = field(default_factory=dict)
    dialed: list[tuple[str, str, int]] = field(default_factory=list)

    async def __call__(self, namespace: str, pod: str, port: int) -> tuple[asyncio.StreamReader,
                                                                            asyncio.StreamWriter]:
        self.dialed.append((namespace, pod, port))
        local = self.routes.get((namespace, pod, port))
        if local is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
        return await asyncio.open_connection("127.0.0.1", local)


TOKEN = "port-forward-admin-token"


def server_with_dialer(dialer: PodDialer | None, ssl_context: ssl.SSLContext | None = None) -> APIServer:
    tokens = TokenFile({TOKEN: UserInfo("admin", "", ("system:masters",))})
    return APIServer(Store(MemoryBackend()), ssl_context=ssl_context, authenticator=Authenticator(tokens),
                     pod_dialer=dialer)


@asynccontextmanager
async def serving_pod(dialer: PodDialer | None, ssl_context: ssl.SSLContext | None = None,
                      ca_file: str | None = None) -> AsyncIterator[APIServer]:
    """A started `server_with_dialer` holding the pod kube-system/etcd-cp-0; stopped on exit."""
    server = server_with_dialer(dialer, ssl_context)
    await server.start()
    try:
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_file) if ca_file else False)
        async with aiohttp.ClientSession(server.url, headers={"Authorization": f"Bearer {TOKEN}"},
                                         connector=connector) as session:
            await create_pod(session, "kube-system", "etcd-cp-0")
        yield server
    finally:
        await server.stop()


async def create_pod(session: aiohttp.ClientSession, namespace: str, name: str) -> dict[str, object]:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": "node-0", "containers": [{"name": "main", "image": "registry.k8s.io/etcd:3.5"}]}}
    async with session.post(f"/api/v1/namespaces/{namespace}/pods", json=body) as response:
        assert response.status == 201, await response.text()
        created: dict[str, object] = await response.json()
        return created
