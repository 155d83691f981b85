"""Remediating control plane Machines a MachineHealthCheck marked: delete the most broken one (its etcd member
removed first) and let scale up replace it — unless that could break the control plane, which is then said on
the Machine's OwnerRemediated condition.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from herd.api.controlplane import kubeadmcontrolplane as api
from herd.api.objects import nested, parse_time, rfc3339
from herd.contract import conditions as cond
from herd.runtime import Object, Result
from herd.runtime.conditions import is_false

from . import health
from .membership import leave_etcd
from .phases import write_conditions
from .scale import delete_machine
from .scope import ControlPlaneScope

log = logging.getLogger("herd.controlplane.kubeadm")

HEALTH_CHECK_SUCCEEDED = "HealthCheckSucceeded"
OWNER_REMEDIATED = "OwnerRemediated"
DEFAULT_MIN_HEALTHY_PERIOD = timedelta(seconds=api.DEFAULT_MIN_HEALTHY_PERIOD_SECONDS)


def needs_remediation(machine: Object) -> bool:
    return is_false(machine, HEALTH_CHECK_SUCCEEDED) and is_false(machine, OWNER_REMEDIATED)


def _priority(scope: ControlPlaneScope, machine: Object) -> tuple[int, str, str]:
    """Most broken first: no Node, then a failing etcd member, then failing components; then the oldest."""
    conditions = {c["type"]: c.get("status") for c in scope.machine_conditions.get(machine["metadata"]["name"], [])}
    if not scope.node_name(machine):
        rank = 0
    elif conditions.get(health.ETCD_MEMBER) == "False":
        rank = 1
    elif any(conditions.get(t) == "False" for t in health.HEALTH_CONDITIONS):
        rank = 2
    else:
        rank = 3
    return rank, str(machine["metadata"].get("creationTimestamp") or ""), str(machine["metadata"]["name"])


def refusal(scope: ControlPlaneScope, target: Object) -> tuple[str, str] | None:
    """(reason, message) when the target must not be remediated now; None to go ahead (pure)."""
    name = target["metadata"]["name"]
    if not scope.initialized:
        return None  # a first Machine that failed before init is replaced by a new init, nothing else to protect
    if len(scope.machines) <= 1:
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_CANNOT_BE_REMEDIATED_REASON,
                "KubeadmControlPlane can't remediate if current replicas are less or equal to 1")
    annotations = scope.meta.get("annotations") or {}
    if api.REMEDIATION_IN_PROGRESS_ANNOTATION in annotations:
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_DEFERRED_REASON,
                "KubeadmControlPlane can't remediate this Machine because there is another remediation in progress")
    others = [m for m in scope.machines if m["metadata"]["name"] != name]
    if any(m["metadata"].get("deletionTimestamp") for m in others):
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_DEFERRED_REASON,
                "KubeadmControlPlane is waiting for a control plane Machine's deletion to complete before "
                "triggering remediation")
    if any(not scope.node_name(m) for m in others):
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_DEFERRED_REASON,
                "KubeadmControlPlane is waiting for a control plane Machine's provisioning to complete before "
                "triggering remediation")
    retry = _retry(scope, target)
    if retry is not None:
        return retry
    if not _etcd_keeps_quorum(scope, target):
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_CANNOT_BE_REMEDIATED_REASON,
                "KubeadmControlPlane can't remediate this Machine because this could result in etcd losing quorum")
    healthy_others = [m for m in others if health.components_healthy(
        scope.machine_conditions.get(m["metadata"]["name"], []), external_etcd=scope.external_etcd)]
    if not healthy_others:
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_CANNOT_BE_REMEDIATED_REASON,
                "KubeadmControlPlane can't remediate this Machine because no other Machine is fully healthy")
    return None


def _etcd_keeps_quorum(scope: ControlPlaneScope, target: Object) -> bool:
    """Removing the target's member leaves a quorum of healthy members among the rest."""
    view = scope.view
    if scope.external_etcd:
        return True
    if view is None or view.etcd is None:
        return False
    etcd = view.etcd
    node = scope.node_name(target)
    remaining = [m for m in etcd.members if m.name != node]
    healthy = [m for m in remaining if etcd.healthy(m.name)]
    return len(healthy) >= len(remaining) // 2 + 1


