"""The cluster cache: clients to workload clusters, built from their `<cluster>-kubeconfig` Secrets.

    cluster_cache = ClusterCache(management_client)
    node = await cluster_cache.get_node_by_provider_id(ObjectKey("default", "c1"), "dev://c1/m1")
    state = await cluster_cache.probe(ObjectKey("default", "c1"))

One connection per Cluster, rebuilt when the Secret's resourceVersion changes and closed by
`disconnect` when the Cluster goes. Each connection keeps an informer of the workload cluster's Nodes
(indexed by `spec.providerID`), so Machines find their Node without a request per reconcile, and
listeners hear of Node changes. Pods and evictions go straight to the workload API server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from .client import Client
from .errors import ApiError, ClientError, NotFound, Unreachable
from .informer import Backoff, FuncHandler, Informer
from .objects import NODE, SECRET, Kind, Object, ObjectKey, deep_copy

log = logging.getLogger("herd.runtime.clustercache")

POD = Kind("v1", "Pod", "pods")
KUBECONFIG_SECRET_KEY = "value"
PROVIDER_ID_INDEX = "spec.providerID"
NodeListener = Callable[[ObjectKey, Object], None]
"""Told (cluster key, Node) on every Node add, update and delete in a workload cluster; must not block."""


class ClusterNotConnected(Unreachable):
    """No client can be built for the workload cluster (no kubeconfig Secret yet, or a bad one)."""


@dataclass
class HealthState:
    """What the health probes (GET /version) of one workload cluster found so far."""

    last_probe_time: datetime | None = None
    last_probe_success_time: datetime | None = None
    consecutive_failures: int = 0
    last_error: str = ""


@dataclass
class _Connection:
    secret_version: str
    client: Client
    nodes: Informer
    checked_at: float = field(default_factory=time.monotonic)


def kubeconfig_secret_name(cluster_name: str) -> str:
    """The name of the Secret holding a workload cluster's admin kubeconfig."""
    return f"{cluster_name}-kubeconfig"


def _provider_id(node: Object) -> list[str]:
    value = (node.get("spec") or {}).get("providerID")
    return [str(value)] if value else []


