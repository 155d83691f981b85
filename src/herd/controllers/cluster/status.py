"""The Cluster's phase, replica counters and v1beta2 conditions, computed from a ClusterScope. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herd.api.cluster import cluster as api
from herd.api.cluster import machine as machine_api
from herd.api.objects import nested
from herd.contract import conditions as cond
from herd.contract.references import valid_endpoint
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, is_true

from .scope import ClusterScope, owned_by

_INTERNAL_ERROR_MESSAGE = "Please check controller logs for errors"


def update_status(scope: ClusterScope) -> None:
    """Everything the Cluster controller reports, in upstream's order."""
    now = scope.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    set_phase(scope)
    set_control_plane_replicas(scope)
    set_workers_replicas(scope)
    for condition in (remote_connection_probe_condition(scope), infrastructure_ready_condition(scope),
                      control_plane_available_condition(scope), control_plane_initialized_condition(scope),
                      workers_available_condition(scope), *machines_conditions(scope),
                      *rollout_conditions(scope), remediating_condition(scope), deleting_condition(scope)):
        if condition is not None:
            cond.apply(scope.cluster, condition, now=now)
    cond.apply(scope.cluster, available_condition(scope), now=now)


def set_phase(scope: ClusterScope) -> None:
    """Pending → Provisioning (refs set) → Provisioned (infrastructure and endpoint ready); Deleting; Failed."""
    status, spec = scope.status, scope.spec
    phase = status.get("phase") or api.PHASE_PENDING
    if spec.get("infrastructureRef") or spec.get("controlPlaneRef"):
        phase = api.PHASE_PROVISIONING
    if scope.infrastructure_provisioned and valid_endpoint(spec.get("controlPlaneEndpoint")):
        phase = api.PHASE_PROVISIONED
    if nested(status, "deprecated", "v1beta1", "failureReason") or nested(status, "deprecated", "v1beta1",
                                                                           "failureMessage"):
        phase = api.PHASE_FAILED
    if scope.deleting:
        phase = api.PHASE_DELETING
    status["phase"] = phase


def _counters(machines: list[Object]) -> dict[str, int | None]:
    """Counts of Machines; as upstream, a counter no Machine adds to stays unset rather than 0."""
    counts: dict[str, int | None] = {"replicas": len(machines) or None}
    for field, type_ in (("readyReplicas", machine_api.READY), ("availableReplicas", machine_api.AVAILABLE),
                         ("upToDateReplicas", machine_api.UP_TO_DATE)):
        counts[field] = sum(1 for m in machines if is_true(m, type_)) or None
    return counts


def _set_counts(target: dict[str, Any], counts: dict[str, int | None]) -> None:
    for field, value in counts.items():
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value


def set_control_plane_replicas(scope: ClusterScope) -> None:
    """status.controlPlane: from the control plane object's counters, or by counting control plane Machines."""
    target = scope.status.setdefault("controlPlane", {})
    if scope.spec.get("controlPlaneRef") or scope.spec.get("topology"):
        cp = scope.control_plane
        if cp is None:
            target.clear()
            return
        _set_counts(target, {"desiredReplicas": nested(cp, "spec", "replicas"),
                             "replicas": nested(cp, "status", "replicas"),
                             "readyReplicas": nested(cp, "status", "readyReplicas"),
                             "availableReplicas": nested(cp, "status", "availableReplicas"),
                             "upToDateReplicas": nested(cp, "status", "upToDateReplicas")})
        return
    if not scope.descendants_listed:
        return
    counts = _counters(scope.control_plane_machines)
    counts["desiredReplicas"] = counts["replicas"]  # a stand-alone Machine's existence is the wish for one
    _set_counts(target, counts)


