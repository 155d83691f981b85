"""What one reconcile of a Cluster's topology reads: the class, its templates and the managed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, CLUSTER_TOPOLOGY_OWNED_LABEL
from herd.contract.references import ExternalTracker
from herd.runtime import Cache, Client, Kind, Object

from .desired import Blueprint, Current, Desired
from .upgrade import UpgradeTracker


@dataclass
class Services:
    client: Client
    cache: Cache
    tracker: ExternalTracker  # watches the infrastructure cluster and control plane kinds as they are met
    poll_seconds: float = 30.0  # how soon to look again while an upgrade or a pending creation waits


@dataclass
class TopologyScope:
    """One reconcile: the Cluster (read only: writes go through patches), what was found and what is wanted."""

    cluster: Object
    io: Services
    cluster_class: Object | None = None
    blueprint: Blueprint | None = None
    kinds: dict[str, Kind] = field(default_factory=dict)  # apiVersion/kind → Kind, for every kind met
    current: Current = field(default_factory=Current)
    tracker: UpgradeTracker | None = None
    desired: Desired | None = None
    class_not_reconciled: bool = False
    stale_templates: list[Object] = field(default_factory=list)  # replaced by a rotation: deleted once unused
    # infrastructure clusters / control planes made for the Cluster beyond the one kept: deleted once it is referenced
    duplicates: list[Object] = field(default_factory=list)
    # MachineDeployments the server has but the cache not yet: their templates are in use
    unseen_machine_deployments: list[Object] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.cluster["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.cluster["metadata"]["namespace"])

    @property
    def owned_labels(self) -> dict[str, Any]:
        return {CLUSTER_NAME_LABEL: self.name, CLUSTER_TOPOLOGY_OWNED_LABEL: ""}
