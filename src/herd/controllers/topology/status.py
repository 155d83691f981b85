"""The Cluster's TopologyReconciled condition (pure), with upstream's v1beta2 reasons."""

from __future__ import annotations

from herd.api.cluster import cluster as api
from herd.contract import conditions as cond
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE

from .upgrade import UpgradeTracker


def _names(kind: str, names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
    return f"{kind}{'s' if len(names) > 1 else ''} {shown}"


def upgrade_message(tracker: UpgradeTracker, target: str, control_plane_kind: str) -> str:
    """Where an upgrade is: one line per part that upgrades, waits or is held back."""
    lines = []
    if tracker.control_plane_starting or tracker.control_plane_upgrading:
        lines.append(f"{control_plane_kind} upgrading to version {tracker.control_plane_version}")
    elif tracker.control_plane_pending:
        lines.append(f"{control_plane_kind} pending upgrade to version {target}")
    if tracker.md_upgrading:
        lines.append(f"{_names('MachineDeployment', tracker.md_upgrading)} upgrading to version {target}")
    pending = [n for n in tracker.md_pending if n not in tracker.md_upgrading]
    if pending:
        lines.append(f"{_names('MachineDeployment', pending)} pending upgrade to version {target}")
    if tracker.md_deferred:
        lines.append(f"{_names('MachineDeployment', tracker.md_deferred)} upgrade deferred using defer-upgrade or "
                     "hold-upgrade-sequence annotations")
    if tracker.md_pending_create:
        lines.append(f"{_names('MachineDeployment', tracker.md_pending_create)} creation deferred while the "
                     "control plane is not stable")
    return "Cluster is upgrading to " + target + "\n" + "\n".join(f"* {line}" for line in lines)


def topology_reconciled(cluster: Object, *, error: str = "", class_not_reconciled: bool = False,
                        tracker: UpgradeTracker | None = None, control_plane_kind: str = "ControlPlane",
                        ) -> cond.Condition:
    """TopologyReconciled after one reconcile: failed, waiting for the ClusterClass, creating, upgrading, or
    reconciled."""
    if error:
        return cond.condition(api.TOPOLOGY_RECONCILED, FALSE, api.TOPOLOGY_RECONCILED_FAILED_REASON, error)
    if (cluster.get("metadata") or {}).get("deletionTimestamp"):
        return cond.condition(api.TOPOLOGY_RECONCILED, FALSE, api.TOPOLOGY_RECONCILED_DELETING_REASON,
                              "Cluster is deleting")
    if class_not_reconciled:
        return cond.condition(api.TOPOLOGY_RECONCILED, FALSE,
                              api.TOPOLOGY_RECONCILED_CLUSTER_CLASS_NOT_RECONCILED_REASON,
                              "ClusterClass is not reconciled yet: its status.observedGeneration is behind its "
                              "metadata.generation (check the ClusterClass's conditions)")
    spec = cluster.get("spec") or {}
    if not spec.get("infrastructureRef") and not spec.get("controlPlaneRef"):
        return cond.condition(api.TOPOLOGY_RECONCILED, FALSE, api.TOPOLOGY_RECONCILED_CLUSTER_CREATING_REASON,
                              "Cluster is being created")
    if tracker is not None and tracker.upgrading:
        target = str((spec.get("topology") or {}).get("version") or "")
        reason = api.TOPOLOGY_RECONCILED_CLUSTER_UPGRADING_REASON
        if (tracker.md_deferred and not tracker.md_upgrading and not tracker.md_pending
                and not (tracker.control_plane_starting or tracker.control_plane_upgrading)):
            reason = api.TOPOLOGY_RECONCILED_MACHINE_DEPLOYMENTS_UPGRADE_DEFERRED_REASON
        return cond.condition(api.TOPOLOGY_RECONCILED, FALSE, reason,
                              upgrade_message(tracker, target, control_plane_kind))
    return cond.condition(api.TOPOLOGY_RECONCILED, TRUE, api.TOPOLOGY_RECONCILE_SUCCEEDED_REASON)


def paused(cluster: Object) -> cond.Condition:
    """TopologyReconciled while the Cluster is paused."""
    why = cond.paused_condition(cluster, cluster).get("message", "")
    return cond.condition(api.TOPOLOGY_RECONCILED, FALSE, api.TOPOLOGY_RECONCILE_PAUSED_REASON, str(why))
