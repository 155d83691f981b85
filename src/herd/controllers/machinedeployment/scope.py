"""What one reconcile of a MachineDeployment knows: the MachineDeployment, its Cluster, MachineSets and Machines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from herd.api.objects import nested
from herd.contract.scope import ObjectScope, Services  # the phases need only the client and the cache
from herd.runtime import Object

from .rollout import ROLLING_UPDATE

__all__ = ["MachineDeploymentScope", "Services"]


@dataclass
class MachineDeploymentScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a MachineDeployment, and what the phases decided."""

    subject_field: ClassVar[str] = "md"

    md: Object
    cluster: Object | None = None
    machine_sets: list[Object] = field(default_factory=list)  # owned by the MachineDeployment, oldest first
    machines: list[Object] = field(default_factory=list)  # Machines of those MachineSets
    orphans: list[Object] = field(default_factory=list)  # MachineSets without a controller that it may adopt
    new_machine_set: Object | None = None  # the MachineSet for the current template, once known
    rollout_message: str = ""
    deleting_message: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: Services | None = None

    @property
    def replicas(self) -> int | None:
        value = self.spec.get("replicas")
        return None if value is None else int(value)

    @property
    def strategy(self) -> str:
        return str(nested(self.md, "spec", "rollout", "strategy", "type") or ROLLING_UPDATE)

    @property
    def max_surge(self) -> int | str | None:
        value: int | str | None = nested(self.md, "spec", "rollout", "strategy", "rollingUpdate", "maxSurge")
        return value

    @property
    def max_unavailable(self) -> int | str | None:
        value: int | str | None = nested(self.md, "spec", "rollout", "strategy", "rollingUpdate", "maxUnavailable")
        return value

    @property
    def paused(self) -> bool:
        """spec.paused: the rollout does not progress (scaling still does)."""
        return self.spec.get("paused") is True

    @property
    def old_machine_sets(self) -> list[Object]:
        new = self.new_machine_set
        new_uid = None if new is None else nested(new, "metadata", "uid")
        return [ms for ms in self.machine_sets if nested(ms, "metadata", "uid") != new_uid]