def set_workers_replicas(scope: ClusterScope) -> None:
    """status.workers: MachineDeployments, MachineSets the Cluster owns, and stand-alone worker Machines."""
    if not scope.descendants_listed:
        return
    totals: dict[str, int | None] = dict.fromkeys(
        ("desiredReplicas", "replicas", "readyReplicas", "availableReplicas", "upToDateReplicas"))

    def add(field: str, value: Any) -> None:
        if isinstance(value, int):
            totals[field] = (totals[field] or 0) + value

    owned_sets = [ms for ms in scope.machine_sets if owned_by(ms, scope.cluster)]
    for obj in [*scope.machine_deployments, *owned_sets]:
        add("desiredReplicas", nested(obj, "spec", "replicas"))
        for field in ("replicas", "readyReplicas", "availableReplicas", "upToDateReplicas"):
            add(field, nested(obj, "status", field))
    standalone = [m for m in scope.worker_machines if owned_by(m, scope.cluster)]
    if standalone:
        counts = _counters(standalone)
        add("desiredReplicas", counts["replicas"])
        for field, value in counts.items():
            add(field, value)
    target = scope.status.setdefault("workers", {})
    target.clear()
    _set_counts(target, totals)


def _is_zero(moment: datetime | None) -> bool:
    return moment is None


def remote_connection_probe_condition(scope: ClusterScope) -> cond.Condition | None:
    """RemoteConnectionProbe: True while probes succeed; False once they have failed for the grace period."""
    health = scope.health
    if _is_zero(health.last_probe_success_time) and health.consecutive_failures < 5:
        if cond.has_condition(scope.cluster, api.REMOTE_CONNECTION_PROBE):
            return None  # too early to tell: keep what was reported
        return cond.condition(api.REMOTE_CONNECTION_PROBE, FALSE, api.REMOTE_CONNECTION_PROBE_FAILED_REASON,
                              "Remote connection not established yet")
    last = health.last_probe_success_time
    if last is None or (scope.now - last).total_seconds() > scope.remote_connection_grace_seconds:
        message = "Remote connection probe failed" if last is None else \
            f"Remote connection probe failed, probe last succeeded at {last.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        return cond.condition(api.REMOTE_CONNECTION_PROBE, FALSE, api.REMOTE_CONNECTION_PROBE_FAILED_REASON, message)
    return cond.condition(api.REMOTE_CONNECTION_PROBE, TRUE, api.REMOTE_CONNECTION_PROBE_SUCCEEDED_REASON)


def _ref_kind(scope: ClusterScope, field: str) -> str:
    return str((scope.spec.get(field) or {}).get("kind") or "")


def _provider_condition(scope: ClusterScope, *, ref_field: str, obj: Object | None, not_found: bool,
                        done: bool, target: str, source: str, reasons: tuple[str, str, str, str, str],
                        fallback_field: str, what: str) -> cond.Condition:
    """InfrastructureReady / ControlPlaneAvailable: mirror the provider object, or say why it cannot be read."""
    ready, not_ready, does_not_exist, deleted, internal = reasons
    kind = _ref_kind(scope, ref_field)
    if not scope.spec.get(ref_field) and scope.spec.get("topology"):
        message = "" if scope.deleting else "Waiting for cluster topology to be reconciled"
        return cond.condition(target, FALSE, does_not_exist, message)
    if obj is not None:
        return cond.mirror(obj, source, target, fallback_status=done, fallback_true_reason=ready,
                           fallback_false_reason=not_ready,
                           fallback_message="" if done else f"{kind} {fallback_field} is false")
    if not scope.spec.get(ref_field):
        return cond.condition(target, cond.status_of(done), ready if done else not_ready,
                              "" if done else f"Waiting for the {what}")
    if not not_found:
        return cond.condition(target, UNKNOWN, internal, _INTERNAL_ERROR_MESSAGE)
    if scope.deleting:
        return cond.condition(target, FALSE, deleted if done else does_not_exist,
                              f"{kind} has been deleted" if done else f"{kind} does not exist")
    if done:
        return cond.condition(target, FALSE, deleted, f"{kind} has been deleted while the cluster still exists")
    return cond.condition(target, FALSE, does_not_exist, f"{kind} does not exist")


def infrastructure_ready_condition(scope: ClusterScope) -> cond.Condition:
    """InfrastructureReady mirrors the infrastructure cluster's Ready condition."""
    return _provider_condition(
        scope, ref_field="infrastructureRef", obj=scope.infra_cluster, not_found=scope.infra_cluster_not_found,
        done=scope.infrastructure_provisioned, target=api.INFRASTRUCTURE_READY, source="Ready",
        reasons=(api.INFRASTRUCTURE_READY_REASON, api.INFRASTRUCTURE_NOT_READY_REASON,
                 api.INFRASTRUCTURE_DOES_NOT_EXIST_REASON, api.INFRASTRUCTURE_DELETED_REASON,
                 api.INFRASTRUCTURE_INTERNAL_ERROR_REASON),
        fallback_field="status.initialization.provisioned", what="infrastructure")


