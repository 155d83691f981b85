"""Which Machines a MachineHealthCheck checks, and whether each is healthy: pure, no I/O.

Evaluation follows upstream's order: the remediate-machine annotation, a Node that was seen and is now
gone, unhealthy Machine conditions, then (only once the Cluster can host Nodes) a missing Node past the
startup timeout or a Node condition held past its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from herd.api.cluster import cluster as cluster_api
from herd.api.cluster import machine as machine_api
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    MACHINE_CONTROL_PLANE_LABEL,
    MACHINE_SKIP_REMEDIATION_ANNOTATION,
    PAUSED_ANNOTATION,
    REMEDIATE_MACHINE_ANNOTATION,
)
from herd.api.cluster.machinehealthcheck import DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS
from herd.api.objects import parse_time
from herd.runtime import Object, Selector, controller_owner
from herd.runtime.conditions import get_condition


@dataclass
class Target:
    """A Machine under check, with its Node (None when it has none yet, or it is gone: see node_missing)."""

    machine: Object
    node: Object | None = None
    node_missing: bool = False  # the Machine has a nodeRef but the workload cluster has no such Node

    @property
    def name(self) -> str:
        return str((self.machine.get("metadata") or {}).get("name", ""))


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one target.

    `next_check` (seconds) is set when a check is failing but has not yet held for its timeout: the target
    is then neither healthy nor unhealthy, and should be looked at again after that long.
    """

    unhealthy: bool = False
    reason: str = ""
    message: str = ""
    next_check: float = 0.0


HEALTHY = Verdict()


def selects(mhc: Object, machine: Object) -> bool:
    """Whether the MachineHealthCheck's selector and cluster pick out the Machine (namespace included)."""
    mhc_meta, meta = mhc.get("metadata") or {}, machine.get("metadata") or {}
    if mhc_meta.get("namespace") != meta.get("namespace"):
        return False
    spec = mhc.get("spec") or {}
    cluster_name = str(spec.get("clusterName") or "")
    if (machine.get("spec") or {}).get("clusterName") != cluster_name:
        return False
    labels = meta.get("labels") or {}
    if labels.get(CLUSTER_NAME_LABEL, cluster_name) != cluster_name:
        return False
    try:
        return Selector.from_label_selector(spec.get("selector") or {}).matches(labels)
    except ValueError:
        return False


def skip_reason(machine: Object) -> str:
    """Why a selected Machine is not checked ("" when it is): deleting, paused, opted out, or not owned."""
    meta = machine.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if meta.get("deletionTimestamp"):
        return "the Machine is being deleted"
    if PAUSED_ANNOTATION in annotations:
        return f"the Machine has the {PAUSED_ANNOTATION} annotation"
    if MACHINE_SKIP_REMEDIATION_ANNOTATION in annotations:
        return f"the Machine has the {MACHINE_SKIP_REMEDIATION_ANNOTATION} annotation"
    owner = controller_owner(machine)
    if owner is None:
        return "the Machine has no controller to remediate it"
    if owner.get("kind") != "MachineSet" and MACHINE_CONTROL_PLANE_LABEL not in (meta.get("labels") or {}):
        return f"the Machine's controller {owner.get('kind')} is neither a MachineSet nor a control plane"
    return ""


def node_startup_timeout(mhc: Object) -> float:
    """checks.nodeStartupTimeoutSeconds, defaulted; 0 means the check is off."""
    value = ((mhc.get("spec") or {}).get("checks") or {}).get("nodeStartupTimeoutSeconds")
    return float(DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS if value is None else value)


def _is_true(obj: Object | None, type_: str) -> bool:
    found = get_condition(obj, type_) if obj else None
    return found is not None and found.get("status") == "True"


def _true_since(obj: Object | None, type_: str) -> datetime | None:
    found = get_condition(obj, type_) if obj else None
    if found is None or found.get("status") != "True":
        return None
    return parse_time(found.get("lastTransitionTime"))


