"""pods/{name}/portforward on the wire: the WebSocket channel protocol kube-apiserver and the kubelet speak, checked
frame by frame and with the official Kubernetes Python client (an implementation of its own)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes import client
from kubernetes.stream import portforward
from support.pods import BYE, TOKEN, PodPorts, echo_server, serving_pod

from herd.apiserver.server import APIServer

PATH = "/api/v1/namespaces/kube-system/pods/etcd-cp-0/portforward"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def ports() -> PodPorts:
    return PodPorts()


@pytest.fixture
async def server(ports: PodPorts) -> AsyncIterator[APIServer]:
    async with serving_pod(ports) as srv:
        yield srv


@pytest.fixture
async def http(server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(server.url, headers=AUTH) as session:
        yield session


async def frames(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
    """Every message until the server closes the WebSocket."""
    out = []
    async with asyncio.timeout(10):
        async for message in ws:
            out.append(message.data)
    return out


async def test_bytes_round_trip_after_each_channel_announces_the_port(
        ports: PodPorts, http: aiohttp.ClientSession) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with http.ws_connect(PATH, params={"ports": "2379"}, protocols=("v4.channel.k8s.io",)) as ws:
            assert ws.protocol == "v4.channel.k8s.io"
            announced = [await ws.receive_bytes(timeout=5), await ws.receive_bytes(timeout=5)]
            assert announced == [b"\x00" + (2379).to_bytes(2, "little"), b"\x01" + (2379).to_bytes(2, "little")]
            await ws.send_bytes(b"\x00hello")
            assert await ws.receive_bytes(timeout=5) == b"\x00hello"
            await ws.send_bytes(b"\x00" + BYE)  # the pod closes its side: the server closes the WebSocket
            assert await frames(ws) == []
    assert ports.dialed == [("kube-system", "etcd-cp-0", 2379)]


async def test_base64_protocol_and_two_ports_on_one_websocket(ports: PodPorts, http: aiohttp.ClientSession) -> None:
    async with echo_server() as first, echo_server() as second:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = first.port
        ports.routes[("kube-system", "etcd-cp-0", 6443)] = second.port
        async with http.ws_connect(PATH, params=[("ports", "2379"), ("ports", "6443")],
                                   protocols=("v4.base64.channel.k8s.io",)) as ws:
            announced = {await ws.receive_str(timeout=5) for _ in range(4)}
            assert announced == {"0" + base64.b64encode((2379).to_bytes(2, "little")).decode(),
                                 "1" + base64.b64encode((2379).to_bytes(2, "little")).decode(),
                                 "2" + base64.b64encode((6443).to_bytes(2, "little")).decode(),
                                 "3" + base64.b64encode((6443).to_bytes(2, "little")).decode()}
            await ws.send_str("2" + base64.b64encode(b"to 6443").decode())
            assert await ws.receive_str(timeout=5) == "2" + base64.b64encode(b"to 6443").decode()
            await ws.send_str("0" + base64.b64encode(b"to 2379").decode())
            assert await ws.receive_str(timeout=5) == "0" + base64.b64encode(b"to 2379").decode()
    assert (first.connections, second.connections) == (1, 1)


async def test_a_port_nobody_listens_on_is_reported_on_the_error_channel(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(PATH, params={"ports": "2379"}) as ws:  # no subprotocol: binary, as kube
        received = await frames(ws)
    assert received[:2] == [b"\x00" + (2379).to_bytes(2, "little"), b"\x01" + (2379).to_bytes(2, "little")]
    assert len(received) == 3 and received[2][:1] == b"\x01"
    message = received[2][1:].decode()
    assert message.startswith("error forwarding port 2379 to pod etcd-cp-0, uid ")
    assert message.endswith(": connection refused")


async def test_without_a_dialer_the_error_channel_says_the_pod_cannot_be_reached() -> None:
    async with serving_pod(None) as srv, aiohttp.ClientSession(srv.url, headers=AUTH) as session, \
            session.ws_connect(PATH, params={"ports": "2379"}) as ws:
        received = await frames(ws)
    assert received[2][:1] == b"\x01"
    assert b"error forwarding port 2379 to pod etcd-cp-0" in received[2]
    assert b"no dialer" in received[2]


async def test_closing_the_websocket_closes_the_pod_connection(ports: PodPorts, http: aiohttp.ClientSession) -> None:
    closed = asyncio.Event()

    async def pod(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until EOF
        closed.set()
        writer.close()

    listener = await asyncio.start_server(pod, "127.0.0.1", 0)
    ports.routes[("kube-system", "etcd-cp-0", 2379)] = listener.sockets[0].getsockname()[1]
    try:
        async with http.ws_connect(PATH, params={"ports": "2379"}) as ws:
            await ws.send_bytes(b"\x00ping")
            await ws.receive_bytes(timeout=5)
        await asyncio.wait_for(closed.wait(), 5)
    finally:
        listener.close()


@pytest.mark.parametrize(("params", "code", "reason", "text"), [
    ({"ports": "2379"}, 404, "NotFound", 'pods "missing" not found'),
    ({}, 400, "BadRequest", '"ports" is required'),
    ({"ports": "http"}, 400, "BadRequest", 'unable to parse "http" as a port'),
    ({"ports": "70000"}, 400, "BadRequest", "as a port"),
    ({"ports": "2379,0"}, 400, "BadRequest", "as a port"),
])
async def test_refused_requests_get_a_status(http: aiohttp.ClientSession, params: dict[str, str], code: int,
                                             reason: str, text: str) -> None:
    pod = "missing" if code == 404 else "etcd-cp-0"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"/api/v1/namespaces/kube-system/pods/{pod}/portforward", params=params)
    assert refused.value.status == code
    async with http.get(f"/api/v1/namespaces/kube-system/pods/{pod}/portforward", params=params) as response:
        status = await response.json()
    assert (response.status, status["kind"], status["reason"]) == (code, "Status", reason)
    assert text in status["message"]


async def test_a_plain_request_is_told_to_upgrade(http: aiohttp.ClientSession) -> None:
    async with http.post(PATH, params={"ports": "2379"}) as response:
        status = await response.json()
    assert (response.status, status["reason"], status["message"]) == (400, "BadRequest", "Upgrade request required")


async def test_an_unknown_subprotocol_is_refused(http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(PATH, params={"ports": "2379"}, protocols=("v5.channel.k8s.io",))
    assert refused.value.status == 400


async def test_anonymous_requests_are_unauthorized(server: APIServer) -> None:
    async with aiohttp.ClientSession(server.url) as anonymous:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(PATH, params={"ports": "2379"})
    assert refused.value.status == 401


async def test_discovery_lists_pods_portforward(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1") as response:
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert resources["pods/portforward"]["kind"] == "PodPortForwardOptions"
    assert set(resources["pods/portforward"]["verbs"]) == {"create", "get"}


async def test_stopping_the_server_closes_open_forwards(ports: PodPorts, server: APIServer,
                                                        http: aiohttp.ClientSession) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with http.ws_connect(PATH, params={"ports": "2379"}) as ws:
            await ws.send_bytes(b"\x00ping")
            await ws.receive_bytes(timeout=5)
            await ws.receive_bytes(timeout=5)
            await ws.receive_bytes(timeout=5)
            await asyncio.wait_for(server.port_forwarding.close(), 5)
            assert await frames(ws) == []


async def test_frames_for_no_data_channel_are_ignored(ports: PodPorts, http: aiohttp.ClientSession) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        async with http.ws_connect(PATH, params={"ports": "2379"}, protocols=("v4.channel.k8s.io",)) as ws:
            await ws.receive_bytes(timeout=5)
            await ws.receive_bytes(timeout=5)
            for stray in (b"", b"\x01to the error channel", b"\x02no such port", b"\xffreserved"):
                await ws.send_bytes(stray)
            await ws.send_str("0text in a binary protocol")
            await ws.send_bytes(b"\x00echo")
            assert await ws.receive_bytes(timeout=5) == b"\x00echo"  # only the data channel reached the pod


# ---- the official Kubernetes Python client ----------------------------------------------------------------

def core_api(server: APIServer) -> client.CoreV1Api:
    configuration = client.Configuration(host=server.url, api_key={"authorization": f"Bearer {TOKEN}"})
    return client.CoreV1Api(client.ApiClient(configuration))


def round_trip(api: client.CoreV1Api, data: bytes) -> bytes:
    forward = portforward(api.connect_get_namespaced_pod_portforward, "etcd-cp-0", "kube-system", ports="2379")
    try:
        sock = forward.socket(2379)
        sock.settimeout(5)
        sock.sendall(data)
        received = b""
        while len(received) < len(data):
            received += sock.recv(65536)
        sock.close()
        return received
    finally:
        forward.close()


async def test_the_official_python_client_round_trips_bytes(ports: PodPorts, server: APIServer) -> None:
    async with echo_server() as echo:
        ports.routes[("kube-system", "etcd-cp-0", 2379)] = echo.port
        received = await asyncio.wait_for(asyncio.to_thread(round_trip, core_api(server), b"hello from kubernetes"), 20)
    assert received == b"hello from kubernetes"


def error_of(api: client.CoreV1Api) -> str | None:
    forward = portforward(api.connect_get_namespaced_pod_portforward, "etcd-cp-0", "kube-system", ports="2379")
    try:
        sock = forward.socket(2379)
        sock.settimeout(5)
        try:
            while sock.recv(65536):
                pass
        except OSError:  # a timeout too
            pass
        return forward.error(2379)
    finally:
        forward.close()


async def test_the_official_python_client_reads_the_error_channel(server: APIServer) -> None:
    error = await asyncio.wait_for(asyncio.to_thread(error_of, core_api(server)), 20)
    assert error is not None
    assert error.startswith("error forwarding port 2379 to pod etcd-cp-0")
    assert error.endswith("connection refused")