def _retry(scope: ControlPlaneScope, target: Object) -> tuple[str, str] | None:
    """Honour retryPeriodSeconds and maxRetry for a Machine that is itself a replacement."""
    previous = _remediation_record((target["metadata"].get("annotations") or {}).get(api.REMEDIATION_FOR_ANNOTATION))
    if previous is None:
        return None
    spec = nested(scope.kcp, "spec", "remediation") or {}
    if not _within_min_healthy(scope, previous):
        return None  # healthy long enough since the last remediation: this is a new problem, not a retry
    retries = int(previous.get("retryCount") or 0)
    max_retry = spec.get("maxRetry")
    if max_retry is not None and retries >= int(max_retry):
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_CANNOT_BE_REMEDIATED_REASON,
                f"KubeadmControlPlane can't remediate this Machine because the operation already failed "
                f"{retries} times (MaxRetry)")
    period = timedelta(seconds=int(spec.get("retryPeriodSeconds") or 0))
    last = parse_time(previous.get("timestamp"))
    if last is not None and scope.now < last + period:
        return (api.KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_DEFERRED_REASON,
                f"KubeadmControlPlane can't remediate this Machine because the operation already failed in the "
                f"latest {go_duration(period)} (RetryPeriodSeconds)")
    return None


def go_duration(period: timedelta) -> str:
    """A duration as Go prints one (upstream's messages do): 1h0m0s, 5m0s, 30s."""
    seconds = int(period.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _remediation_record(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


async def reconcile_unhealthy_machines(scope: ControlPlaneScope) -> Result | None:
    """Remediate one marked Machine, or say on each why not; returns a Result when the reconcile should stop
    here (a remediation started)."""
    marked = [m for m in scope.machines if needs_remediation(m)]
    scope.remediating = [m["metadata"]["name"] for m in marked]
    if not marked:
        return None
    live = [m for m in marked if not m["metadata"].get("deletionTimestamp")]
    if not live:
        return None
    target = min(live, key=lambda m: _priority(scope, m))
    refused = refusal(scope, target)
    if refused is not None:
        await _set_owner_remediated(scope, target, *refused)
        log.info("kubeadmcontrolplane %s: not remediating Machine %s: %s", scope.key, target["metadata"]["name"],
                 refused[1])
        return Result(requeue_after=scope.io.poll * 5)
    previous = _remediation_record((target["metadata"].get("annotations") or {}).get(api.REMEDIATION_FOR_ANNOTATION))
    retries = int(previous.get("retryCount") or 0) + 1 if previous and _within_min_healthy(scope, previous) else 0
    origin = str(previous.get("machine")) if previous and retries else target["metadata"]["name"]
    node = scope.node_name(target)
    if node and scope.view is not None and scope.view.etcd is not None:
        await leave_etcd(scope, node)  # at once: a remediated Machine may never drain
    await delete_machine(scope, target, why="remediation")
    await _set_owner_remediated(scope, target, api.KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_MACHINE_DELETING_REASON,
                                "Machine is deleting")
    record = {"machine": origin, "timestamp": rfc3339(scope.now), "retryCount": retries}
    scope.meta.setdefault("annotations", {})[api.REMEDIATION_IN_PROGRESS_ANNOTATION] = json.dumps(record)
    scope.status["lastRemediation"] = {"machine": target["metadata"]["name"], "time": rfc3339(scope.now),
                                       "retryCount": retries}
    log.info("kubeadmcontrolplane %s: remediating Machine %s (retry %d)", scope.key, target["metadata"]["name"],
             retries)
    return Result(requeue_after=scope.io.poll)


def _within_min_healthy(scope: ControlPlaneScope, previous: dict[str, Any]) -> bool:
    """Whether the last remediation was less than minHealthyPeriodSeconds ago (then this one is a retry)."""
    spec = nested(scope.kcp, "spec", "remediation") or {}
    min_healthy = timedelta(seconds=int(spec.get("minHealthyPeriodSeconds") or DEFAULT_MIN_HEALTHY_PERIOD.seconds))
    last = parse_time(previous.get("timestamp"))
    return last is None or scope.now - last <= min_healthy


async def _set_owner_remediated(scope: ControlPlaneScope, machine: Object, reason: str, message: str) -> None:
    wanted = cond.condition(OWNER_REMEDIATED, "False", reason, message)
    updated = await write_conditions(scope, machine, [wanted])
    if updated is machine:
        return
    for index, candidate in enumerate(scope.machines):
        if candidate["metadata"]["name"] == machine["metadata"]["name"]:
            scope.machines[index] = updated

