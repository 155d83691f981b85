"""HTTPS to one API server: aiohttp for the connections, lightkube for reading kubeconfigs and credentials.

lightkube's own client sends every call through httpx, which costs the controllers about four
times the CPU per request of aiohttp's C-accelerated client (measured against `herd serve`:
~1.3 ms vs ~0.35 ms of client CPU per GET); at fleet scale that was a third of the manager. The
kubeconfig handling (clusters, users, in-cluster service accounts, token files, exec plugins) stays
lightkube's: its TLS context is used as is, and its auth flows are asked for the Authorization
header, so rotated tokens and exec credentials keep working.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx2
from lightkube.config.client_adapter import user_auth, verify_cluster
from lightkube.config.kubeconfig import SingleConfig
from yarl import URL

from .errors import Unreachable

USER_AGENT = "herd"
_MAX_CONNECTIONS = 100  # per server, as client-go's default transport allows
# Names herd's own clients resolve to a fixed address, like /etc/hosts for this process only: a simulated cloud's
# load balancer DNS names (which resolve nowhere) pointing at the loopback addresses their simulated servers
# listen on. Filled by the CLI (`set_host_alias`); empty, it changes nothing.
_HOST_ALIASES: dict[str, str] = {}


def set_host_alias(name: str, address: str | None) -> None:
    """Make herd's clients in this process connect to `address` for the host `name` (None forgets it)."""
    if address is None:
        _HOST_ALIASES.pop(name.lower(), None)
    else:
        _HOST_ALIASES[name.lower()] = address


class _AliasResolver(aiohttp.ThreadedResolver):
    """The default resolver, except for the names in the host alias table."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[aiohttp.abc.ResolveResult]:
        address = _HOST_ALIASES.get(host.lower())
        if address is None:
            return await super().resolve(host, port, family)
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]


def _connector(limit: int, limit_per_host: int = 0) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(resolver=_AliasResolver(), limit=limit, limit_per_host=limit_per_host)


@dataclass(frozen=True)
class Response:
    """A whole answer: status code, Content-Type and body."""

    status: int
    content_type: str
    body: bytes


class _Credentials:
    """The Authorization header lightkube's auth for a kubeconfig user would send, refreshed after a 401."""

    def __init__(self, auth: httpx2.Auth | None, server: str) -> None:
        self._auth = auth
        self._server = server
        self._header: str | None = None
        self._lock = asyncio.Lock()

    async def header(self) -> str | None:
        if self._auth is None:
            return None
        if self._header is None:
            async with self._lock:
                if self._header is None:
                    flow = self._auth.async_auth_flow(httpx2.Request("GET", self._server))
                    self._header = (await flow.__anext__()).headers.get("Authorization")
                    await flow.aclose()
        return self._header

    async def refresh(self, rejected: str | None) -> bool:
        """After a 401 answered to `rejected`: ask the auth flow again (a token file re-read, an exec plugin
        re-run). True when there is a different header to retry with."""
        if self._auth is None:
            return False
        async with self._lock:
            if self._header != rejected:  # another call refreshed it already
                return True
            flow = self._auth.async_auth_flow(httpx2.Request("GET", self._server))
            try:
                await flow.__anext__()
                retried = await flow.asend(httpx2.Response(401))
            except StopAsyncIteration:  # a fixed token: nothing else to try
                return False
            finally:
                await flow.aclose()
            self._header = retried.headers.get("Authorization")
            return self._header != rejected


class ConnectionPool:
    """Keep-alive connections shared by the clients given it, for clients that come and go in numbers.

    A connection is reused only by a client of the same server with the same TLS settings (CA, client
    certificate): aiohttp keys its pooled connections by host, port and TLS context. Bearer tokens travel
    with each request, so clients with different tokens may share connections, as one HTTP client with
    per-request credentials would. Belongs to the event loop that first uses it.
    """

    def __init__(self, *, per_server: int = _MAX_CONNECTIONS) -> None:
        self._per_server = per_server
        self._connector: aiohttp.TCPConnector | None = None

    def connector(self) -> aiohttp.TCPConnector:
        if self._connector is None or self._connector.closed:
            self._connector = _connector(limit=0, limit_per_host=self._per_server)
        return self._connector

    async def close(self) -> None:
        """Close every pooled connection (clients using the pool fail afterwards until it is used again)."""
        if self._connector is not None:
            await self._connector.close()
            self._connector = None


