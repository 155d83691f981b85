"""The DevCluster controller (inMemory backend): allocate the simulated control plane endpoint, report the
cluster infrastructure provisioned with the failure domains of `spec.backend.inMemory.failureDomains` in
`status.failureDomains` (for the Cluster to copy); on deletion stop the cluster's workload API server.

The endpoint is a free port on 127.0.0.1, written once into `spec.controlPlaneEndpoint`: the API server is
started there later, by the first control plane machine that boots (DESIGN §7).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import pydantic

from herd.api.cluster import CLUSTER
from herd.api.infrastructure import DEV_CLUSTER, DevCluster
from herd.api.infrastructure.devcluster import CLUSTER_FINALIZER, LISTENER_ANNOTATION, InMemoryClusterBackendSpec
from herd.contract.objects import owner_cluster_name
from herd.providersdk.contract import set_endpoint
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Controller, Object, ObjectKey
from herd.runtime.finalizers import remove_finalizer

from .kinds import MACHINE_ADDRESS, cluster_key, name_of, namespace_of, refers_to
from .scope import DevReconciler, Services
from .status import set_devcluster_deleting, set_devcluster_provisioned, set_failure_domains

log = logging.getLogger("herd.providers.dev")


def free_port(host: str = MACHINE_ADDRESS) -> int:
    """A port nobody listens on right now (the kernel's pick for an ephemeral bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def in_memory_backend(devcluster: Object) -> InMemoryClusterBackendSpec | None:
    """The DevCluster's inMemory settings; None with another backend (the docker backend belongs to someone else)
    or an unreadable object."""
    try:
        return DevCluster.from_dict(devcluster).spec.backend.in_memory
    except pydantic.ValidationError:
        return None


def is_in_memory(devcluster: Object) -> bool:
    """Whether the DevCluster uses the inMemory backend."""
    return in_memory_backend(devcluster) is not None


@dataclass
class DevClusterScope:
    """One DevCluster's reconcile: the DevCluster (patched once) and its Cluster (None while it is deleted)."""

    devcluster: Object
    cluster: Object | None


class DevClusterReconciler(DevReconciler[DevClusterScope]):
    """Provides each inMemory DevCluster's simulated endpoint; its owner Cluster is waited for by its event."""

    kind = DEV_CLUSTER
    finalizer = CLUSTER_FINALIZER

    def handles(self, obj: Object) -> bool:
        return is_in_memory(obj)

    async def load_scope(self, obj: Object, cluster: Object | None) -> DevClusterScope:
        return DevClusterScope(obj, cluster)

    async def reconcile_normal(self, scope: DevClusterScope) -> None:
        devcluster, cluster = scope.devcluster, scope.cluster
        assert cluster is not None, "the skeleton waits for the Cluster of a DevCluster that is not deleted"
        host, port = _endpoint(devcluster)
        devcluster["metadata"].setdefault("annotations", {})[LISTENER_ANNOTATION] = cluster_key(
            namespace_of(devcluster), name_of(cluster))
        backend = in_memory_backend(devcluster)
        set_failure_domains(devcluster, backend.failure_domains if backend is not None else None)
        set_devcluster_provisioned(devcluster, f"{host}:{port}")

    async def reconcile_delete(self, scope: DevClusterScope) -> None:
        devcluster = scope.devcluster
        set_devcluster_deleting(devcluster)
        cluster_name = owner_cluster_name(devcluster)
        if cluster_name:
            key = cluster_key(namespace_of(devcluster), cluster_name)
            await self.services.kubelets.stop_cluster(key)
            await self.services.servers.stop(key)
            await self.services.clients.invalidate(namespace_of(devcluster), cluster_name)
            log.info("workload API server of %s stopped: its DevCluster is deleted", key)
        remove_finalizer(devcluster, CLUSTER_FINALIZER)


def _endpoint(devcluster: Object) -> tuple[str, int]:
    """The control plane endpoint, allocated on first use and then kept in the spec."""
    endpoint = devcluster.setdefault("spec", {}).get("controlPlaneEndpoint") or {}
    if endpoint.get("host") and endpoint.get("port"):
        return str(endpoint["host"]), int(endpoint["port"])
    host = str(endpoint.get("host") or MACHINE_ADDRESS)
    port = int(endpoint.get("port") or free_port())
    set_endpoint(devcluster, host, port)
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
