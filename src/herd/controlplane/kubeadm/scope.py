"""What one reconcile of a KubeadmControlPlane knows: the object, its Cluster, its Machines with their
infrastructure machines, the certificates, and what the workload cluster showed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.objects import nested
from herd.contract.certificates import KeyPair, Purpose
from herd.contract.scope import ClusterServices, ObjectScope
from herd.runtime import Object
from herd.runtime.conditions import Condition

from .workload import Workload, WorkloadView


@dataclass
class Services(ClusterServices):
    """What the phases talk to; absent in status tests."""

    etcd_timeout: float = 5.0
    poll: float = 0.5  # how soon to look at the workload cluster again while something is on its way
    resync: float = 30.0  # how soon to look again when all is well (workload changes have no watch here)


@dataclass
class ControlPlaneScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a KubeadmControlPlane, and what the phases found out."""

    subject_field: ClassVar[str] = "kcp"

    kcp: Object
    cluster: Object | None = None
    machines: list[Object] = field(default_factory=list)  # controlled by the KubeadmControlPlane
    infra: dict[str, Object | None] = field(default_factory=dict)  # by Machine name
    failure_domains: list[str] = field(default_factory=list)  # the Cluster's control plane failure domains
    certificates_error: str | None = None  # None: not looked at yet; "": all available
    certificates: dict[Purpose, KeyPair] = field(default_factory=dict)  # by purpose, once all are available
    workload: Workload | None = None
    view: WorkloadView | None = None
    outdated: dict[str, list[str]] = field(default_factory=dict)  # Machine name -> why it must be replaced
    machine_conditions: dict[str, list[Condition]] = field(default_factory=dict)  # computed per Machine
    scale_up_blockers: list[str] = field(default_factory=list)
    scale_down_blockers: list[str] = field(default_factory=list)
    remediating: list[str] = field(default_factory=list)  # Machines waiting for (or refused) remediation
    deleting_message: tuple[str, str] | None = None  # (reason, message) while being deleted
    initialized_now: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: Services | None = None

    @property
    def cluster_name(self) -> str:
        labels = self.meta.get("labels") or {}
        if self.cluster is not None:
            return str(self.cluster["metadata"]["name"])
        return str(labels.get(CLUSTER_NAME_LABEL) or "")

    @property
    def replicas(self) -> int:
        value = self.spec.get("replicas")
        return int(value) if value is not None else 1

    @property
    def version(self) -> str:
        return str(self.spec.get("version") or "")

    @property
    def live_machines(self) -> list[Object]:
        """Machines not being deleted."""
        return [m for m in self.machines if not m["metadata"].get("deletionTimestamp")]

    @property
    def deleting_machines(self) -> list[Object]:
        return [m for m in self.machines if m["metadata"].get("deletionTimestamp")]

    @property
    def initialized(self) -> bool:
        return bool(nested(self.kcp, "status", "initialization", "controlPlaneInitialized"))

    @property
    def external_etcd(self) -> bool:
        """etcd is external: no etcd pods or members on the Machines to look after."""
        return bool(nested(self.kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external"))

    @property
    def max_surge(self) -> int:
        value: Any = nested(self.kcp, "spec", "rollout", "strategy", "rollingUpdate", "maxSurge")
        if value is None:
            return 1
        if isinstance(value, str) and value.endswith("%"):
            return max(0, round(self.replicas * int(value[:-1]) / 100))
        return int(value)

    def node_name(self, machine: Object) -> str | None:
        ref = nested(machine, "status", "nodeRef", "name")
        return str(ref) if ref else None

    def up_to_date(self) -> set[str]:
        return {m["metadata"]["name"] for m in self.machines if m["metadata"]["name"] not in self.outdated}
