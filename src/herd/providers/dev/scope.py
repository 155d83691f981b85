"""What a DevMachine reconcile works with: the shared services, and a scope holding everything fetched once."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.infrastructure import DEV_MACHINE
from herd.api.infrastructure.devmachine import InMemoryMachineBackendSpec
from herd.contract.objects import is_control_plane_machine
from herd.providersdk.context import read_bootstrap_data
from herd.providersdk.reconciler import ProviderReconciler
from herd.runtime import Cache, Client, NotSynced, Object

from .cloudinit import BootPlan, boot_plan
from .kinds import (
    READY_AT_ANNOTATION,
    Fault,
    annotations_of,
    cluster_key,
    fault_of,
    labels_of,
    name_of,
    namespace_of,
    refers_to,
)
from .kubelet import Kubelets
from .status import MachineProgress, Stage, WaitingFor
from .timing import format_timeline, parse_timeline, seconds_until
from .workload import WorkloadAPIServers, WorkloadClients


@dataclass
class Services:
    """What every reconcile of the provider shares: clients, the cache, the simulated world."""

    client: Client
    cache: Cache
    servers: WorkloadAPIServers
    clients: WorkloadClients
    kubelets: Kubelets
    rng: random.Random = field(default_factory=random.Random)


ScopeT = TypeVar("ScopeT")


LOG = logging.getLogger("herd.providers.dev")


class DevReconciler(ProviderReconciler[Services, ScopeT]):
    """The DevCluster's reconcile skeleton: the SDK's for a provider (its Cluster's event wakes it, no
    observedGeneration)."""

    log = LOG


@dataclass
class MachineScope:
    """One DevMachine's reconcile: the objects read once, the timeline, and what the phases observe."""

    devmachine: Object  # changed in place and patched once at the end
    backend: InMemoryMachineBackendSpec
    machine: Object
    cluster: Object
    devcluster: Object
    now: datetime
    timeline: dict[str, datetime]
    waiting_for: WaitingFor | None = None
    vm: Stage = field(default_factory=Stage)
    node: Stage = field(default_factory=Stage)
    etcd: Stage = field(default_factory=Stage)
    api_server: Stage = field(default_factory=Stage)
    kubelet_started: bool = False
    plan: BootPlan | None = None
    requeues: list[float] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return namespace_of(self.devmachine)

    @property
    def cluster_name(self) -> str:
        return name_of(self.cluster)

    @property
    def cluster_key(self) -> str:
        return cluster_key(self.namespace, self.cluster_name)

    @property
    def node_name(self) -> str:
        """The Node (and host) name: the Machine's name."""
        return name_of(self.machine)

    @property
    def version(self) -> str | None:
        """The Machine's Kubernetes version."""
        version = (self.machine.get("spec") or {}).get("version")
        return str(version) if version else None

    @property
    def control_plane(self) -> bool:
        return is_control_plane_machine(self.machine) or (self.plan is not None and self.plan.control_plane)

    @property
    def fault(self) -> Fault | None:
        return fault_of(self.devmachine)

    @property
    def endpoint(self) -> tuple[str, int] | None:
        """The DevCluster's control plane endpoint, once allocated."""
        endpoint = (self.devcluster.get("spec") or {}).get("controlPlaneEndpoint") or {}
        if not endpoint.get("host") or not endpoint.get("port"):
            return None
        return str(endpoint["host"]), int(endpoint["port"])

    def requeue_at(self, when: datetime) -> None:
        """Look again when a startup timer runs out."""
        self.requeues.append(max(0.05, seconds_until(when, self.now)))

    def requeue_after(self, seconds: float) -> None:
        self.requeues.append(seconds)

    def progress(self, *, deleting: bool = False) -> MachineProgress:
        return MachineProgress(self.waiting_for, self.control_plane, self.vm, self.node, self.etcd, self.api_server,
                               deleting)

    def save_timeline(self) -> None:
        """Record the timeline on the DevMachine, so a restarted controller continues it."""
        if self.timeline:
            self.devmachine.setdefault("metadata", {}).setdefault("annotations", {})[READY_AT_ANNOTATION] = \
                format_timeline(self.timeline)

    async def load_plan(self, services: Services) -> BootPlan:
        """Read and parse the bootstrap data (once per reconcile); the SDK's BootstrapDataError when the Secret is
        missing or empty, cloudinit's BootstrapDataError when the data is unusable."""
        if self.plan is None:
            secret_name = ((self.machine.get("spec") or {}).get("bootstrap") or {}).get("dataSecretName")
            data, _ = await read_bootstrap_data(services.client, self.namespace, str(secret_name))
            self.plan = boot_plan(data, hostname=self.node_name)
        return self.plan


def timeline_of(devmachine: Object) -> dict[str, datetime]:
    return parse_timeline(annotations_of(devmachine).get(READY_AT_ANNOTATION))


def machines_of_cluster(cache: Cache, namespace: str, cluster_name: str) -> list[Object]:
    """The Machines of a cluster (spec.clusterName), from the cache."""
    return [m for m in cache.list(MACHINE, namespace=namespace, copy=False)
            if (m.get("spec") or {}).get("clusterName") == cluster_name]


def devmachine_keys_of_cluster(cache: Cache, namespace: str, cluster_name: str) -> list[tuple[str, str]]:
    """(namespace, name) of the DevMachines behind a cluster's Machines, and of those labelled with the cluster."""
    try:
        names = {refers_to(m, "infrastructureRef", DEV_MACHINE) for m in machines_of_cluster(cache, namespace,
                                                                                            cluster_name)}
        names |= {name_of(d) for d in cache.list(DEV_MACHINE, namespace=namespace, copy=False)
                  if labels_of(d).get(CLUSTER_NAME_LABEL) == cluster_name}
    except NotSynced:  # during start-up every object is reconciled anyway
        return []
    return [(namespace, name) for name in sorted(n for n in names if n)]


def cluster_faults(cache: Cache, namespace: str, cluster_name: str) -> set[Fault]:
    """The faults injected on any DevMachine of the cluster (apiserver-down acts on the whole cluster)."""
    faults: set[Fault] = set()
    for ns, name in devmachine_keys_of_cluster(cache, namespace, cluster_name):
        devmachine = cache.get(DEV_MACHINE, ns, name, copy=False)
        fault = fault_of(devmachine) if devmachine is not None else None
        if fault is not None:
            faults.add(fault)
    return faults


__all__ = ["MachineScope", "Services", "cluster_faults", "devmachine_keys_of_cluster",
           "machines_of_cluster", "timeline_of"]
