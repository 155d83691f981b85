"""What one reconcile of a MachineSet knows: the MachineSet, its Cluster, its Machines and its templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from herd.api.cluster.labels import MACHINE_DEPLOYMENT_NAME_LABEL
from herd.contract.references import ContractResolver, ProviderKind
from herd.contract.scope import ObjectScope
from herd.contract.scope import Services as ContractServices
from herd.runtime import Object, controller_owner


@dataclass
class Services(ContractServices):
    """What the phases talk to; absent in status tests."""

    resolver: ContractResolver
    template_wait: float = 10.0  # how soon to look again for a template that does not exist (yet)
    cache_wait: float = 5.0  # how long to wait for our own writes to reach the cache


@dataclass
class Template:
    """A bootstrap or infrastructure template the MachineSet's Machines are cloned from."""

    ref: dict[str, Any]
    kind: ProviderKind
    obj: Object


@dataclass
class MachineSetScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a MachineSet, and what the phases found out."""

    subject_field: ClassVar[str] = "machine_set"

    machine_set: Object
    cluster: Object | None = None
    machine_deployment: Object | None = None
    machines: list[Object] = field(default_factory=list)
    machines_listed: bool = False  # upstream's getAndAdoptMachinesForMachineSetSucceeded
    bootstrap_template: Template | None = None
    bootstrap_template_not_found: bool = False
    infra_template: Template | None = None
    infra_template_not_found: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: Services | None = None

    @property
    def replicas(self) -> int | None:
        """spec.replicas (None while the defaulting webhook has not set it)."""
        value = self.spec.get("replicas")
        return int(value) if value is not None else None

    @property
    def desired_replicas(self) -> int:
        """How many Machines the MachineSet wants now: none once it is being deleted."""
        return 0 if self.deleting else (self.replicas or 0)

    @property
    def template(self) -> dict[str, Any]:
        return self.part("spec", "template")

    @property
    def deployment_name(self) -> str:
        """The MachineDeployment the MachineSet belongs to ("" for a stand-alone MachineSet)."""
        owner = controller_owner(self.machine_set)
        if owner is not None and owner.get("kind") == "MachineDeployment":
            return str(owner.get("name") or "")
        return str((self.meta.get("labels") or {}).get(MACHINE_DEPLOYMENT_NAME_LABEL) or "")