def control_plane_available_condition(scope: ClusterScope) -> cond.Condition:
    """ControlPlaneAvailable mirrors the control plane's Available condition."""
    return _provider_condition(
        scope, ref_field="controlPlaneRef", obj=scope.control_plane, not_found=scope.control_plane_not_found,
        done=scope.control_plane_initialized, target=api.CONTROL_PLANE_AVAILABLE, source="Available",
        reasons=(api.CONTROL_PLANE_AVAILABLE_REASON, api.CONTROL_PLANE_NOT_AVAILABLE_REASON,
                 api.CONTROL_PLANE_DOES_NOT_EXIST_REASON, api.CONTROL_PLANE_DELETED_REASON,
                 api.CONTROL_PLANE_INTERNAL_ERROR_REASON),
        fallback_field="status.initialization.controlPlaneInitialized", what="first control plane Machine")


def control_plane_initialized_condition(scope: ClusterScope) -> cond.Condition | None:
    """ControlPlaneInitialized: once True, stays True."""
    if is_true(scope.cluster, api.CONTROL_PLANE_INITIALIZED):
        return None
    type_ = api.CONTROL_PLANE_INITIALIZED
    if scope.control_plane_initialized:
        return cond.condition(type_, TRUE, api.CONTROL_PLANE_INITIALIZED_REASON)
    if not scope.spec.get("controlPlaneRef") and scope.spec.get("topology"):
        message = "" if scope.deleting else "Waiting for cluster topology to be reconciled"
        return cond.condition(type_, UNKNOWN, api.CONTROL_PLANE_DOES_NOT_EXIST_REASON, message)
    if scope.spec.get("controlPlaneRef"):
        if scope.control_plane is None:
            if not scope.control_plane_not_found:
                return cond.condition(type_, UNKNOWN, api.CONTROL_PLANE_INITIALIZED_INTERNAL_ERROR_REASON,
                                      _INTERNAL_ERROR_MESSAGE)
            return cond.condition(type_, UNKNOWN, api.CONTROL_PLANE_DOES_NOT_EXIST_REASON,
                                  f"{_ref_kind(scope, 'controlPlaneRef')} does not exist")
        return cond.condition(type_, FALSE, api.CONTROL_PLANE_NOT_INITIALIZED_REASON,
                              "Control plane not yet initialized")
    if not scope.descendants_listed:
        return cond.condition(type_, UNKNOWN, api.CONTROL_PLANE_INITIALIZED_INTERNAL_ERROR_REASON,
                              _INTERNAL_ERROR_MESSAGE)
    return cond.condition(type_, FALSE, api.CONTROL_PLANE_NOT_INITIALIZED_REASON,
                          "Waiting for the first control plane machine to have status.nodeRef set")


def workers_available_condition(scope: ClusterScope) -> cond.Condition:
    """WorkersAvailable aggregates the MachineDeployments' Available conditions."""
    if not scope.descendants_listed:
        return cond.condition(api.WORKERS_AVAILABLE, UNKNOWN, api.WORKERS_AVAILABLE_INTERNAL_ERROR_REASON,
                              _INTERNAL_ERROR_MESSAGE)
    if not scope.machine_deployments:
        return cond.condition(api.WORKERS_AVAILABLE, TRUE, api.WORKERS_AVAILABLE_NO_WORKERS_REASON)
    return cond.aggregate(scope.machine_deployments, api.AVAILABLE, api.WORKERS_AVAILABLE, reasons=cond.Reasons(
        api.WORKERS_NOT_AVAILABLE_REASON, api.WORKERS_AVAILABLE_UNKNOWN_REASON, api.WORKERS_AVAILABLE_REASON))