def _duration(seconds: float) -> str:
    """A timeout as Go prints durations (10m0s), so messages read like upstream's."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _held_past(conditions: list[dict[str, Any]], checks: list[dict[str, Any]], now: datetime,
               ) -> tuple[dict[str, Any] | None, list[float]]:
    """The first check whose condition has held past its timeout, and the waits for those still within it."""
    waits: list[float] = []
    by_type = {c.get("type"): c for c in conditions}
    for check in checks:
        found = by_type.get(check.get("type"))
        if found is None or found.get("status") != check.get("status"):
            continue
        since = parse_time(found.get("lastTransitionTime")) or now
        remaining = float(check.get("timeoutSeconds") or 0) - (now - since).total_seconds()
        if remaining < 0:
            return check, []
        waits.append(remaining + 1.0)  # a second past the deadline, as upstream does, so the check surely fails
    return None, waits


def evaluate(target: Target, mhc: Object, cluster: Object | None, now: datetime) -> Verdict:
    """Whether the target is healthy, unhealthy (with reason and message), or to be looked at again later."""
    machine = target.machine
    meta = machine.get("metadata") or {}
    if REMEDIATE_MACHINE_ANNOTATION in (meta.get("annotations") or {}):
        return Verdict(True, machine_api.HEALTH_CHECK_HAS_REMEDIATE_ANNOTATION_REASON,
                       f"Health check failed: marked for remediation with the {REMEDIATE_MACHINE_ANNOTATION} "
                       "annotation")
    if target.node_missing:
        node_name = ((machine.get("status") or {}).get("nodeRef") or {}).get("name", "")
        return Verdict(True, machine_api.HEALTH_CHECK_NODE_DELETED_REASON,
                       f"Health check failed: Node {node_name} has been deleted")
    checks = (mhc.get("spec") or {}).get("checks") or {}
    machine_conditions = (machine.get("status") or {}).get("conditions") or []
    failed, waits = _held_past(machine_conditions, checks.get("unhealthyMachineConditions") or [], now)
    if failed is not None:
        return Verdict(True, machine_api.HEALTH_CHECK_UNHEALTHY_MACHINE_REASON,
                       f"Health check failed: Condition {failed.get('type')} on Machine has had status "
                       f"{failed.get('status')} for more than {_duration(failed.get('timeoutSeconds') or 0)}")
    control_plane = MACHINE_CONTROL_PLANE_LABEL in (meta.get("labels") or {})
    if not _is_true(cluster, cluster_api.CONTROL_PLANE_INITIALIZED) and not control_plane:
        return Verdict(next_check=min(waits, default=0.0))  # no Node can join yet: the Cluster's update wakes us
    cluster_status = (cluster or {}).get("status") or {}
    if not (cluster_status.get("initialization") or {}).get("infrastructureProvisioned") \
            and not _is_true(cluster, cluster_api.INFRASTRUCTURE_READY):
        return Verdict(next_check=min(waits, default=0.0))
    if target.node is None:
        timeout = node_startup_timeout(mhc)
        if timeout == 0:
            return Verdict(next_check=min(waits, default=0.0))
        started = [parse_time(meta.get("creationTimestamp")),
                   _true_since(cluster, cluster_api.CONTROL_PLANE_INITIALIZED),
                   _true_since(cluster, cluster_api.INFRASTRUCTURE_READY),
                   _true_since(machine, machine_api.INFRASTRUCTURE_READY)]
        since = max((t for t in started if t is not None), default=now)
        remaining = timeout - (now - since).total_seconds()
        if remaining < 0:
            return Verdict(True, machine_api.HEALTH_CHECK_NODE_STARTUP_TIMEOUT_REASON,
                           f"Health check failed: Node failed to report startup in {_duration(timeout)}")
        return Verdict(next_check=min([*waits, remaining + 1.0]))
    node_conditions = (target.node.get("status") or {}).get("conditions") or []
    failed, node_waits = _held_past(node_conditions, checks.get("unhealthyNodeConditions") or [], now)
    if failed is not None:
        return Verdict(True, machine_api.HEALTH_CHECK_UNHEALTHY_NODE_REASON,
                       f"Health check failed: Condition {failed.get('type')} on Node has had status "
                       f"{failed.get('status')} for more than {_duration(failed.get('timeoutSeconds') or 0)}")
    return Verdict(next_check=min([*waits, *node_waits], default=0.0))


def is_healthy(target: Target, verdict: Verdict) -> bool:
    """Healthy means: nothing failing, nothing pending, and a Node to show for it (a Machine still starting is not)."""
    return not verdict.unhealthy and verdict.next_check == 0 and target.node is not None
