"""herd.runtime's port-forward client against herd's API server (over TLS), whose dialer reaches local servers."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.pods import BYE, TOKEN, PodPorts, echo_server, serving_pod
from support.tls import serving_certificate

from herd.apiserver.pki import ensure_server_pki, server_ssl_context
from herd.runtime import Client, NotFound, PortForward, PortForwardError, Unauthorized, open_stream


@pytest.fixture
async def ports() -> PodPorts:
    return PodPorts()


def client_for(url: str, ca_pem: bytes, token: str) -> Client:
    return Client.from_kubeconfig_dict({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": url,
                                               "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    })


@dataclass(frozen=True)
class Plane:
    url: str
    ca_pem: bytes


@pytest.fixture
async def plane(ports: PodPorts, tmp_path: Path) -> AsyncIterator[Plane]:
    """herd's API server over TLS, its dialer routing pods to `ports`, with the pod kube-system/etcd-cp-0."""
    pki = ensure_server_pki(tmp_path / "pki", ["127.0.0.1"])
    async with serving_pod(ports, server_ssl_context(pki), str(pki.ca_cert)) as server:
        yield Plane(server.url, pki.ca_cert.read_bytes())


@pytest.fixture
async def client(plane: Plane) -> AsyncIterator[Client]:
    runtime_client = client_for(plane.url, plane.ca_pem, TOKEN)
    yield runtime_client
    await runtime_client.close()


async def exchange(port: int, data: bytes, ssl_context: ssl.SSLContext | None = None) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(data)), 5)
    finally:
        writer.close()


async def test_bytes_round_trip_through_a_stream(ports: PodPorts, client: Client) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with await open_stream(client, "kube-system", "etcd-cp-0", 2379) as stream:
            await stream.write(b"x" * 200_000)  # several WebSocket messages each way
            received = b""
            while len(received) < 200_000:
                received += await asyncio.wait_for(stream.read(), 5)
            assert received == b"x" * 200_000
            await stream.write(BYE)
            assert await asyncio.wait_for(stream.read(), 5) == b""  # the pod closed its side


async def test_bytes_round_trip_through_a_local_port(ports: PodPorts, client: Client) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
            assert forward.port != echo.port
            assert await exchange(forward.port, b"hello etcd") == b"hello etcd"


async def test_tls_runs_end_to_end_and_verifies_the_pods_certificate(
        ports: PodPorts, client: Client, tmp_path: Path) -> None:
    etcd = serving_certificate(tmp_path, "etcd")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(etcd.cert, etcd.key)
    trusting = ssl.create_default_context(cadata=etcd.ca.cert_pem.decode())
    (tmp_path / "other").mkdir()
    other_ca = serving_certificate(tmp_path / "other", "other")
    distrusting = ssl.create_default_context(cadata=other_ca.ca.cert_pem.decode())
    async with echo_server(server_side) as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
            assert await exchange(forward.port, b"over tls", trusting) == b"over tls"
            with pytest.raises(ssl.SSLCertVerificationError):
                await exchange(forward.port, b"over tls", distrusting)


async def test_two_connections_at_once_through_one_forward(ports: PodPorts, client: Client) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
            first = await asyncio.open_connection("127.0.0.1", forward.port)
            second = await asyncio.open_connection("127.0.0.1", forward.port)
            for index, (_, writer) in enumerate((first, second)):
                writer.write(f"connection {index}".encode())
                await writer.drain()
            answers = [await asyncio.wait_for(reader.readexactly(12), 5) for reader, _ in (first, second)]
            for _, writer in (first, second):
                writer.close()
    assert answers == [b"connection 0", b"connection 1"]
    assert echo.connections == 2


async def test_the_far_end_closing_closes_the_local_connection(ports: PodPorts, client: Client) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
            reader, writer = await asyncio.open_connection("127.0.0.1", forward.port)
            writer.write(BYE)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # EOF
            writer.close()


async def test_a_missing_pod_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        await open_stream(client, "kube-system", "etcd-gone", 2379)
    assert 'pods "etcd-gone" not found' in str(missing.value)


async def test_a_refused_dial_is_a_port_forward_error(client: Client) -> None:
    stream = await open_stream(client, "kube-system", "etcd-cp-0", 2379)  # nothing routed: refused
    with pytest.raises(PortForwardError) as failed:
        await asyncio.wait_for(stream.read(), 5)
    await stream.close()
    assert str(failed.value).startswith("error forwarding port 2379 to pod etcd-cp-0")
    assert str(failed.value).endswith("connection refused")


async def test_a_refused_dial_closes_the_local_connection_and_is_kept(client: Client) -> None:
    async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
        reader, writer = await asyncio.open_connection("127.0.0.1", forward.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    assert isinstance(forward.last_error, PortForwardError)
    assert "connection refused" in str(forward.last_error)


async def test_a_wrong_token_is_unauthorized(plane: Plane) -> None:
    stranger = client_for(plane.url, plane.ca_pem, "wrong-token")
    try:
        with pytest.raises(Unauthorized):
            await open_stream(stranger, "kube-system", "etcd-cp-0", 2379)
        with pytest.raises(Unauthorized):
            async with PortForward(stranger, "kube-system", "etcd-cp-0", 2379) as forward:
                reader, writer = await asyncio.open_connection("127.0.0.1", forward.port)
                assert await asyncio.wait_for(reader.read(), 5) == b""
                writer.close()
                assert forward.last_error is not None
                raise forward.last_error
    finally:
        await stranger.close()


async def test_leaving_the_forward_ends_its_open_connections_quietly(
        ports: PodPorts, client: Client, caplog: pytest.LogCaptureFixture) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with PortForward(client, "kube-system", "etcd-cp-0", 2379) as forward:
            reader, writer = await asyncio.open_connection("127.0.0.1", forward.port)
            writer.write(b"still open")
            assert await asyncio.wait_for(reader.readexactly(10), 5) == b"still open"
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        await asyncio.sleep(0.05)  # let the event loop report anything left behind
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", forward.port)


async def test_a_slow_reader_gets_everything_then_the_end(ports: PodPorts, client: Client) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: more messages than the stream holds for its reader

    async def burst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(burst, "127.0.0.1", 0)
    ports.routes[("kube-system", "etcd-cp-0", 2379)] = listener.sockets[0].getsockname()[1]
    try:
        async with await open_stream(client, "kube-system", "etcd-cp-0", 2379) as stream:
            await asyncio.sleep(0.5)  # the pod has sent everything and closed before anything is read
            received = b""
            while chunk := await asyncio.wait_for(stream.read(1000), 5):
                received += chunk
    finally:
        listener.close()
    assert received == payload
