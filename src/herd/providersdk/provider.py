"""An infrastructure provider, declared: its two kinds (models + functions) and how its controllers run.

    provider = InfrastructureProvider(
        name="example",
        cluster=ClusterKind("ExampleCluster", ExampleClusterSpec, ClusterStatus, reconcile_cluster, delete_cluster),
        machine=MachineKind("ExampleMachine", ExampleMachineSpec, MachineStatus, reconcile_machine, delete_machine),
    )
    provider.crds()                                   # four CRDs: the kinds and their templates
    provider.add_to(manager, services=...)            # the two controllers
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic

from herd.api.crdgen import CRDSpec, generate_crd, kind_of
from herd.runtime import Cache, Client, Controller, Kind, Manager
from herd.runtime.clustercache import ClusterCache

from .context import ClusterContext, MachineContext, SpecT, StatusT
from .controllers import cluster_controller, machine_controller
from .kinds import crd_specs
from .outcomes import Backoff, ClusterProvisioned, MachineProvisioned, Waiting

INFRASTRUCTURE_GROUP = "infrastructure.cluster.x-k8s.io"

ClusterReconcile = Callable[[ClusterContext[SpecT, StatusT]], Awaitable[ClusterProvisioned | Waiting]]
ClusterDelete = Callable[[ClusterContext[SpecT, StatusT]], Awaitable[Waiting | None]]
MachineReconcile = Callable[[MachineContext[SpecT, StatusT]], Awaitable[MachineProvisioned | Waiting]]
MachineDelete = Callable[[MachineContext[SpecT, StatusT]], Awaitable[Waiting | None]]


@dataclass(frozen=True)
class _KindDecl(Generic[SpecT, StatusT]):
    kind: str
    spec: type[SpecT]
    status: type[StatusT]

    def plural_name(self, declared: str) -> str:
        return declared or f"{self.kind.lower()}s"


@dataclass(frozen=True)
class ClusterKind(_KindDecl[SpecT, StatusT]):
    """The provider's cluster kind (e.g. AWSCluster): `spec` extends `ClusterSpec`, `status` extends `ClusterStatus`.

    `reconcile(ctx)` makes the cluster's infrastructure exist and returns `ClusterProvisioned` (or `Waiting`);
    `delete(ctx)` removes it and returns None once gone (or `Waiting`, e.g. while `ctx.machines()` remain)."""

    reconcile: ClusterReconcile[SpecT, StatusT] = field(kw_only=True)
    delete: ClusterDelete[SpecT, StatusT] = field(kw_only=True)
    plural: str = ""  # default: lower-case kind + "s"
    description: str = ""
    finalizer: str = ""  # default: <lower-case kind>.<group>, as upstream providers name theirs


@dataclass(frozen=True)
class MachineKind(_KindDecl[SpecT, StatusT]):
    """The provider's machine kind (e.g. AWSMachine): `spec` extends `MachineSpec`, `status` extends `MachineStatus`.

    `reconcile(ctx)` is called once the owner Machine names its bootstrap data Secret and the cluster's
    infrastructure is provisioned; it makes the machine exist and returns `MachineProvisioned` (or `Waiting`).
    `delete(ctx)` removes it and returns None once gone (or `Waiting`)."""

    reconcile: MachineReconcile[SpecT, StatusT] = field(kw_only=True)
    delete: MachineDelete[SpecT, StatusT] = field(kw_only=True)
    plural: str = ""
    description: str = ""
    finalizer: str = ""


@dataclass
class InfrastructureProvider:
    """A provider: its name (component of its Events and logger `herd.providers.<name>`), its cluster and machine
    kinds, its API group/version, how failures back off and how many machines reconcile at once."""

    name: str
    cluster: ClusterKind[Any, Any]
    machine: MachineKind[Any, Any]
    group: str = INFRASTRUCTURE_GROUP
    version: str = "v1beta2"
    backoff: Backoff = field(default_factory=Backoff)
    concurrency: int = 10

    @cached_property
    def _specs(self) -> list[CRDSpec]:
        return [
            *crd_specs(self.cluster.kind, self.group, self.version, self.cluster.spec, self.cluster.status,
                       plural=self.cluster.plural_name(self.cluster.plural), description=self.cluster.description,
                       machine=False),
            *crd_specs(self.machine.kind, self.group, self.version, self.machine.spec, self.machine.status,
                       plural=self.machine.plural_name(self.machine.plural), description=self.machine.description,
                       machine=True),
        ]

    def crd_specs(self) -> list[CRDSpec]:
        """The CRD specs: cluster kind, its template, machine kind, its template."""
        return list(self._specs)

    def crds(self) -> list[dict[str, Any]]:
        """The CustomResourceDefinitions to install (what `herd up --provider` installs)."""
        return [generate_crd(spec) for spec in self._specs]

    @property
    def cluster_kind(self) -> Kind:
        return kind_of(self._specs[0])

    @property
    def cluster_template_kind(self) -> Kind:
        return kind_of(self._specs[1])

    @property
    def machine_kind(self) -> Kind:
        return kind_of(self._specs[2])

    @property
    def machine_template_kind(self) -> Kind:
        return kind_of(self._specs[3])

    def finalizer_of(self, decl: ClusterKind[Any, Any] | MachineKind[Any, Any]) -> str:
        return decl.finalizer or f"{decl.kind.lower()}.{self.group}"

    def controllers(self, client: Client, cache: Cache, *, services: Any = None,
                    cluster_cache: ClusterCache | None = None) -> list[Controller]:
        """The cluster and machine controllers; `services` is handed to every context as `ctx.services`, and
        `cluster_cache` (one is made when None) gives `ctx.workload_client()`."""
        cluster_cache = cluster_cache or ClusterCache(client)
        return [cluster_controller(self, client, cache, services, cluster_cache),
                machine_controller(self, client, cache, services, cluster_cache)]

    def add_to(self, manager: Manager, *, services: Any = None, cluster_cache: ClusterCache | None = None) -> None:
        """Run the provider's controllers on `manager` (a cluster cache made here closes with the manager)."""
        own = cluster_cache is None
        cluster_cache = cluster_cache or ClusterCache(manager.client)
        for controller in self.controllers(manager.client, manager.cache, services=services,
                                           cluster_cache=cluster_cache):
            manager.add(controller)
        if own:
            manager.add_runnable(functools.partial(_close_when_cancelled, cluster_cache))


async def _close_when_cancelled(cluster_cache: ClusterCache) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await cluster_cache.close()
