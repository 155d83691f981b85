"""What one reconcile of a Machine knows: the Machine, its Cluster, its provider objects, its Node."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL
from herd.api.objects import nested
from herd.contract.references import ProviderKind
from herd.contract.scope import ClusterServices, ObjectScope
from herd.runtime import Object
from herd.runtime.clustercache import HealthState

CONNECTION_DOWN = "ConnectionDown"
INTERNAL_ERROR = "InternalError"


@dataclass
class Services(ClusterServices):
    """What the phases talk to; absent in status tests."""

    node_wait: float = 10.0
    remote_conditions_grace_seconds: float = 300.0  # the Node's conditions turn Unknown after this long unreachable
    drain_requeue_after: float = 5.0


@dataclass
class MachineScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a Machine, and what the phases found out."""

    subject_field: ClassVar[str] = "machine"

    machine: Object
    cluster: Object | None = None
    bootstrap_config: Object | None = None
    bootstrap_config_not_found: bool = False
    bootstrap_kind: ProviderKind | None = None
    infra_machine: Object | None = None
    infra_machine_not_found: bool = False
    infra_kind: ProviderKind | None = None
    node: Object | None = None
    node_error: str = ""  # CONNECTION_DOWN or INTERNAL_ERROR when the Node could not be read
    health: HealthState = field(default_factory=HealthState)
    remote_conditions_grace_seconds: float = 300.0
    reconcile_delete_executed: bool = False
    deleting_reason: str = ""
    deleting_message: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: Services | None = None

    @property
    def provider_id(self) -> str:
        return str(self.spec.get("providerID") or "")

    @property
    def node_ref_name(self) -> str:
        return str(nested(self.machine, "status", "nodeRef", "name") or "")

    @property
    def bootstrap_data_secret_created(self) -> bool:
        return nested(self.machine, "status", "initialization", "bootstrapDataSecretCreated") is True

    @property
    def infrastructure_provisioned(self) -> bool:
        return nested(self.machine, "status", "initialization", "infrastructureProvisioned") is True

    @property
    def is_control_plane(self) -> bool:
        return MACHINE_CONTROL_PLANE_LABEL in (self.meta.get("labels") or {})

