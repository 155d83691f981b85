"""What one reconcile of a ClusterClass knows: the class, and what its phases found out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from herd.contract.references import ContractResolver
from herd.contract.scope import ObjectScope
from herd.contract.scope import Services as ContractServices
from herd.runtime import Object


@dataclass
class Services(ContractServices):
    """What the phases talk to: the management cluster, the cache, and CRDs (the latest version of a kind)."""

    resolver: ContractResolver


@dataclass(frozen=True)
class OutdatedRef:
    """A templateRef whose apiVersion is not the one the kind's CRD serves for the current contract."""

    kind: str
    name: str
    current: str
    latest: str


@dataclass
class ClusterClassScope(ObjectScope[Services]):
    """Everything fetched for one reconcile of a ClusterClass, and what the phases found out."""

    subject_field: ClassVar[str] = "cluster_class"

    cluster_class: Object
    services: Services | None
    outdated_refs: list[OutdatedRef] = field(default_factory=list)
    refs_error: str = ""  # why the templates could not all be read (or owned); "" when they were
    variables_error: str = ""  # why the variables are not ready; "" when they are
