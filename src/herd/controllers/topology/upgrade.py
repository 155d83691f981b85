"""Which version each part of a topology runs while `spec.topology.version` changes (pure).

The control plane goes first: it takes the new version once it is provisioned, not upgrading and no
MachineDeployment is still upgrading. MachineDeployments follow once the control plane runs the new version
and is stable (not upgrading, not scaling), at most `topology.cluster.x-k8s.io/upgrade-concurrency` of them at
a time (default 1), in the order of the topology; the `defer-upgrade` and `hold-upgrade-sequence` annotations
of a MachineDeployment topology hold it (and, for hold, every one after it) back. A MachineDeployment that does
not exist yet is created only while the control plane is stable. Versions move in one step to the topology's
(upstream's multi-step upgrade plans through intermediate minor versions are not computed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import (
    CLUSTER_TOPOLOGY_DEFER_UPGRADE_ANNOTATION,
    CLUSTER_TOPOLOGY_HOLD_UPGRADE_SEQUENCE_ANNOTATION,
    CLUSTER_TOPOLOGY_UPGRADE_CONCURRENCY_ANNOTATION,
)
from herd.api.objects import nested
from herd.runtime import Object


@dataclass
class WorkerState:
    """What is known of an existing MachineDeployment for the upgrade decision."""

    md: Object
    upgrading: bool  # some of its Machines do not run its version yet


@dataclass
class UpgradeTracker:
    """The versions chosen and why, for the TopologyReconciled condition."""

    control_plane_version: str = ""
    control_plane_provisioning: bool = False
    control_plane_upgrading: bool = False
    control_plane_starting: bool = False
    control_plane_pending: bool = False
    control_plane_scaling: bool = False
    md_versions: dict[str, str] = field(default_factory=dict)
    md_upgrading: list[str] = field(default_factory=list)  # MachineDeployment names
    md_pending: list[str] = field(default_factory=list)
    md_deferred: list[str] = field(default_factory=list)
    md_pending_create: list[str] = field(default_factory=list)  # topology names

    @property
    def control_plane_stable(self) -> bool:
        return not (self.control_plane_provisioning or self.control_plane_upgrading or self.control_plane_starting
                    or self.control_plane_pending)

    @property
    def upgrading(self) -> bool:
        return bool(self.control_plane_pending or self.control_plane_starting or self.control_plane_upgrading
                    or self.md_upgrading or self.md_pending or self.md_deferred or self.md_pending_create)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def control_plane_scaling(cp: Object) -> bool:
    """Whether a control plane's Machines differ in number from what it asks for."""
    wanted = _int(nested(cp, "spec", "replicas"))
    if wanted is None:
        return False
    status = cp.get("status") or {}
    return any(_int(status.get(f)) != wanted for f in ("replicas", "upToDateReplicas", "availableReplicas"))


def _concurrency(cluster: Object) -> int:
    value = ((cluster.get("metadata") or {}).get("annotations") or {}).get(
        CLUSTER_TOPOLOGY_UPGRADE_CONCURRENCY_ANNOTATION)
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1


def _deferred(md_topologies: list[dict[str, Any]], topology_name: str) -> bool:
    for md_topology in md_topologies:
        annotations = nested(md_topology, "metadata", "annotations") or {}
        if md_topology.get("name") == topology_name and CLUSTER_TOPOLOGY_DEFER_UPGRADE_ANNOTATION in annotations:
            return True
        if CLUSTER_TOPOLOGY_HOLD_UPGRADE_SEQUENCE_ANNOTATION in annotations:
            return True
        if md_topology.get("name") == topology_name:
            return False
    return False


def plan(cluster: Object, control_plane: Object | None, workers: dict[str, WorkerState]) -> UpgradeTracker:
    """The version of the control plane and of each MachineDeployment topology (by topology name)."""
    topology = nested(cluster, "spec", "topology") or {}
    target = str(topology.get("version") or "")
    t = UpgradeTracker()
    md_topologies = nested(topology, "workers", "machineDeployments") or []
    any_md_upgrading = any(w.upgrading for w in workers.values())
    if control_plane is None:
        t.control_plane_version = target
    else:
        current = str(nested(control_plane, "spec", "version") or "")
        reported = nested(control_plane, "status", "version")
        t.control_plane_version = current
        t.control_plane_scaling = control_plane_scaling(control_plane)
        pending = current != target
        if not reported:
            t.control_plane_provisioning = True
            t.control_plane_pending = pending
        elif reported != current:
            t.control_plane_upgrading = True
            t.control_plane_pending = pending
        elif pending and not any_md_upgrading:
            t.control_plane_version, t.control_plane_starting = target, True
        else:
            t.control_plane_pending = pending
    workers_may_upgrade = (t.control_plane_stable and not t.control_plane_scaling
                           and t.control_plane_version == target)
    slots = _concurrency(cluster) - sum(1 for w in workers.values() if w.upgrading)
    for md_topology in md_topologies:
        name = str(md_topology.get("name", ""))
        worker = workers.get(name)
        if worker is None:
            t.md_versions[name] = target
            if not t.control_plane_stable:
                t.md_pending_create.append(name)
            continue
        md_name = str(worker.md["metadata"]["name"])
        current = str(nested(worker.md, "spec", "template", "spec", "version") or "")
        t.md_versions[name] = current
        if worker.upgrading:
            t.md_upgrading.append(md_name)
        if current == target:
            continue
        if _deferred(md_topologies, name):
            t.md_deferred.append(md_name)
        elif slots <= 0 or not workers_may_upgrade:
            t.md_pending.append(md_name)
        else:
            t.md_versions[name] = target
            slots -= 1
            if md_name not in t.md_upgrading:
                t.md_upgrading.append(md_name)
    return t
