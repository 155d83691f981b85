"""The DevCluster controller (inMemory backend): allocate the simulated control plane endpoint, report the
cluster infrastructure provisioned; on deletion stop the cluster's workload API server.

The endpoint is a free port on 127.0.0.1, written once into `spec.controlPlaneEndpoint`: the API server is
started there later, by the first control plane machine that boots (DESIGN §7).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

import pydantic

from herd.api.infrastructure import DevCluster
from herd.api.infrastructure.devcluster import CLUSTER_FINALIZER, LISTENER_ANNOTATION
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Controller, Object, ObjectKey, Result, patch_helper

from .kinds import (
    CLUSTER,
    DEV_CLUSTER,
    MACHINE_ADDRESS,
    add_finalizer,
    cluster_key,
    is_deleting,
    is_paused,
    name_of,
    namespace_of,
    owner_cluster_name,
    refers_to,
    remove_finalizer,
)
from .scope import Services
from .status import set_devcluster_deleting, set_devcluster_provisioned, set_paused

log = logging.getLogger("herd.providers.dev")


def free_port(host: str = MACHINE_ADDRESS) -> int:
    """A port nobody listens on right now (the kernel's pick for an ephemeral bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_in_memory(devcluster: Object) -> bool:
    """Whether the DevCluster uses the inMemory backend (the docker backend belongs to someone else)."""
    try:
        return DevCluster.from_dict(devcluster).spec.backend.in_memory is not None
    except pydantic.ValidationError:
        return False


class DevClusterReconciler:
    """Provides each inMemory DevCluster's simulated endpoint."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        cache = self.services.cache
        devcluster = cache.get(DEV_CLUSTER, key.namespace, key.name)
        if devcluster is None or not is_in_memory(devcluster):
            return Result()
        cluster_name = owner_cluster_name(devcluster)
        cluster = cache.get(CLUSTER, key.namespace, cluster_name) if cluster_name else None
        async with patch_helper(self.services.client, devcluster, kind=DEV_CLUSTER,
                                observed_generation=False) as obj:
            if is_deleting(obj):
                await self._delete(obj, cluster_name)
                return Result()
            if cluster is None:
                return Result()  # waiting for the Cluster controller to set the owner reference
            paused = is_paused(cluster, obj)
            set_paused(obj, paused)
            if paused:
                return Result()
            add_finalizer(obj, CLUSTER_FINALIZER)
            host, port = _endpoint(obj)
            obj["metadata"].setdefault("annotations", {})[LISTENER_ANNOTATION] = cluster_key(key.namespace,
                                                                                             name_of(cluster))
            set_devcluster_provisioned(obj, f"{host}:{port}")
        return Result()

    async def _delete(self, devcluster: Object, cluster_name: str | None) -> None:
        set_devcluster_deleting(devcluster)
        if cluster_name:
            key = cluster_key(namespace_of(devcluster), cluster_name)
            await self.services.kubelets.stop_cluster(key)
            await self.services.servers.stop(key)
            await self.services.clients.invalidate(namespace_of(devcluster), cluster_name)
            log.info("workload API server of %s stopped: its DevCluster is deleted", key)
        remove_finalizer(devcluster, CLUSTER_FINALIZER)


def _endpoint(devcluster: Object) -> tuple[str, int]:
    """The control plane endpoint, allocated on first use and then kept in the spec."""
    spec = devcluster.setdefault("spec", {})
    endpoint = spec.get("controlPlaneEndpoint") or {}
    if endpoint.get("host") and endpoint.get("port"):
        return str(endpoint["host"]), int(endpoint["port"])
    host = str(endpoint.get("host") or MACHINE_ADDRESS)
    port = int(endpoint.get("port") or free_port())
    spec["controlPlaneEndpoint"] = {"host": host, "port": port}
    return host, port


def build(services: Services) -> Controller:
    """The DevCluster controller."""

    def for_cluster(cluster: Object) -> Iterable[ObjectKey]:
        name = refers_to(cluster, "infrastructureRef", DEV_CLUSTER)
        return [ObjectKey(namespace_of(cluster), name)] if name else []

    return (Controller.builder("devcluster")
            .for_(DEV_CLUSTER, NOT_ONLY_STATUS_CHANGED)
            .watches(CLUSTER, for_cluster)
            .build(DevClusterReconciler(services)))
