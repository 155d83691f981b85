"""`pods/{name}/portforward` over WebSocket, in the channel protocol kube-apiserver and the kubelet speak.

A client upgrades `GET .../pods/{name}/portforward?ports=P[&ports=Q]` to a WebSocket, offering the subprotocol
`v4.channel.k8s.io` (binary frames), `v4.base64.channel.k8s.io` (text frames) or none (binary). Port number i
gets two channels: data `2i` (both ways) and error `2i+1` (server to client). Every message starts with its
channel: a byte in binary frames, the ASCII digit `'0' + channel` in base64 ones, whose payload is base64.
The server's first message on each channel is the port, two bytes little-endian. A port that cannot be reached
gets one message on its error channel saying why; the WebSocket closes once every port's connection ended.

herd's server has no kubelet: a `PodDialer` given to `APIServer` opens the TCP connection to a pod's port.
Without one, every forward reports on its error channel that the pod cannot be reached.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from multidict import MultiMapping

from . import errors

log = logging.getLogger(__name__)

PodDialer = Callable[[str, str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""Opens a TCP connection to (namespace, pod name, port); raises (OSError, TimeoutError, ...) when it cannot."""

BINARY_PROTOCOL = "v4.channel.k8s.io"
BASE64_PROTOCOL = "v4.base64.channel.k8s.io"
_PROTOCOLS = (BINARY_PROTOCOL, BASE64_PROTOCOL)
DIAL_TIMEOUT = 30.0  # seconds a dial may take before the forward reports a timeout
_CHUNK = 64 * 1024


def requested_ports(query: MultiMapping[str]) -> list[int]:
    """The `ports` query parameters (each may be a comma-separated list) as port numbers; 400 when bad."""
    values = query.getall("ports", [])
    if not values:
        raise errors.bad_request('query parameter "ports" is required')
    ports: list[int] = []
    for value in values:
        for text in value.split(","):
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise errors.bad_request(f'unable to parse "{value}" as a port: must be a number from 1 to 65535')
            ports.append(int(text))
    return ports


def is_upgrade(request: web.BaseRequest) -> bool:
    """Whether the request asks for a WebSocket (Upgrade: websocket, Connection: ... upgrade ...)."""
    connection = [token.strip().lower() for token in request.headers.get("Connection", "").split(",")]
    return request.headers.get("Upgrade", "").lower() == "websocket" and "upgrade" in connection


def choose_protocol(offered: str) -> str:
    """The subprotocol to answer with: the client's first one served, "" when it offered none; 400 otherwise."""
    protocols = [p.strip() for p in offered.split(",") if p.strip()]
    if not protocols:
        return ""
    for protocol in protocols:
        if protocol in _PROTOCOLS:
            return protocol
    raise errors.bad_request(f"requested protocol(s) are not supported: {protocols}; supports {list(_PROTOCOLS)}")


def dial_failure(exc: BaseException) -> str:
    """How a failed dial reads on the error channel: `connection refused`, `i/o timeout`, ..."""
    if isinstance(exc, TimeoutError):
        return "i/o timeout"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


@dataclass
class _Session:
    """One upgraded request: the WebSocket, how its frames are coded, and each port's pod connection."""

    ws: web.WebSocketResponse
    base64: bool
    ports: list[int]
    # per port index: its pod connection once dialed, None when the dial failed
    dialed: list[asyncio.Future[asyncio.StreamWriter | None]] = field(default_factory=list)

    def writers(self) -> list[asyncio.StreamWriter]:
        """The pod connections dialed so far."""
        out = []
        for dialing in self.dialed:
            writer = dialing.result() if dialing.done() and not dialing.cancelled() else None
            if writer is not None:
                out.append(writer)
        return out

    async def send(self, channel: int, payload: bytes) -> None:
        if self.base64:
            await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(payload).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + payload)

    def decode(self, message: Any) -> tuple[int, bytes] | None:
        """(channel, payload) of a client message; None for one this protocol does not carry."""
        if message.type == WSMsgType.BINARY and not self.base64 and message.data:
            return message.data[0], message.data[1:]
        if message.type == WSMsgType.TEXT and self.base64 and message.data:
            try:
                return ord(message.data[0]) - ord("0"), base64.b64decode(message.data[1:], validate=True)
            except (binascii.Error, ValueError):
                return None
        return None


