"""What one reconcile of a MachineHealthCheck knows: the check, its Cluster, its targets and their verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from herd.contract.scope import ObjectScope
from herd.contract.scope import Services as ContractServices
from herd.runtime import Object
from herd.runtime.clustercache import ClusterCache

from .status import RemediationDecision
from .targets import Target, Verdict


@dataclass
class Services(ContractServices):
    """What the phases talk to."""

    cluster_cache: ClusterCache
    unreachable_requeue_after: float = 10.0


@dataclass
class HealthCheckScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a MachineHealthCheck, and what the phases found out."""

    subject_field: ClassVar[str] = "mhc"

    mhc: Object
    cluster: Object
    services: Services
    targets: list[Target] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    healthy: list[Target] = field(default_factory=list)
    unhealthy: list[Target] = field(default_factory=list)
    decision: RemediationDecision | None = None
    workload_unreachable: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

