"""The API server: TLS listener, authentication, and dispatch to discovery, OpenAPI and resources.

aiohttp's low-level server is used (not an ASGI stack) because authentication by client
certificate needs the TLS peer certificate of each connection, which ASGI servers do not expose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import discovery, errors, openapi
from .admission.base import Admission
from .admission.webhooks import WebhookAdmission
from .auth import Authenticator, UserInfo
from .authz.aggregation import ClusterRoleAggregator
from .authz.authorizer import MASTERS, AlwaysAllow, forbidden, new_authorizer
from .authz.escalation import RBACAdmission
from .authz.impersonation import impersonate, wants_impersonation
from .authz.reconcile import reconcile_default_policy
from .authz.rules import non_resource_attributes, resource_attributes
from .authz.types import RBAC_TYPES
from .bootstrap_tokens import bootstrap_token_lookup, is_bootstrap_user
from .builtins import BUILTIN_TYPES, INITIAL_NAMESPACES, NAMESPACES
from .clientcerts import handshake_accepts_unverified
from .codec import json_response, status_response
from .connections import Connection, ConnectionGuard, GuardedServer, GuardedSite, default_unauthenticated_limit
from .controllers.crd_lifecycle import CRDLifecycle
from .controllers.gc import GarbageCollector
from .controllers.namespaces import NamespaceController
from .handlers import ResourceHandlers
from .objects import Objects, WriteOptions
from .portforward import PodDialer, PortForwarding
from .registry import Registry
from .reviews import REVIEW_TYPES, is_review, serve_review
from .routing import GroupPath, ResourcePath, parse_path
from .storage.base import StorageError
from .storage.store import Store

log = logging.getLogger(__name__)

KUBERNETES_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64",
}
_PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
_OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

BackgroundTask = Callable[[], Awaitable[None]]


class APIServer:
    """A Kubernetes-compatible API server over one `Store`.

    `start()` loads state, listens and returns the bound port; `stop()` closes everything.
    """

    def __init__(self, store: Store, *, ssl_context: ssl.SSLContext | None, authenticator: Authenticator,
                 host: str = "127.0.0.1", port: int = 0, admission: Admission | None = None,
                 max_unauthenticated_connections: int | None = None, pod_dialer: PodDialer | None = None,
                 authorization_mode: str = "RBAC") -> None:
        if handshake_accepts_unverified(ssl_context) and authenticator.client_certificates is None:
            raise ValueError("the TLS context lets unverified client certificates through, but the "
                             "authenticator has no client CAs to verify them with")
        self.store = store
        self.ssl_context = ssl_context
        self.authenticator = authenticator
        authenticator.add_token_lookup(bootstrap_token_lookup(store))  # kube's --enable-bootstrap-token-auth
        self.host = host
        self.port = port
        self.registry = Registry((*BUILTIN_TYPES, *RBAC_TYPES, *REVIEW_TYPES))
        self.authorizer = new_authorizer(authorization_mode, store)
        # system:masters, or no authorization: requests skip working out what they ask for
        self._always_allow = isinstance(self.authorizer, AlwaysAllow)
        self.background: list[BackgroundTask] = [self.authorizer.run]
        if admission is None:
            webhooks = WebhookAdmission(store)
            self.background.append(webhooks.run)  # owns the webhook client; closes it when the server stops
            admission = webhooks
        self.objects = Objects(store, self.registry, RBACAdmission(admission, self.authorizer, store))
        self.aggregator = ClusterRoleAggregator(self.objects)
        self.background.append(self.aggregator.run)
        self.crds = CRDLifecycle(self.objects, self.registry)
        # pods/portforward reaches pods through `pod_dialer` (this server has no kubelet); see portforward.py
        self.port_forwarding = PortForwarding(pod_dialer)
        self.handlers = ResourceHandlers(self.objects, self.port_forwarding)
        self.gc = GarbageCollector(self.objects, self.registry)
        self.namespace_controller = NamespaceController(self.objects, self.registry)
        self.background += [self.gc.run, self.namespace_controller.run]
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.ServerRunner | None = None
        self._discovery_cache: dict[str, tuple[int, Any]] = {}
        self.connections = ConnectionGuard(max_unauthenticated_connections or default_unauthenticated_limit())

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}" if self.ssl_context else f"http://{host}:{self.port}"

    async def start(self) -> int:
        await self.store.start()
        self.crds.load_existing()
        await self._ensure_initial_namespaces()
        await reconcile_default_policy(self.objects)
        for _ in range(3):  # admin aggregates edit, which aggregates view: settled before the first request
            if not await self.aggregator.aggregate_once():
                break
        for task in self.background:
            self._tasks.append(asyncio.ensure_future(task()))
        server = GuardedServer(self._handle, guard=self.connections, access_log=None)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await GuardedSite(self._runner, self.host, self.port, ssl_context=self.ssl_context).start()
        sockets = self._runner.addresses
        if sockets:
            self.port = int(sockets[0][1])
        return self.port

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            # stopping: a background task's failure is not ours to raise
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.crds.close()
        await self.port_forwarding.close()
        await self.store.close()  # closes open watches first, so streaming responses end
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _ensure_initial_namespaces(self) -> None:
        for name in INITIAL_NAMESPACES:
            if self.store.get(NAMESPACES.key("", name)) is None:
                await self.objects.create(NAMESPACES, "", {"metadata": {"name": name}}, WriteOptions())

    # ---- request dispatch ---------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except errors.StatusError as exc:
            return status_response(exc)
        except web.RequestPayloadError as exc:  # a body aiohttp cannot read, e.g. not in its Content-Encoding
            reason = getattr(exc.__cause__, "message", "") or str(exc)
            return status_response(errors.bad_request(f"the request body could not be read: {reason}"))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except StorageError as exc:
            if self.store.failed:
                log.error("storage failed; cannot serve %s %s: %s", request.method, request.path, exc)
                return status_response(errors.internal("the server's storage failed; see the server log"))
            # not started yet, or closing: the server is stopping (clients retry, as they do against kube-apiserver)
            log.debug("not serving %s %s: %s", request.method, request.path, exc)
            return status_response(errors.StatusError(503, "ServiceUnavailable", "the server is shutting down"))
        except Exception:
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return status_response(errors.internal("an internal error occurred; see the server log"))

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        user = await self._authenticate(request)
        if path in _PUBLIC_PATHS:  # everyone's, as kube's system:public-info-viewer makes them
            if path == "/version":
                return json_response(KUBERNETES_VERSION)
            return web.Response(text="ok", content_type="text/plain")
        if user is None:
            raise errors.unauthorized()
        if wants_impersonation(request.headers):
            user = impersonate(request.headers, user, self.authorizer)
        parsed = parse_path(path)
        if not self._always_allow and MASTERS not in user.groups:
            attrs = resource_attributes(request.method, request.query, parsed) if isinstance(parsed, ResourcePath) \
                else non_resource_attributes(request.method, path)
            if not self.authorizer.authorize(user, attrs):
                raise forbidden(user, attrs)
        if path.startswith("/openapi/"):
            return self._openapi(request)
        if parsed is None:
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
        if isinstance(parsed, GroupPath):
            if request.method != "GET":
                raise errors.method_not_allowed(f"{request.method} is not allowed on {path}")
            return self._discovery(request, parsed)
        return await self._resource(request, parsed, user)

    async def _authenticate(self, request: web.BaseRequest) -> UserInfo | None:
        # A connection's certificate never changes, so its identity is worked out once per connection
        # and Authorization header (token hashing and certificate checks cost ~10% of a GET otherwise).
        connection = request.protocol
        authorization = request.headers.get("Authorization")
        cached = connection.identity if isinstance(connection, Connection) else None
        if cached is not None and cached[0] == authorization:
            return cached[1]
        transport = request.transport
        if self.authenticator.client_certificates is not None:
            ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            user = await self.authenticator.authenticate_der(der, authorization)
        else:  # the TLS handshake verified the certificate, if any
            peercert = transport.get_extra_info("peercert") if transport is not None else None
            user = await self.authenticator.authenticate(peercert, authorization)
        if user is not None and isinstance(connection, Connection):
            self.connections.authenticated(connection)
            # A bootstrap token stops working when its Secret is deleted or expires: never cache one's identity.
            if not is_bootstrap_user(user):
                connection.identity = (authorization, user)
        return user

    async def _resource(self, request: web.BaseRequest, path: ResourcePath,
                        user: UserInfo | None) -> web.StreamResponse:
        rtype = self.registry.get(path.group, path.version, path.resource)
        if rtype is None:
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
        if is_review(rtype):  # answered from the caller's identity, never stored
            return await serve_review(request, rtype, path.name, path.subresource, user, self.authorizer)
        return await self.handlers.handle(request, path, rtype, user)

    # ---- discovery and OpenAPI, cached until the served set changes -------------------------------
    def _cached(self, key: str, build: Callable[[], Any]) -> Any:
        hit = self._discovery_cache.get(key)
        if hit is not None and hit[0] == self.registry.generation:
            return hit[1]
        value = build()
        self._discovery_cache[key] = (self.registry.generation, value)
        return value

    def _discovery(self, request: web.BaseRequest, path: GroupPath) -> web.Response:
        types = self.registry.all()
        accept = request.headers.get("Accept", "")
        if path.group is None:
            if discovery.wants_aggregated(accept):
                body = self._cached(f"agg:{path.core}", lambda: discovery.aggregated(types, path.core))
                response = json_response(body)
                response.headers["Content-Type"] = discovery.AGGREGATED_CONTENT_TYPE
                return response
            if path.core:
                return json_response(discovery.core_versions())
            return json_response(self._cached("groups", lambda: discovery.group_list(types)))
        if path.version is None:
            groups = self._cached("groups", lambda: discovery.group_list(types))
            for group in groups.get("groups", []):
                if group.get("name") == path.group:
                    return json_response({"kind": "APIGroup", "apiVersion": "v1", **{
                        k: v for k, v in group.items() if k not in ("kind", "apiVersion")}})
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
        group_version = f"{path.group}/{path.version}" if path.group else path.version
        if not self.registry.group_version_served(path.group, path.version):
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
        return json_response(self._cached(f"rl:{group_version}",
                                          lambda: discovery.resource_list(types, group_version)))

    def _openapi(self, request: web.BaseRequest) -> web.Response:
        path = request.path
        if path.startswith("/openapi/v2"):
            if "protobuf" not in request.headers.get("Accept", ""):
                raise errors.StatusError(404, "NotFound", "the server serves OpenAPI v3 only (/openapi/v3)")
            # kubectl validates `kind: List` input against v2 schemas and fails on a 404; an empty document
            # (no definitions) lets it skip that and rely on the server's own field validation
            return web.Response(body=b"", headers={"Content-Type": _OPENAPI_V2_PROTOBUF})
        root, documents = self._cached("openapi", lambda: openapi.openapi_root(self.registry.all()))
        if path.rstrip("/") == "/openapi/v3":
            return json_response(root)
        key = path[len("/openapi/v3/"):]
        document = documents.get(key)
        if document is None:
            raise errors.StatusError(404, "NotFound", f"no OpenAPI document for {key}")
        return web.Response(body=document, headers={"Content-Type": "application/json",
                                                    "Cache-Control": "public, immutable"
                                                    if "hash" in request.query else "no-cache"})
