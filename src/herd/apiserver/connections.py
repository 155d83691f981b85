"""The API server's HTTP connections: per-connection identity, timeouts, room for authenticated clients.

aiohttp's low-level server is extended in three ways, each mirroring what kube-apiserver's Go server does:
- a connection must send a request that authenticates within `HEADER_TIMEOUT` (Go's ReadHeaderTimeout),
  and any connection idle for `IDLE_TIMEOUT` is closed (Go's IdleTimeout);
- connections that have not authenticated yet are capped; past the cap the oldest of them is closed, so
  slow or idle anonymous connections can never use up the file descriptors authenticated clients need;
- errors the HTTP parser answers itself (a too long URL or header, an unknown method, garbage) are
  Kubernetes `Status` objects like every other error, and are logged at debug level only: they come
  from clients, not from a fault in the server.
The identity worked out for a connection lives on the connection object, so it goes when the connection
closes (a registry keyed by transport kept every closed TLS connection alive under uvloop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import resource
from collections import OrderedDict
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler

from . import errors
from .auth import UserInfo
from .bodies import MAX_REQUEST_BYTES
from .codec import status_response

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 32.0  # seconds from connect until a request authenticates (kube: ReadHeaderTimeout 32s)
IDLE_TIMEOUT = 90.0  # seconds a kept-alive connection may wait for its next request (kube: IdleTimeout 90s)
TLS_HANDSHAKE_TIMEOUT = 10.0
MAX_LINE_SIZE = 64 * 1024  # request line (the URL with its query); aiohttp's 8 KiB is short for selectors
MAX_FIELD_SIZE = 64 * 1024
MIN_UNAUTHENTICATED = 32
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # what an HTTP method may be made of


def default_unauthenticated_limit() -> int:
    """A quarter of the process's file descriptors may be held by connections that did not authenticate."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(MIN_UNAUTHENTICATED, soft // 4)


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (each connection is a descriptor); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


class Connection(RequestHandler):
    """One client connection: its cached identity, and whether it has authenticated."""

    __slots__ = ("_guard", "identity")

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        # (Authorization header, user) of the last authenticated request: a connection's client
        # certificate never changes, so only a new header needs a new authentication
        self.identity: tuple[str | None, UserInfo] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.forget(self)
        self.identity = None
        super().connection_lost(exc)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The parser's (and aiohttp's own) errors, answered as a Status; the connection is closed after."""
        error = http_error_status(status, exc)
        if error.code >= 500:
            log.error("error serving a request from %s: %s", request.remote, exc or message, exc_info=exc)
        else:
            log.debug("malformed request from %s: %s", request.remote, exc or message)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already partly sent")
        response = status_response(error)
        response.force_close()
        return response


def http_error_status(status: int, exc: BaseException | None) -> errors.StatusError:
    """The Status for an error the HTTP layer reports with `status` (and the parser's exception, if any)."""
    if isinstance(exc, http_exceptions.BadHttpMethod) and _TOKEN.fullmatch(_method_of(exc)):
        return errors.method_not_allowed("the request method is not supported")  # as kube: a 405 Status
    if isinstance(exc, http_exceptions.LineTooLong):
        return errors.StatusError(431, "RequestHeaderFieldsTooLarge",
                                  f"the request line or a header is longer than {MAX_LINE_SIZE} bytes")
    if isinstance(exc, http_exceptions.BadHttpMessage) or 400 <= status < 500:
        # the parser's message quotes the request, which may hold a secret: it is not repeated
        return errors.bad_request("malformed HTTP request")
    if status == 504:
        return errors.timeout("the request timed out")
    return errors.internal("an internal error occurred; see the server log")


def _method_of(exc: http_exceptions.BadHttpMethod) -> str:
    """The method the client sent; aiohttp's C parser quotes the request line as b'...' in its message."""
    line = str(exc.message or exc.line)
    quoted = re.search(r"b'([^' ]*)", line)
    return quoted.group(1) if quoted else line.split(" ", 1)[0]


class ConnectionGuard:
    """Tracks connections that have not authenticated: each gets a deadline, and their number a cap."""

    def __init__(self, max_unauthenticated: int, header_timeout: float = HEADER_TIMEOUT) -> None:
        self.max_unauthenticated = max(1, max_unauthenticated)
        self.header_timeout = header_timeout
        self._waiting: OrderedDict[Connection, asyncio.TimerHandle] = OrderedDict()  # oldest first
        self.evicted = 0

    @property
    def unauthenticated(self) -> int:
        return len(self._waiting)

    def opened(self, connection: Connection) -> None:
        while len(self._waiting) >= self.max_unauthenticated:
            oldest, timer = self._waiting.popitem(last=False)
            timer.cancel()
            self.evicted += 1
            oldest.force_close()
        loop = asyncio.get_running_loop()
        self._waiting[connection] = loop.call_later(self.header_timeout, self._expire, connection)

    def authenticated(self, connection: Connection) -> None:
        """The connection carried an authenticated request: no deadline, no longer counted."""
        self.forget(connection)

    def forget(self, connection: Connection) -> None:
        timer = self._waiting.pop(connection, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, connection: Connection) -> None:
        if self._waiting.pop(connection, None) is not None:
            connection.force_close()


class GuardedServer(web.Server):
    """aiohttp's low-level server whose connections are `Connection`s under one `ConnectionGuard`."""

    def __init__(self, handler: Any, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(handler, request_factory=self._limited_request, keepalive_timeout=IDLE_TIMEOUT,
                         max_line_size=MAX_LINE_SIZE, max_field_size=MAX_FIELD_SIZE, **kwargs)
        self.guard = guard

    def _limited_request(self, message: Any, payload: Any, protocol: Any, writer: Any,
                         task: asyncio.Task[None]) -> web.BaseRequest:
        # bodies up to the API's own limit (aiohttp's default is 1 MiB), read by `bodies.read_limited`
        return web.BaseRequest(message, payload, protocol, writer, task, self._loop,
                               client_max_size=MAX_REQUEST_BYTES + 1)

    def __call__(self) -> Connection:
        return Connection(self, guard=self.guard, loop=self._loop, **self._kwargs)


class GuardedSite(web.BaseSite):
    """A TCP (TLS) listener like aiohttp's TCPSite, with a deadline for the TLS handshake."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, ssl_context: Any) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=1024)
        self._host = host
        self._port = port

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None  # the runner was set up
        self._server = await loop.create_server(
            server, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog,
            reuse_address=True, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if self._ssl_context else None)