class PortForwarding:
    """Serves port-forward requests to pods through `dialer`, and closes the open ones when the server stops."""

    def __init__(self, dialer: PodDialer | None) -> None:
        self.dialer = dialer
        self._open: set[web.WebSocketResponse] = set()

    async def serve(self, request: web.BaseRequest, namespace: str, pod: dict[str, Any]) -> web.StreamResponse:
        """Answer an upgrade request for an existing `pod` (the caller looked it up: a missing pod is its 404)."""
        if request.method not in ("GET", "POST"):
            raise errors.method_not_allowed(f"{request.method} is not supported on pods/portforward")
        ports = requested_ports(request.query)
        if not is_upgrade(request):
            raise errors.bad_request("Upgrade request required")
        protocol = choose_protocol(request.headers.get("Sec-WebSocket-Protocol", ""))
        ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), compress=False, max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws, protocol == BASE64_PROTOCOL, ports)
        self._open.add(ws)
        try:
            await self._run(session, namespace, pod)
        except ConnectionError as exc:  # the client went away while being written to: nobody left to tell
            log.debug("port-forward in %s: the client's connection failed: %s", namespace, exc)
        finally:
            self._open.discard(ws)
            for writer in session.writers():
                writer.close()
            await ws.close()
        return ws

    async def close(self) -> None:
        """Close every open forward (the server is stopping)."""
        for ws in list(self._open):
            await ws.close(code=1001)

    async def _run(self, session: _Session, namespace: str, pod: dict[str, Any]) -> None:
        for index, port in enumerate(session.ports):
            announce = port.to_bytes(2, "little")
            await session.send(2 * index, announce)
            await session.send(2 * index + 1, announce)
        loop = asyncio.get_running_loop()
        session.dialed = [loop.create_future() for _ in session.ports]
        forwarding: asyncio.Future[list[None]] = asyncio.gather(*(
            self._forward(session, index, namespace, pod) for index in range(len(session.ports))))
        receiving: asyncio.Future[None] = asyncio.ensure_future(self._receive(session))
        try:
            # the WebSocket ends when every port's connection ended (as the kubelet's does), or when the client goes
            either: list[asyncio.Future[Any]] = [forwarding, receiving]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (forwarding, receiving):
                task.cancel()
            await asyncio.gather(forwarding, receiving, return_exceptions=True)

    async def _forward(self, session: _Session, index: int, namespace: str, pod: dict[str, Any]) -> None:
        """Dial the pod's port, then copy what it sends to the data channel until it closes."""
        port = session.ports[index]
        meta = pod.get("metadata") or {}
        try:
            if self.dialer is None:
                raise ConnectionError(f"no route to pod {namespace}/{meta.get('name', '')}: this server has no "
                                      "dialer for pods")
            async with asyncio.timeout(DIAL_TIMEOUT):
                reader, writer = await self.dialer(namespace, str(meta.get("name", "")), port)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            session.dialed[index].set_result(None)
            message = (f"error forwarding port {port} to pod {meta.get('name', '')}, uid {meta.get('uid', '')}: "
                       f"{dial_failure(exc)}")
            log.debug("port-forward in %s: %s", namespace, message)
            await session.send(2 * index + 1, message.encode())
            return
        session.dialed[index].set_result(writer)
        try:
            while chunk := await reader.read(_CHUNK):
                await session.send(2 * index, chunk)
        except (ConnectionError, OSError) as exc:
            log.debug("port-forward %s/%s:%d: the pod's connection failed: %s", namespace, meta.get("name", ""),
                      port, exc)
        finally:
            writer.close()

    async def _receive(self, session: _Session) -> None:
        """Deliver the client's data-channel messages to the matching pod connection until the WebSocket closes."""
        async for message in session.ws:
            decoded = session.decode(message)
            if decoded is None:
                continue
            channel, payload = decoded
            if channel < 0 or channel % 2 or channel // 2 >= len(session.dialed) or not payload:
                continue  # error channels are the server's to write; unknown channels are ignored, as kube does
            # bytes sent while the port is still being dialed wait for the connection (a TLS hello comes at once)
            writer = await session.dialed[channel // 2]
            if writer is None or writer.is_closing():
                continue
            try:
                writer.write(payload)
                await writer.drain()
            except (ConnectionError, OSError):
                writer.close()