class Transport:
    """Requests to the API server of one kubeconfig context, over a pool of keep-alive HTTPS connections
    (its own, or a `ConnectionPool` shared with other transports)."""

    def __init__(self, config: SingleConfig, *, timeout: float = 30.0, trust_env: bool = False,
                 pool: ConnectionPool | None = None) -> None:
        self.server = str(config.cluster.server).rstrip("/")
        self._ssl: ssl.SSLContext | bool = _tls_context(config, trust_env) if self.server.startswith("https:") \
            else False
        self._credentials = _Credentials(user_auth(config.user), self.server)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._trust_env = trust_env
        self._pool = pool
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # made on first use: a session belongs to the event loop that runs it
        if self._session is None or self._session.closed:
            connector = self._pool.connector() if self._pool is not None else \
                _connector(limit=_MAX_CONNECTIONS)
            self._session = aiohttp.ClientSession(
                connector=connector, connector_owner=self._pool is None,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"}, trust_env=self._trust_env)
        return self._session

    def _url(self, path: str, params: Mapping[str, Any] | None) -> URL:
        url = URL(self.server + path, encoded=False)
        query = {key: _query_value(value) for key, value in (params or {}).items() if value is not None}
        return url.with_query(query) if query else url

    async def _headers(self, content_type: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        authorization = await self._credentials.header()
        if authorization:
            headers["Authorization"] = authorization
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      body: bytes | None = None, content_type: str | None = None) -> Response:
        """Send one request and read the whole answer; raises Unreachable when no answer comes."""
        url = self._url(path, params)
        for attempt in range(2):
            headers = await self._headers(content_type)
            try:
                async with self._http().request(method, url, data=body, headers=headers, ssl=self._ssl,
                                                timeout=self._timeout) as response:
                    answer = Response(response.status, response.content_type, await response.read())
            except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
                raise Unreachable(_describe(exc)) from exc
            if answer.status == 401 and attempt == 0 and await self._credentials.refresh(
                    headers.get("Authorization")):
                continue
            return answer
        raise AssertionError("unreachable")  # the loop returns on its second pass

    async def stream(self, path: str, params: Mapping[str, Any], *,
                     read_timeout: float) -> AsyncGenerator[Response | bytes, None]:
        """GET a streaming answer: first its Response (a non-200 one carries the whole body and ends the
        stream), then each line of the body as it arrives."""
        headers = await self._headers(None)
        timeout = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=read_timeout)
        try:
            async with self._http().get(self._url(path, params), headers=headers, ssl=self._ssl,
                                        timeout=timeout) as response:
                if response.status != 200:
                    yield Response(response.status, response.content_type, await response.read())
                    return
                yield Response(200, response.content_type, b"")
                pending = b""
                # chunks split by hand: aiohttp's readline refuses lines over 128 KiB, and an event can be larger
                async for chunk in response.content.iter_any():
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield line
                if pending.strip():
                    yield pending
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
            raise Unreachable(_describe(exc)) from exc

    async def ws_connect(self, path: str, *, params: Mapping[str, Any] | None = None,
                         protocols: tuple[str, ...] = ()) -> aiohttp.ClientWebSocketResponse | Response:
        """Upgrade a GET of `path` to a WebSocket offering `protocols`, with this transport's TLS and credentials.

        When the server answers without upgrading, the same GET is sent again as a plain request and its
        answer returned: aiohttp drops the body of a refused upgrade, and the Status in it says why (a
        missing pod is a 404 before any upgrade is looked at). Raises Unreachable when no answer comes.
        """
        url = self._url(path, params)
        refused: aiohttp.WSServerHandshakeError
        for attempt in range(2):
            headers = await self._headers(None)
            try:
                async with asyncio.timeout(self._timeout.total):
                    return await self._http().ws_connect(url, protocols=protocols, headers=headers, ssl=self._ssl,
                                                         max_msg_size=0)
            except aiohttp.WSServerHandshakeError as exc:
                refused = exc
            except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as exc:
                raise Unreachable(_describe(exc)) from exc
            if not (refused.status == 401 and attempt == 0
                    and await self._credentials.refresh(headers.get("Authorization"))):
                break
        answer = await self.request("GET", path, params=params)
        if answer.status < 300:  # answered as a plain request, yet refused to upgrade
            return Response(refused.status, "text/plain",
                            f"the server would not upgrade to a WebSocket: {refused.message}".encode())
        return answer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_TLS_CONTEXTS: dict[tuple[Any, ...], ssl.SSLContext] = {}
_TLS_CONTEXTS_KEPT = 256


def _tls_context(config: SingleConfig, trust_env: bool) -> ssl.SSLContext:
    """lightkube's TLS context for the cluster's CA and the user's client certificate, made once per distinct
    inline CA and certificate: loading them costs more than a request, and the clients of one workload cluster
    (every joining node's) share them. The context is configuration only; each client keeps its connections."""
    cluster, user = config.cluster, config.user
    assert user is not None
    if cluster.certificate_auth or user.client_cert or user.client_key:  # files may change: read them each time
        return verify_cluster(cluster, user, config.abs_file, trust_env=trust_env)
    key = (cluster.certificate_auth_data, cluster.insecure, user.client_cert_data, user.client_key_data, trust_env)
    found = _TLS_CONTEXTS.get(key)
    if found is None:
        if len(_TLS_CONTEXTS) >= _TLS_CONTEXTS_KEPT:
            _TLS_CONTEXTS.clear()
        found = _TLS_CONTEXTS[key] = verify_cluster(cluster, user, config.abs_file, trust_env=trust_env)
    return found


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
