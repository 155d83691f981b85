"""Connections to a pod's port through the API server (`pods/{name}/portforward`), as `kubectl port-forward`.

One connection is one WebSocket speaking `v4.channel.k8s.io`, the channel protocol of kube-apiserver and the
kubelet: for the single port asked for, channel 0 carries the data both ways and channel 1 the server's error
report; each channel's first two bytes from the server are the port (little-endian). The protocol has no
half-close: the connection ends when either side closes the WebSocket.

    async with PortForward(client, "kube-system", f"etcd-{node}", 2379) as forward:
        ...  # connect to 127.0.0.1:forward.port; TLS runs end to end through the tunnel
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

import aiohttp

from .client import Client, _json_or_text
from .errors import ClientError, PortForwardError, error_from_status

log = logging.getLogger(__name__)

PROTOCOL = "v4.channel.k8s.io"
_DATA, _ERROR = 0, 1
_PORT_BYTES = 2
_QUEUED_CHUNKS = 16  # messages held for a slow reader before the WebSocket stops being read (backpressure)
_CHUNK = 64 * 1024


def portforward_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward"


class PodStream:
    """A byte stream to one port of a pod, over one WebSocket to the API server.

    `read()` returns what arrived (b"" once the far end closed), or raises `PortForwardError` once the
    connection ended with an error reported by the server; `write()` sends; `close()` ends the connection.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, namespace: str, pod: str, port: int) -> None:
        self.namespace, self.pod, self.port = namespace, pod, port
        self._ws = ws
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUED_CHUNKS)  # None: the end
        self._pending = b""
        self._ended = False  # the reader took the end
        self._finished = False  # nothing more will be queued
        self._error: PortForwardError | None = None
        self._receiving = asyncio.ensure_future(self._receive())

    async def read(self, max_bytes: int = _CHUNK) -> bytes:
        """Up to `max_bytes` bytes, waiting for at least one; b"" when the pod's side closed."""
        if not self._pending and not self._ended:
            chunk = None if self._finished and self._chunks.empty() else await self._chunks.get()
            if chunk is None:
                self._ended = True
            else:
                self._pending = chunk
        if not self._pending:
            if self._error is not None:
                raise self._error
            return b""
        out, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return out

    async def write(self, data: bytes) -> None:
        """Send `data` to the pod's port; raises PortForwardError once the connection is closed."""
        if self._ws.closed:
            raise self._error or PortForwardError(f"the connection to port {self.port} of pod "
                                                  f"{self.namespace}/{self.pod} is closed")
        view = memoryview(data)
        for start in range(0, len(view), _CHUNK):
            await self._ws.send_bytes(bytes([_DATA]) + view[start:start + _CHUNK])

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def close(self) -> None:
        await self._ws.close()
        self._receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._receiving

    async def __aenter__(self) -> PodStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _receive(self) -> None:
        announced = {_DATA: b"", _ERROR: b""}  # each channel's first bytes are the port, not payload
        error = b""
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                if channel not in announced:
                    continue
                missing = _PORT_BYTES - len(announced[channel])
                if missing > 0:
                    announced[channel] += payload[:missing]
                    payload = payload[missing:]
                if not payload:
                    continue
                if channel == _DATA:
                    await self._chunks.put(payload)
                else:
                    error += payload
        finally:
            if error:
                self._error = PortForwardError(error.decode(errors="replace"))
                log.debug("port-forward to %s/%s:%d: %s", self.namespace, self.pod, self.port, self._error)
            self._finished = True
            with contextlib.suppress(asyncio.QueueFull):  # a full queue has no reader waiting to be woken
                self._chunks.put_nowait(None)


async def open_stream(client: Client, namespace: str, pod: str, port: int) -> PodStream:
    """A connection to `port` of the pod `namespace/pod` through the client's API server.

    Raises NotFound when the pod does not exist, the typed ApiError of any other refusal (401, 403, 400),
    Unreachable when the server cannot be reached. A port nobody listens on is a `PortForwardError` from the
    first `read()`: the protocol reports a failed dial only after the WebSocket is open.
    """
    answer = await client.transport.ws_connect(portforward_path(namespace, pod), params={"ports": port},
                                               protocols=(PROTOCOL,))
    if not isinstance(answer, aiohttp.ClientWebSocketResponse):
        raise error_from_status(answer.status, _json_or_text(answer.body))
    if answer.protocol not in (PROTOCOL, None):
        await answer.close()
        raise PortForwardError(f"the server chose the WebSocket subprotocol {answer.protocol!r}, not {PROTOCOL}")
    return PodStream(answer, namespace, pod, port)


class PortForward:
    """Listens on `address` (127.0.0.1, a free port by default) and forwards each accepted connection to
    `port` of the pod, each over its own WebSocket, as `kubectl port-forward` does.

    `port` is the local port once entered. A connection the server cannot forward is closed; the reason is
    logged and kept in `last_error`.
    """

    def __init__(self, client: Client, namespace: str, pod: str, port: int, *, address: str = "127.0.0.1",
                 local_port: int = 0) -> None:
        self.client, self.namespace, self.pod, self.remote_port = client, namespace, pod, port
        self.address = address
        self.port = local_port
        self.last_error: ClientError | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> PortForward:
        self._server = await asyncio.start_server(self._accept, self.address, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening and end every forwarded connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            stream = await open_stream(self.client, self.namespace, self.pod, self.remote_port)
            async with stream:
                await _pipe(reader, writer, stream)
        except ClientError as exc:
            self.last_error = exc
            log.warning("port-forward to %s/%s:%d: %s", self.namespace, self.pod, self.remote_port, exc)
        except asyncio.CancelledError:
            # `close()` ends the connection; the task ends normally because asyncio's server (3.11) asks a
            # finished connection task for its exception, which raises for a cancelled one
            pass
        finally:
            writer.close()
            self._connections.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream: PodStream) -> None:
    """Copy both ways until either side closes; a failure reported by the server is raised."""

    async def upstream() -> None:
        while data := await reader.read(_CHUNK):
            await stream.write(data)

    async def downstream() -> None:
        while data := await stream.read():
            writer.write(data)
            await writer.drain()

    tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, PortForwardError):
            raise result
