"""The official Kubernetes Python client's port-forward (its own v4.channel.k8s.io implementation) against herd."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from kubernetes import client
from kubernetes.stream import portforward
from support.pods import TOKEN, PodPorts, create_pod, echo_server, server_with_dialer

from herd.apiserver.server import APIServer


@pytest.fixture
async def ports() -> PodPorts:
    return PodPorts()


@pytest.fixture
async def server(ports: PodPorts) -> AsyncIterator[APIServer]:
    srv = server_with_dialer(ports)
    await srv.start()
    try:
        async with aiohttp.ClientSession(srv.url, headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            await create_pod(session, "kube-system", "etcd-cp-0")
        yield srv
    finally:
        await srv.stop()


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
