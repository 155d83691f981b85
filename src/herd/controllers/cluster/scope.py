"""What one reconcile of a Cluster knows: the Cluster, its provider objects, its descendants, the probe state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL
from herd.contract.references import ProviderKind
from herd.contract.scope import ClusterServices, ObjectScope
from herd.runtime import Object
from herd.runtime.clustercache import HealthState


@dataclass
class Services(ClusterServices):
    """What the phases talk to; absent in status tests."""

    probe_interval: float = 10.0
    remote_connection_grace_seconds: float = 300.0  # RemoteConnectionProbe turns False after this long down
    delete_requeue_after: float = 5.0


@dataclass
class ClusterScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a Cluster, and what the phases found out."""

    subject_field: ClassVar[str] = "cluster"

    cluster: Object
    infra_cluster: Object | None = None
    infra_cluster_not_found: bool = False
    infra_kind: ProviderKind | None = None
    control_plane: Object | None = None
    control_plane_not_found: bool = False
    control_plane_kind: ProviderKind | None = None
    machine_deployments: list[Object] = field(default_factory=list)
    machine_sets: list[Object] = field(default_factory=list)
    control_plane_machines: list[Object] = field(default_factory=list)
    worker_machines: list[Object] = field(default_factory=list)
    descendants_listed: bool = True
    health: HealthState = field(default_factory=HealthState)
    remote_connection_grace_seconds: float = 300.0
    deleting_reason: str = ""
    deleting_message: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: Services | None = None

    @property
    def cluster_name(self) -> str:
        return self.name  # the Cluster is its own

    @property
    def infrastructure_provisioned(self) -> bool:
        return ((self.cluster.get("status") or {}).get("initialization") or {}).get("infrastructureProvisioned") \
            is True

    @property
    def control_plane_initialized(self) -> bool:
        return ((self.cluster.get("status") or {}).get("initialization") or {}).get("controlPlaneInitialized") \
            is True

    def set_machines(self, machines: list[Object]) -> None:
        """Split the Cluster's Machines into control plane and worker Machines."""
        self.control_plane_machines = [m for m in machines if is_control_plane_machine(m)]
        self.worker_machines = [m for m in machines if not is_control_plane_machine(m)]


def is_control_plane_machine(machine: Object) -> bool:
    """Whether a Machine carries the control-plane label."""
    return MACHINE_CONTROL_PLANE_LABEL in ((machine.get("metadata") or {}).get("labels") or {})


def owned_by(obj: Object, owner: Object) -> bool:
    """Whether any ownerReference of `obj` points at `owner` (by uid)."""
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])
