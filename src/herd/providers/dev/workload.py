"""The seam to the simulated workload clusters: their API servers (a Protocol the CLI implements) and clients.

The provider may not import herd.apiserver, so it asks for API servers through `WorkloadAPIServers`; herd's CLI
implements it with herd's own API server on the memory backend (`herd.cli.workload_servers`). Clients to a workload
cluster are ordinary `herd.runtime.Client`s: an admin client built from the `<cluster>-kubeconfig` Secret, or a
client carrying a bootstrap token, as `kubeadm join` would use.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import lightkube
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from herd.runtime import SECRET, Client, ConnectionPool

from .kinds import BOOTSTRAP_DATA_KEY, KUBECONFIG_SECRET_SUFFIX

log = logging.getLogger("herd.providers.dev")

FIELD_MANAGER = "herd-dev-provider"
_TIMEOUT = 10.0


@dataclass(frozen=True, repr=False)
class WorkloadPKI:
    """The PEMs a control plane machine's bootstrap data wrote: the cluster CA and, if present, the SA key pair
    and the etcd CA (without which the cluster's etcd members cannot be reached)."""

    ca_cert: bytes
    ca_key: bytes
    sa_key: bytes | None = None
    sa_pub: bytes | None = None
    etcd_ca_cert: bytes | None = None
    etcd_ca_key: bytes | None = None

    def __repr__(self) -> str:
        return "WorkloadPKI(…)"


class WorkloadAPIServers(Protocol):
    """Runs one simulated API server, and its stacked etcd, per workload cluster, keyed by `<namespace>/<cluster>`."""

    async def start(self, cluster_key: str, host: str, port: int, pki: WorkloadPKI) -> None:
        """Serve the cluster's API at host:port with a certificate from its CA; a no-op if already running."""

    async def stop(self, cluster_key: str, *, keep_data: bool = False) -> None:
        """Stop serving; `keep_data` keeps the cluster's objects for the next start (an outage, not a teardown)."""

    def is_running(self, cluster_key: str) -> bool:
        """Whether the cluster's API server is serving."""

    async def set_etcd_member(self, cluster_key: str, member_name: str, *, running: bool) -> None:
        """Add the member named `member_name` (a control plane Node's name) to the cluster's stacked etcd when it
        is not a member yet (the first one, as `kubeadm init` makes it, is the leader), and start or stop it.

        A running member answers etcd's API (mutual TLS with the etcd CA from the `start` PKI) at the workload API
        server's port-forward to `kube-system/etcd-<member_name>`:2379; a stopped one refuses connections and
        stays a member. The etcd goes with the cluster's data (`stop` without `keep_data`)."""


class KubeconfigError(ValueError):
    """The `<cluster>-kubeconfig` Secret cannot be used."""


def client_from_kubeconfig(kubeconfig: dict[str, Any], *, timeout: float = _TIMEOUT,
                           pool: ConnectionPool | None = None) -> Client:
    """A runtime Client for a kubeconfig given as a dict (inline `*-data` credentials); with `pool`, over its
    shared connections."""
    try:
        single = lightkube.KubeConfig.from_dict(kubeconfig).get()
    except Exception as exc:  # lightkube raises several types for malformed configs
        raise KubeconfigError(f"unusable kubeconfig: {type(exc).__name__}") from None
    return Client.from_config(single, field_manager=FIELD_MANAGER, timeout=timeout, pool=pool)


def token_client(server: str, token: str, *, ca_cert: bytes | None, timeout: float = _TIMEOUT,
                 pool: ConnectionPool | None = None) -> Client:
    """A client authenticating with a bearer token; without `ca_cert` the server's certificate is not verified
    (kubeadm's discovery step, which then checks the CA it finds against the pinned hashes).

    Joining nodes pass the provider's `pool`: a thousand simulated machines joining one cluster then share a few
    connections (each verified against the CA it was opened with) instead of each paying two TLS handshakes in
    this process, while the server still authenticates every request by its own token."""
    cluster: dict[str, Any] = {"server": server}
    if ca_cert is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_cert).decode("ascii")
    else:
        cluster["insecure-skip-tls-verify"] = True
    return client_from_kubeconfig({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "workload", "cluster": cluster}],
        "users": [{"name": "bootstrap", "user": {"token": token}}],
        "contexts": [{"name": "bootstrap", "context": {"cluster": "workload", "user": "bootstrap"}}],
        "current-context": "bootstrap"}, timeout=timeout, pool=pool)


def ca_cert_hash(ca_cert_pem: bytes) -> str:
    """kubeadm's CA pin: "sha256:" + hex SHA-256 of the certificate's DER SubjectPublicKeyInfo."""
    cert = x509.load_pem_x509_certificate(ca_cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


class WorkloadClients:
    """Admin clients to workload clusters, one per cluster, built from the `<cluster>-kubeconfig` Secret.

    The Secret is read on first use and again after `invalidate` (e.g. the API answered 401), not per call:
    thousands of simulated kubelets share one client per cluster.
    """

    def __init__(self, management: Client) -> None:
        self.management = management
        self.joins = ConnectionPool()  # for the bootstrap-token clients of joining nodes (see token_client)
        self._clients: dict[str, Client] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, namespace: str, cluster_name: str) -> Client:
        """The admin client; raises NotFound while the Secret does not exist, KubeconfigError if it is unusable."""
        key = f"{namespace}/{cluster_name}"
        found = self._clients.get(key)
        if found is not None:
            return found
        async with self._locks.setdefault(key, asyncio.Lock()):
            found = self._clients.get(key)
            if found is None:
                secret = await self.management.get(SECRET, cluster_name + KUBECONFIG_SECRET_SUFFIX, namespace)
                found = self._clients[key] = client_from_kubeconfig(parse_kubeconfig_secret(secret))
            return found

    async def invalidate(self, namespace: str, cluster_name: str) -> None:
        """Forget (and close) the cluster's client: the next `get` reads the Secret again."""
        client = self._clients.pop(f"{namespace}/{cluster_name}", None)
        if client is not None:
            await _close_quietly(client)

    async def close(self) -> None:
        """Close every client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await _close_quietly(client)
        await self.joins.close()


def parse_kubeconfig_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """The kubeconfig in a `<cluster>-kubeconfig` Secret (key `value`, as Cluster API writes it)."""
    encoded = (secret.get("data") or {}).get(BOOTSTRAP_DATA_KEY)
    if not encoded:
        raise KubeconfigError("the kubeconfig Secret has no `value` key")
    try:
        kubeconfig = yaml.safe_load(base64.b64decode(encoded))
    except (ValueError, yaml.YAMLError):
        raise KubeconfigError("the kubeconfig Secret's `value` is not a YAML kubeconfig") from None
    if not isinstance(kubeconfig, dict):
        raise KubeconfigError("the kubeconfig Secret's `value` is not a YAML kubeconfig")
    return kubeconfig


async def _close_quietly(client: Client) -> None:
    try:
        await client.close()
    except Exception as exc:  # closing a client to a server that is gone may fail; nothing to do about it
        log.debug("closing a workload client failed: %s", exc)


__all__ = ["KubeconfigError", "WorkloadAPIServers", "WorkloadClients", "WorkloadPKI", "ca_cert_hash",
           "client_from_kubeconfig", "token_client"]