def _machines_condition(scope: ClusterScope, machines: list[Object], source: str, target: str,
                        reasons: cond.Reasons, internal: str, no_replicas: str) -> cond.Condition:
    if not scope.descendants_listed:
        return cond.condition(target, UNKNOWN, internal, _INTERNAL_ERROR_MESSAGE)
    if not machines:
        return cond.condition(target, TRUE, no_replicas)
    return cond.aggregate(machines, source, target, reasons=reasons)


def _settled(machine: Object, now: datetime) -> bool:
    """Has an UpToDate condition, or is older than 10 s (new Machines get theirs a moment after creation)."""
    if get_condition(machine, machine_api.UP_TO_DATE) is not None:
        return True
    created = (machine.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return True
    return (now - datetime.fromisoformat(str(created).replace("Z", "+00:00"))).total_seconds() > 10


def machines_conditions(scope: ClusterScope) -> list[cond.Condition]:
    """ControlPlaneMachinesReady, WorkerMachinesReady, ControlPlaneMachinesUpToDate, WorkerMachinesUpToDate."""
    cp, workers = scope.control_plane_machines, scope.worker_machines
    return [
        _machines_condition(scope, cp, machine_api.READY, api.CONTROL_PLANE_MACHINES_READY, cond.Reasons(
            api.CONTROL_PLANE_MACHINES_NOT_READY_REASON, api.CONTROL_PLANE_MACHINES_READY_UNKNOWN_REASON,
            api.CONTROL_PLANE_MACHINES_READY_REASON), api.CONTROL_PLANE_MACHINES_READY_INTERNAL_ERROR_REASON,
            api.CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON),
        _machines_condition(scope, workers, machine_api.READY, api.WORKER_MACHINES_READY, cond.Reasons(
            api.WORKER_MACHINES_NOT_READY_REASON, api.WORKER_MACHINES_READY_UNKNOWN_REASON,
            api.WORKER_MACHINES_READY_REASON), api.WORKER_MACHINES_READY_INTERNAL_ERROR_REASON,
            api.WORKER_MACHINES_READY_NO_REPLICAS_REASON),
        _machines_condition(
            scope, [m for m in cp if _settled(m, scope.now)], machine_api.UP_TO_DATE,
            api.CONTROL_PLANE_MACHINES_UP_TO_DATE, cond.Reasons(
                api.CONTROL_PLANE_MACHINES_NOT_UP_TO_DATE_REASON, api.CONTROL_PLANE_MACHINES_UP_TO_DATE_UNKNOWN_REASON,
                api.CONTROL_PLANE_MACHINES_UP_TO_DATE_REASON),
            api.CONTROL_PLANE_MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON,
            api.CONTROL_PLANE_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON),
        _machines_condition(
            scope, [m for m in workers if _settled(m, scope.now)], machine_api.UP_TO_DATE,
            api.WORKER_MACHINES_UP_TO_DATE, cond.Reasons(
                api.WORKER_MACHINES_NOT_UP_TO_DATE_REASON, api.WORKER_MACHINES_UP_TO_DATE_UNKNOWN_REASON,
                api.WORKER_MACHINES_UP_TO_DATE_REASON), api.WORKER_MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON,
            api.WORKER_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON),
    ]


def rollout_conditions(scope: ClusterScope) -> list[cond.Condition]:
    """RollingOut, ScalingUp, ScalingDown: aggregated from the control plane (if it reports them) and workers."""
    out = []
    owned_sets = [ms for ms in scope.machine_sets if owned_by(ms, scope.cluster)]
    for type_, reasons, with_sets in (
            (api.ROLLING_OUT, (api.ROLLING_OUT_REASON, api.ROLLING_OUT_UNKNOWN_REASON, api.NOT_ROLLING_OUT_REASON),
             False),
            (api.SCALING_UP, (api.SCALING_UP_REASON, api.SCALING_UP_UNKNOWN_REASON, api.NOT_SCALING_UP_REASON), True),
            (api.SCALING_DOWN, (api.SCALING_DOWN_REASON, api.SCALING_DOWN_UNKNOWN_REASON,
                                api.NOT_SCALING_DOWN_REASON), True)):
        sources = []
        if scope.control_plane is not None and get_condition(scope.control_plane, type_) is not None:
            sources.append(scope.control_plane)
        sources.extend(scope.machine_deployments)
        if with_sets:
            sources.extend(owned_sets)
        if not sources:
            out.append(cond.condition(type_, FALSE, reasons[2]))
        else:
            out.append(cond.aggregate(sources, type_, type_, reasons=cond.Reasons(*reasons), negative=True))
    return out


def remediating_condition(scope: ClusterScope) -> cond.Condition:
    """Remediating: whether MachineHealthChecks asked owners to replace any Machine."""
    machines = [*scope.control_plane_machines, *scope.worker_machines]
    to_remediate = [m for m in machines if get_condition(m, machine_api.OWNER_REMEDIATED) is not None]
    if not to_remediate:
        unhealthy = sorted(str(m["metadata"]["name"]) for m in machines
                           if (get_condition(m, machine_api.HEALTH_CHECK_SUCCEEDED) or {}).get("status") == FALSE)
        message = ""
        if unhealthy:
            shown = ", ".join(unhealthy[:3]) + (f", ... ({len(unhealthy) - 3} more)" if len(unhealthy) > 3 else "")
            message = (f"Machine{'s' if len(unhealthy) > 1 else ''} {shown} "
                       f"{'are' if len(unhealthy) > 1 else 'is'} not healthy (not to be remediated)")
        return cond.condition(api.REMEDIATING, FALSE, api.NOT_REMEDIATING_REASON, message)
    merged = cond.aggregate(to_remediate, machine_api.OWNER_REMEDIATED, api.REMEDIATING,
                            reasons=cond.Reasons(api.REMEDIATING_REASON, api.REMEDIATING_REASON,
                                                 api.REMEDIATING_REASON))
    return cond.condition(api.REMEDIATING, TRUE, api.REMEDIATING_REASON, merged["message"])


def deleting_condition(scope: ClusterScope) -> cond.Condition:
    """Deleting: False until deletion starts, then True with the step deletion waits for."""
    if not scope.deleting:
        return cond.condition(api.DELETING, FALSE, api.NOT_DELETING_REASON)
    return cond.condition(api.DELETING, TRUE, scope.deleting_reason or "Deleting", scope.deleting_message)


def available_condition(scope: ClusterScope) -> cond.Condition:
    """Available summarizes Deleting, RemoteConnectionProbe, InfrastructureReady, ControlPlaneAvailable,
    WorkersAvailable, TopologyReconciled and the availability gates."""
    types = [api.DELETING, api.REMOTE_CONNECTION_PROBE, api.INFRASTRUCTURE_READY, api.CONTROL_PLANE_AVAILABLE,
             api.WORKERS_AVAILABLE, api.TOPOLOGY_RECONCILED]
    negative = [api.DELETING]
    for gate in scope.spec.get("availabilityGates") or []:
        types.append(gate["conditionType"])
        if gate.get("polarity") == "Negative":
            negative.append(gate["conditionType"])
    default = cond.default_priority(*negative)

    def priority(c: cond.Condition) -> int:
        type_, reason = c.get("type"), c.get("reason")
        if scope.deleting and (
                (type_ == api.INFRASTRUCTURE_READY and reason in (api.INFRASTRUCTURE_DELETED_REASON,
                                                                  api.INFRASTRUCTURE_DOES_NOT_EXIST_REASON))
                or (type_ == api.CONTROL_PLANE_AVAILABLE and reason in (api.CONTROL_PLANE_DELETED_REASON,
                                                                        api.CONTROL_PLANE_DOES_NOT_EXIST_REASON))):
            return cond.INFO  # expected while the cluster goes away
        if type_ == api.TOPOLOGY_RECONCILED and c.get("status") == FALSE and reason not in (
                api.TOPOLOGY_RECONCILED_FAILED_REASON, api.TOPOLOGY_RECONCILED_CLUSTER_CLASS_NOT_RECONCILED_REASON):
            return cond.INFO
        return default(c)

    return cond.summary(scope.cluster, api.AVAILABLE, types, reasons=cond.Reasons(
        api.NOT_AVAILABLE_REASON, api.AVAILABLE_UNKNOWN_REASON, api.AVAILABLE_REASON), negative_types=negative,
        ignore_if_missing=() if scope.spec.get("topology") else (api.TOPOLOGY_RECONCILED,), priority=priority)
