"""What a provider's functions are handed: one object's reconcile, with the objects around it already read.

`ctx.object` is the live object as a dict, changed in place and written back once at the end of the reconcile (one
patch of metadata and spec, one of status). `ctx.spec` is its spec parsed into the provider's model (read it;
to record something in the spec, write `ctx.object["spec"]`), `ctx.status` its status parsed into the provider's
model (change it freely: it is written back, except for the contract's fields the SDK keeps: conditions,
initialization, addresses, failureDomains).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from herd.api.base import APIModel
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.objects import nested
from herd.contract.objects import is_control_plane_machine
from herd.runtime import SECRET, Cache, Client, EventRecorder, Kind, NotFound, Object, ObjectKey, conditions
from herd.runtime.clustercache import ClusterCache

SpecT = TypeVar("SpecT", bound=APIModel)
StatusT = TypeVar("StatusT", bound=APIModel)

BOOTSTRAP_DATA_KEY = "value"  # the data Secret's key holding the user data, as the contract names it
BOOTSTRAP_FORMAT_KEY = "format"  # cloud-config (default) or ignition


class BootstrapDataError(Exception):
    """The Machine's bootstrap data Secret cannot be read: `missing` (not there, yet or any more), or without a
    `value`."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


async def read_bootstrap_data(client: Client, namespace: str, secret_name: str) -> tuple[bytes, str]:
    """The user data in a bootstrap data Secret and its format (`cloud-config` or `ignition`); BootstrapDataError
    when the Secret is missing or has no `value`."""
    try:
        secret = await client.get(SECRET, secret_name, namespace)
    except NotFound:
        raise BootstrapDataError(f"the bootstrap data Secret {secret_name} does not exist", missing=True) from None
    data = secret.get("data") or {}
    if not data.get(BOOTSTRAP_DATA_KEY):
        raise BootstrapDataError(f"the bootstrap data Secret {secret_name} has no `{BOOTSTRAP_DATA_KEY}` key")
    fmt = base64.b64decode(data[BOOTSTRAP_FORMAT_KEY]).decode() if data.get(BOOTSTRAP_FORMAT_KEY) else "cloud-config"
    return base64.b64decode(data[BOOTSTRAP_DATA_KEY]), fmt


@dataclass
class ObjectContext(Generic[SpecT, StatusT]):
    """What every reconcile of an infrastructure object gets; see the module's docstring."""

    object: Object
    spec: SpecT
    status: StatusT
    cluster: Object | None  # the owner Cluster (read only); None only while deleting, when it is already gone
    kind: Kind
    client: Client
    cache: Cache
    events: EventRecorder
    services: Any = None  # what the provider was given at construction (e.g. its cloud's client factory)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("herd.providers"))
    cluster_cache: ClusterCache | None = None

    @property
    def name(self) -> str:
        return str(nested(self.object, "metadata", "name") or "")

    @property
    def namespace(self) -> str:
        return str(nested(self.object, "metadata", "namespace") or "")

    @property
    def cluster_name(self) -> str:
        """The name of the owner Cluster (from the Cluster, or the object's cluster-name label once it is gone)."""
        if self.cluster is not None:
            return str(nested(self.cluster, "metadata", "name") or "")
        return str((nested(self.object, "metadata", "labels") or {}).get(CLUSTER_NAME_LABEL) or "")

    @property
    def deleting(self) -> bool:
        return bool(nested(self.object, "metadata", "deletionTimestamp"))

    async def workload_client(self) -> Client:
        """A client to the workload cluster, from its `<cluster>-kubeconfig` Secret (shared, cached; do not close it).
        Raises `herd.runtime.clustercache.ClusterNotConnected` while there is no usable kubeconfig."""
        if self.cluster_cache is None:
            raise RuntimeError("this context has no cluster cache")
        return await self.cluster_cache.get_client(ObjectKey(self.namespace, self.cluster_name))

    def set_condition(self, condition_type: str, status: bool | str, reason: str, message: str = "") -> None:
        """Set one of the provider's own conditions (e.g. VpcReady); `Ready` summarizes them with `Provisioned`.
        `status` is True, False or "Unknown"."""
        conditions.set_condition(self.object, condition_type, status, reason, message)

    async def event(self, reason: str, message: str) -> None:
        """Record a Normal Event on the object (never fails the reconcile)."""
        await self.events.normal(self.object, reason, message)

    async def warning(self, reason: str, message: str) -> None:
        """Record a Warning Event on the object (never fails the reconcile)."""
        await self.events.warning(self.object, reason, message)


@dataclass
class ClusterContext(ObjectContext[SpecT, StatusT]):
    """One reconcile of an infrastructure cluster (e.g. an AWSCluster)."""

    machine_kind: Kind | None = None

    def machines(self) -> list[Object]:
        """The provider's machines of this cluster (from the cache, read only): deletion usually waits until they
        are gone."""
        if self.machine_kind is None:
            return []
        return [m for m in self.cache.list(self.machine_kind, namespace=self.namespace, copy=False)
                if (nested(m, "metadata", "labels") or {}).get(CLUSTER_NAME_LABEL) == self.cluster_name]


@dataclass
class MachineContext(ObjectContext[SpecT, StatusT]):
    """One reconcile of an infrastructure machine (e.g. an AWSMachine)."""

    machine: Object | None = None  # the owner Machine (read only); None only while deleting
    infra_cluster: Object | None = None  # the provider's cluster object of this cluster (read only)
    _bootstrap: tuple[bytes, str] | None = None

    @property
    def control_plane(self) -> bool:
        """Whether the machine is a control plane machine (its Machine's control-plane label)."""
        return is_control_plane_machine(self.machine or self.object)

    @property
    def failure_domain(self) -> str | None:
        """The failure domain the Machine was placed in (`Machine.spec.failureDomain`)."""
        value = nested(self.machine, "spec", "failureDomain")
        return str(value) if value else None

    @property
    def version(self) -> str | None:
        """The Kubernetes version the Machine runs (`Machine.spec.version`)."""
        value = nested(self.machine, "spec", "version")
        return str(value) if value else None

    @property
    def provider_id(self) -> str | None:
        """`spec.providerID` as last written (None until the machine was provisioned once)."""
        value = nested(self.object, "spec", "providerID")
        return str(value) if value else None

    @property
    def bootstrap_secret_name(self) -> str | None:
        value = nested(self.machine, "spec", "bootstrap", "dataSecretName")
        return str(value) if value else None

    async def bootstrap_data(self) -> bytes:
        """The Machine's bootstrap data (cloud-init user data or ignition), read once per reconcile.

        The SDK calls the provider's reconcile only once the Machine names its data Secret (or the machine is
        provisioned already); raises BootstrapDataError when the Secret is missing or has no `value`."""
        return (await self._read_bootstrap())[0]

    async def bootstrap_format(self) -> str:
        """`cloud-config` or `ignition`, as the bootstrap provider wrote it."""
        return (await self._read_bootstrap())[1]

    async def _read_bootstrap(self) -> tuple[bytes, str]:
        if self._bootstrap is None:
            name = self.bootstrap_secret_name
            if not name:
                raise BootstrapDataError("the Machine has no bootstrap data Secret yet", missing=True)
            self._bootstrap = await read_bootstrap_data(self.client, self.namespace, name)
        return self._bootstrap


__all__ = ["BootstrapDataError", "ClusterContext", "MachineContext", "ObjectContext", "read_bootstrap_data"]
