"""The cluster's admin kubeconfig (`<cluster>-kubeconfig`, key `value`) and clients to workload clusters built
from it.

The kubeconfig authenticates with a client certificate (CN `kubernetes-admin`, O `system:masters`) signed by
the cluster CA, and trusts the cluster CA; its names follow upstream (`<cluster>-admin@<cluster>`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from herd.runtime import SECRET, AlreadyExists, Client, NotFound, Object

from .certificates import KeyPair, b64, cluster_secret, new_client_cert, secret_data, secret_name

KUBECONFIG_PURPOSE = "kubeconfig"
KUBECONFIG_KEY = "value"
ADMIN_COMMON_NAME = "kubernetes-admin"
ADMIN_ORGANIZATION = "system:masters"

WorkloadClients = Callable[[Object], Awaitable[Client]]
"""Gives a client to a Cluster's workload API server (the caller must not close it)."""


class KubeconfigError(Exception):
    """A kubeconfig Secret that cannot be used."""


DEFAULT_API_SERVER_PORT = 6443


def endpoint_string(host: str, port: int | None) -> str:
    """host:port, with IPv6 hosts in brackets, as Cluster API's APIEndpoint.String()."""
    host_part = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{host_part}:{port or DEFAULT_API_SERVER_PORT}"


def server_url(host: str, port: int | None) -> str:
    """The API server URL for a control plane endpoint."""
    return f"https://{endpoint_string(host, port)}"


def admin_kubeconfig(cluster_name: str, server: str, ca: KeyPair, *, algorithm: str | None = None) -> str:
    """A kubeconfig (YAML) for `server` with a new admin client certificate signed by the cluster CA."""
    client = new_client_cert(ca, ADMIN_COMMON_NAME, (ADMIN_ORGANIZATION,), algorithm=algorithm)
    user = f"{cluster_name}-admin"
    context = f"{user}@{cluster_name}"
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": b64(ca.cert)}}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": context,
        "users": [{"name": user, "user": {"client-certificate-data": b64(client.cert),
                                          "client-key-data": b64(client.key)}}],
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


async def ensure_kubeconfig_secret(client: Client, cluster: Object, ca: KeyPair, *,
                                   algorithm: str | None = None, owner: Object | None = None) -> bool:
    """Create `<cluster>-kubeconfig` unless it exists; returns whether it was created.

    Requires `spec.controlPlaneEndpoint` on the Cluster (the caller checks).
    """
    meta = cluster["metadata"]
    name = secret_name(meta["name"], KUBECONFIG_PURPOSE)
    with contextlib.suppress(NotFound):
        await client.get(SECRET, name, meta["namespace"])
        return False
    endpoint = cluster["spec"]["controlPlaneEndpoint"]
    kubeconfig = admin_kubeconfig(meta["name"], server_url(endpoint["host"], endpoint.get("port")), ca,
                                  algorithm=algorithm)
    try:
        await client.create(cluster_secret(cluster, name, {KUBECONFIG_KEY: kubeconfig}, owner=owner), kind=SECRET)
    except AlreadyExists:  # another controller made it first: theirs is as good
        return False
    return True


def client_from_kubeconfig(kubeconfig: bytes) -> Client:
    """A runtime Client from kubeconfig bytes.

    The runtime reads kubeconfigs from files: the data goes to a private temporary file (0600, in a 0700
    directory) that is removed as soon as the client has loaded it.
    """
    with tempfile.TemporaryDirectory(prefix="herd-kubeconfig-") as directory:
        path = Path(directory) / "kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(kubeconfig)
        return Client.from_kubeconfig(path, field_manager="herd-kubeadm-bootstrap")


class KubeconfigWorkloadClients:
    """WorkloadClients from `<cluster>-kubeconfig` Secrets, one client per cluster, rebuilt when the Secret changes."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._clients: dict[tuple[str, str], tuple[str, Client]] = {}

    async def __call__(self, cluster: Object) -> Client:
        meta = cluster["metadata"]
        secret = await self.client.get(SECRET, secret_name(meta["name"], KUBECONFIG_PURPOSE), meta["namespace"])
        data = secret_data(secret, KUBECONFIG_KEY)
        if not data:
            raise KubeconfigError(f"secret {secret_name(meta['name'], KUBECONFIG_PURPOSE)} has no {KUBECONFIG_KEY}")
        digest = hashlib.sha256(data).hexdigest()
        key = (meta["namespace"], meta["name"])
        cached = self._clients.get(key)
        if cached is not None and cached[0] == digest:
            return cached[1]
        workload = client_from_kubeconfig(data)
        self._clients[key] = (digest, workload)
        if cached is not None:
            await cached[1].close()
        return workload

    async def close(self) -> None:
        """Close every workload client."""
        clients, self._clients = self._clients, {}
        for _, workload in clients.values():
            await workload.close()


def discovery_kubeconfig(file_kubeconfig: dict[str, Any]) -> str:
    """The kubeconfig (YAML) a joining node discovers the cluster with, from discovery.file.kubeConfig.

    `cluster.server` and `cluster.certificateAuthorityData` are expected filled in already.
    """
    spec_cluster = file_kubeconfig.get("cluster") or {}
    cluster: dict[str, Any] = {}
    for source, target in (("server", "server"), ("tlsServerName", "tls-server-name"),
                           ("insecureSkipTLSVerify", "insecure-skip-tls-verify"),
                           ("certificateAuthorityData", "certificate-authority-data"), ("proxyURL", "proxy-url")):
        if spec_cluster.get(source) is not None:
            cluster[target] = spec_cluster[source]
    spec_user = file_kubeconfig.get("user") or {}
    user: dict[str, Any] = {}
    if spec_user.get("authProvider"):
        provider = spec_user["authProvider"]
        user["auth-provider"] = {"name": provider["name"], "config": provider.get("config") or {}}
    if spec_user.get("exec"):
        spec_exec = spec_user["exec"]
        user["exec"] = {key: value for key, value in {
            "command": spec_exec["command"], "args": spec_exec.get("args"), "env": spec_exec.get("env"),
            "apiVersion": spec_exec.get("apiVersion"), "provideClusterInfo": spec_exec.get("provideClusterInfo"),
            "interactiveMode": "Never"}.items() if value is not None}
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "default",
              "clusters": [{"name": "default", "cluster": cluster}],
              "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
              "users": [{"name": "default", "user": user}], "preferences": {}}
    return yaml.safe_dump(config, sort_keys=False)


def discovery_kubeconfig_file(file_discovery: dict[str, Any]) -> dict[str, Any]:
    """The write_files entry for a generated discovery kubeconfig (root:root 0640, at kubeConfigPath)."""
    return {"path": file_discovery["kubeConfigPath"], "owner": "root:root", "permissions": "0640",
            "content": discovery_kubeconfig(file_discovery.get("kubeConfig") or {})}
