"""The simulated workload clusters' stacked etcd, and how their API servers reach pods by port-forward.

Each cluster has one `SimulatedEtcd` (members named after control plane Nodes) and, for each running member, an
HTTPS server speaking etcd's v3 JSON gateway with client certificates from the cluster's etcd CA. A workload API
server has no kubelets to forward pod ports to; its `PodDialer` connects
`kube-system/etcd-<node>`:2379 to that member's server (refused while the member is stopped) and
`kube-system/kube-apiserver-<node>`:6443 to the API server itself, so its serving certificate can be read as
through a real control plane Node's pod.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from herd.providers.dev.etcdsim import MemberServer, SimulatedEtcd, serve_member

log = logging.getLogger("herd.workload")

SYSTEM_NAMESPACE = "kube-system"
ETCD_CLIENT_PORT = 2379
API_SERVER_PORT = 6443
ETCD_POD_PREFIX = "etcd-"
API_SERVER_POD_PREFIX = "kube-apiserver-"
_LOOPBACK = "127.0.0.1"

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
PodDialer = Callable[[str, str, int], Awaitable[Streams]]


class ClusterEtcd:
    """One workload cluster's etcd: the simulated members and a server per running member.

    Members are served only once the etcd CA is known (it arrives with the API server's PKI): until then they
    are members that answer nothing."""

    def __init__(self, cluster_key: str) -> None:
        self.cluster_key = cluster_key
        self.etcd = SimulatedEtcd(cluster_key)
        self._ca: tuple[bytes, bytes] | None = None
        self._running: dict[str, bool] = {}  # member name → whether its machine runs it
        self._servers: dict[str, MemberServer] = {}
        self._lock = asyncio.Lock()

    def knows(self, name: str) -> bool:
        """Whether `name` was ever added as a member (a control plane Node of this cluster)."""
        return name in self._running

    async def set_member(self, name: str, *, running: bool) -> None:
        """Add the member when unknown (the first becomes leader), then start or stop it. A member removed from
        etcd (by the control plane provider) stays removed: its machine's etcd cannot rejoin by restarting."""
        async with self._lock:
            if name not in self._running:
                self.etcd.add_member(name, running=running)
                log.info("workload cluster %s: etcd member %s added", self.cluster_key, name)
            elif self.etcd.member(name) is not None:
                self.etcd.set_running(name, running)
            self._running[name] = running
            await self._serve_as_wanted(name)

    async def set_ca(self, ca_cert: bytes, ca_key: bytes) -> None:
        """The etcd CA from the bootstrap data; members that should run start answering."""
        async with self._lock:
            if self._ca == (ca_cert, ca_key):
                return
            self._ca = (ca_cert, ca_key)
            for name in list(self._servers):
                await self._servers.pop(name).close()
            for name in self._running:
                await self._serve_as_wanted(name)

    async def dial(self, name: str) -> Streams:
        """A connection to the member's client port; ConnectionRefusedError while it does not answer."""
        server = self._servers.get(name)
        if server is None:
            raise ConnectionRefusedError(f"etcd member {name} is not running")
        return await asyncio.open_connection(_LOOPBACK, server.port)

    async def close(self) -> None:
        async with self._lock:
            for name in list(self._servers):
                await self._servers.pop(name).close()

    async def _serve_as_wanted(self, name: str) -> None:
        server = self._servers.get(name)
        if self._running.get(name) and self._ca is not None and self.etcd.member(name) is not None:
            if server is None:
                self._servers[name] = await serve_member(self.etcd, name, *self._ca)
        elif server is not None:
            del self._servers[name]
            await server.close()


def pod_dialer(etcd: ClusterEtcd, api_host: str, api_port: int) -> PodDialer:
    """The workload API server's way to a pod's port: etcd members and the API server itself, nothing else."""

    async def dial(namespace: str, pod: str, port: int) -> Streams:
        if namespace == SYSTEM_NAMESPACE:
            node = pod.removeprefix(ETCD_POD_PREFIX)
            if pod.startswith(ETCD_POD_PREFIX) and port == ETCD_CLIENT_PORT and etcd.knows(node):
                return await etcd.dial(node)
            node = pod.removeprefix(API_SERVER_POD_PREFIX)
            if pod.startswith(API_SERVER_POD_PREFIX) and port == API_SERVER_PORT and etcd.knows(node):
                return await asyncio.open_connection(api_host, api_port)
        raise ConnectionRefusedError(f"nothing listens on port {port} of pod {namespace}/{pod}")

    return dial