class ClusterCache:
    """Clients, Node informers and health state for every workload cluster a manager talks to."""

    def __init__(self, client: Client, *, request_timeout: float = 10.0, probe_timeout: float = 5.0,
                 secret_recheck_seconds: float = 10.0, node_sync_timeout: float = 5.0) -> None:
        self.client = client
        self.request_timeout = request_timeout
        self.probe_timeout = probe_timeout
        self.secret_recheck_seconds = secret_recheck_seconds
        self.node_sync_timeout = node_sync_timeout
        self._connections: dict[ObjectKey, _Connection] = {}
        self._health: dict[ObjectKey, HealthState] = {}
        self._locks: dict[ObjectKey, asyncio.Lock] = {}
        self._listeners: list[NodeListener] = []

    # ----- connections -----

    def add_node_listener(self, listener: NodeListener) -> None:
        """Hear of Node changes in every workload cluster connected now or later."""
        self._listeners.append(listener)

    async def get_client(self, cluster: ObjectKey) -> Client:
        """A client for the workload cluster; raises ClusterNotConnected without a usable kubeconfig Secret."""
        conn = self._connections.get(cluster)
        if conn is not None and time.monotonic() - conn.checked_at < self.secret_recheck_seconds:
            return conn.client
        async with self._locks.setdefault(cluster, asyncio.Lock()):
            return (await self._connect(cluster)).client

    async def _connect(self, cluster: ObjectKey) -> _Connection:
        try:
            secret = await self.client.get(SECRET, kubeconfig_secret_name(cluster.name), cluster.namespace)
        except NotFound as exc:
            await self._drop(cluster)
            raise ClusterNotConnected(f"Secret {kubeconfig_secret_name(cluster.name)} not found") from exc
        version = str(secret["metadata"].get("resourceVersion", ""))
        conn = self._connections.get(cluster)
        if conn is not None and conn.secret_version == version:
            conn.checked_at = time.monotonic()
            return conn
        await self._drop(cluster)  # the kubeconfig changed (new CA, new endpoint): start over
        client = self._workload_client(secret)
        nodes = Informer(client, NODE, backoff=Backoff(maximum=10.0))
        nodes.add_index(PROVIDER_ID_INDEX, _provider_id)
        nodes.add_handler(FuncHandler(add=lambda n: self._notify(cluster, n),
                                      update=lambda _, n: self._notify(cluster, n),
                                      delete=lambda n: self._notify(cluster, n)))
        nodes.start()
        conn = self._connections[cluster] = _Connection(version, client, nodes)
        log.info("connected to workload cluster %s at %s", cluster, client.server)
        return conn

    def _workload_client(self, secret: Object) -> Client:
        try:
            raw = base64.b64decode((secret.get("data") or {})[KUBECONFIG_SECRET_KEY])
            return Client.from_kubeconfig_dict(yaml.safe_load(raw), timeout=self.request_timeout)
        except Exception as exc:  # any malformed kubeconfig is one failure to report, not a crash
            raise ClusterNotConnected(f"invalid kubeconfig in Secret {secret['metadata']['name']}: {exc}") from exc

    def _notify(self, cluster: ObjectKey, node: Object) -> None:
        for listener in self._listeners:
            listener(cluster, node)

    async def _drop(self, cluster: ObjectKey) -> None:
        conn = self._connections.pop(cluster, None)
        if conn is not None:
            await conn.nodes.stop()
            with contextlib.suppress(Exception):
                await conn.client.close()

    async def disconnect(self, cluster: ObjectKey) -> None:
        """Close the connection and forget the health state of a cluster that is gone."""
        async with self._locks.setdefault(cluster, asyncio.Lock()):
            await self._drop(cluster)
        self._health.pop(cluster, None)
        self._locks.pop(cluster, None)

    async def close(self) -> None:
        """Close every connection."""
        for cluster in list(self._connections):
            await self.disconnect(cluster)

    @property
    def connected(self) -> list[ObjectKey]:
        """The clusters with an open connection."""
        return list(self._connections)

    # ----- health -----

    def health(self, cluster: ObjectKey) -> HealthState:
        """The probe results so far (all empty before the first probe)."""
        return self._health.get(cluster) or HealthState()

    async def probe(self, cluster: ObjectKey) -> HealthState:
        """GET /version on the workload API server; records and returns the updated health state."""
        state = self._health.setdefault(cluster, HealthState())
        state.last_probe_time = datetime.now(UTC)
        try:
            client = await self.get_client(cluster)
            async with asyncio.timeout(self.probe_timeout):
                response = await client.transport.request("GET", "/version")
            if response.status != 200:
                raise Unreachable(f"GET /version answered {response.status}")
        except (ClientError, TimeoutError, KeyError) as exc:
            state.consecutive_failures += 1
            state.last_error = str(exc) or type(exc).__name__
            return state
        state.consecutive_failures = 0
        state.last_error = ""
        state.last_probe_success_time = state.last_probe_time
        return state

    # ----- nodes -----

    async def _synced_nodes(self, cluster: ObjectKey) -> Informer:
        await self.get_client(cluster)
        conn = self._connections.get(cluster)
        if conn is not None and (conn.nodes.has_synced or await conn.nodes.wait_for_sync(self.node_sync_timeout)):
            return conn.nodes
        # bounded wait: a reconcile must not hang on a workload cluster that is away
        raise Unreachable(f"the Nodes of workload cluster {cluster} could not be listed yet")

    async def get_node_by_provider_id(self, cluster: ObjectKey, provider_id: str) -> Object | None:
        """The Node whose spec.providerID matches, or None; raises Unreachable when the cluster cannot be read."""
        found = (await self._synced_nodes(cluster)).store.by_index(PROVIDER_ID_INDEX, provider_id)
        return deep_copy(found[0]) if found else None

    async def get_node(self, cluster: ObjectKey, name: str, *, copy: bool = True) -> Object | None:
        """The Node by name, or None; read from the cluster's Node informer (raises Unreachable as above).
        `copy=False` returns the informer's own object, for callers that only read it."""
        found = (await self._synced_nodes(cluster)).store.get(ObjectKey("", name))
        return deep_copy(found) if found is not None and copy else found

    async def list_nodes(self, cluster: ObjectKey) -> list[Object]:
        """Every Node of the workload cluster, read from its API server."""
        client = await self.get_client(cluster)
        return (await client.list(NODE)).items

    async def patch_node(self, cluster: ObjectKey, name: str, patch: dict[str, Any]) -> Object:
        """Merge-patch a Node (labels, annotations, taints, spec.unschedulable)."""
        client = await self.get_client(cluster)
        return await client.patch(NODE, name, patch)

    async def delete_node(self, cluster: ObjectKey, name: str) -> None:
        """Delete a Node; a Node already gone is fine."""
        client = await self.get_client(cluster)
        with contextlib.suppress(NotFound):
            await client.delete(NODE, name)

    # ----- pods -----

    async def list_pods_on_node(self, cluster: ObjectKey, node_name: str) -> list[Object]:
        """The Pods bound to a Node (every namespace)."""
        client = await self.get_client(cluster)
        try:
            return (await client.list(POD, field_selector=f"spec.nodeName={node_name}")).items
        except NotFound:  # a workload API server that serves no Pods has none to drain
            return []

    async def evict_pod(self, cluster: ObjectKey, namespace: str, name: str) -> None:
        """Ask for a Pod's eviction (policy/v1 Eviction); raises TooManyRequests when a disruption budget refuses.

        A server that serves no eviction subresource gets a plain delete instead, as `kubectl drain
        --disable-eviction` would do.
        """
        client = await self.get_client(cluster)
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        try:
            await client.create_subresource(POD, name, namespace, "eviction", eviction)
        except ApiError as exc:
            if exc.code not in (404, 405):
                raise
            try:
                await client.get(POD, name, namespace)
            except NotFound:
                return  # the Pod is gone already
            with contextlib.suppress(NotFound):
                await client.delete(POD, name, namespace)
