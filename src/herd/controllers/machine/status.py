"""The Machine's phase and v1beta2 conditions, computed from a MachineScope. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from herd.api.cluster import cluster as cluster_api
from herd.api.cluster import machine as api
from herd.api.objects import nested, parse_time, rfc3339
from herd.contract import conditions as cond
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, is_true

from .scope import CONNECTION_DOWN, MachineScope

_INTERNAL_ERROR_MESSAGE = "Please check controller logs for errors"
UNPROBED_RECHECK_SECONDS = 2.0  # how soon a Machine looks again at a workload cluster not yet probed
_NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def update_status(scope: MachineScope) -> float:
    """Everything the Machine controller reports; returns seconds until Available may change (0: no wait)."""
    machine, now = scope.machine, rfc3339(scope.now)
    cond.apply(machine, bootstrap_config_ready_condition(scope), now=now)
    cond.apply(machine, infrastructure_ready_condition(scope), now=now)
    for node_condition in node_conditions(scope):
        cond.apply(machine, node_condition, now=now)
    deleting = deleting_condition(scope)
    if deleting is not None:
        cond.apply(machine, deleting, now=now)
    cond.apply(machine, cond.condition(api.UPDATING, FALSE, api.NOT_UPDATING_REASON), now=now)  # no in-place yet
    cond.apply(machine, ready_condition(scope), now=now)
    available, wait = available_condition(scope)
    cond.apply(machine, available, now=now)
    set_phase(scope)
    if scope.health.last_probe_success_time is None and scope.health.consecutive_failures < 5 and \
            is_true(scope.cluster or {}, cluster_api.CONTROL_PLANE_INITIALIZED):
        # the workload cluster not probed yet (e.g. just after a restart): no event tells this Machine when it is
        wait = min(wait, UNPROBED_RECHECK_SECONDS) if wait > 0 else UNPROBED_RECHECK_SECONDS
    return wait


def _provider_condition(scope: MachineScope, *, ref_kind: str, obj: dict[str, object] | None, not_found: bool,
                        done: bool, target: str, field: str,
                        reasons: tuple[str, str, str, str, str]) -> cond.Condition:
    ready, not_ready, does_not_exist, deleted, internal = reasons
    if obj is not None:
        return cond.mirror(obj, "Ready", target, fallback_status=done, fallback_true_reason=ready,
                           fallback_false_reason=not_ready,
                           fallback_message="" if done else f"{ref_kind} {field} is false")
    if not not_found:
        return cond.condition(target, UNKNOWN, internal, _INTERNAL_ERROR_MESSAGE)
    if scope.deleting:
        return cond.condition(target, FALSE, deleted if done else does_not_exist,
                              f"{ref_kind} has been deleted" if done else f"{ref_kind} does not exist")
    if done and target == api.INFRASTRUCTURE_READY:
        return cond.condition(target, FALSE, deleted, f"{ref_kind} has been deleted while the Machine still exists")
    return cond.condition(target, FALSE, does_not_exist, f"{ref_kind} does not exist")


def bootstrap_config_ready_condition(scope: MachineScope) -> cond.Condition:
    """BootstrapConfigReady mirrors the bootstrap config's Ready condition (True when data is given directly)."""
    ref = nested(scope.machine, "spec", "bootstrap", "configRef")
    if not ref:
        return cond.condition(api.BOOTSTRAP_CONFIG_READY, TRUE, api.BOOTSTRAP_DATA_SECRET_PROVIDED_REASON)
    return _provider_condition(
        scope, ref_kind=str(ref.get("kind", "")), obj=scope.bootstrap_config,
        not_found=scope.bootstrap_config_not_found, done=scope.bootstrap_data_secret_created,
        target=api.BOOTSTRAP_CONFIG_READY, field="status.initialization.dataSecretCreated",
        reasons=(api.BOOTSTRAP_CONFIG_READY_REASON, api.BOOTSTRAP_CONFIG_NOT_READY_REASON,
                 api.BOOTSTRAP_CONFIG_DOES_NOT_EXIST_REASON, api.BOOTSTRAP_CONFIG_DELETED_REASON,
                 api.BOOTSTRAP_CONFIG_INTERNAL_ERROR_REASON))


def infrastructure_ready_condition(scope: MachineScope) -> cond.Condition:
    """InfrastructureReady mirrors the infrastructure machine's Ready condition."""
    ref = scope.spec.get("infrastructureRef") or {}
    return _provider_condition(
        scope, ref_kind=str(ref.get("kind", "")), obj=scope.infra_machine, not_found=scope.infra_machine_not_found,
        done=scope.infrastructure_provisioned, target=api.INFRASTRUCTURE_READY,
        field="status.initialization.provisioned",
        reasons=(api.INFRASTRUCTURE_READY_REASON, api.INFRASTRUCTURE_NOT_READY_REASON,
                 api.INFRASTRUCTURE_DOES_NOT_EXIST_REASON, api.INFRASTRUCTURE_DELETED_REASON,
                 api.INFRASTRUCTURE_INTERNAL_ERROR_REASON))


def _both(status: cond.Status, reason: str, message: str) -> list[cond.Condition]:
    return [cond.condition(api.NODE_READY, status, reason, message),
            cond.condition(api.NODE_HEALTHY, status, reason, message)]


def _probe_message(last: datetime | None) -> str:
    return f"Last successful probe at {rfc3339(last)}" if last is not None else ""


def node_conditions(scope: MachineScope) -> list[cond.Condition]:
    """NodeReady and NodeHealthy, or nothing when the last known values should be kept."""
    machine, cluster = scope.machine, scope.cluster or {}
    if nested(cluster, "status", "initialization", "infrastructureProvisioned") is not True:
        return _both(UNKNOWN, api.NODE_INSPECTION_FAILED_REASON,
                     "Waiting for Cluster status.initialization.infrastructureProvisioned to be true")
    cp_initialized = get_condition(cluster, cluster_api.CONTROL_PLANE_INITIALIZED)
    if cp_initialized is None or cp_initialized.get("status") != TRUE:
        return _both(UNKNOWN, api.NODE_INSPECTION_FAILED_REASON, "Waiting for Cluster control plane to be initialized")
    known = cond.has_condition(machine, api.NODE_READY) and cond.has_condition(machine, api.NODE_HEALTHY)
    health = scope.health
    if health.last_probe_success_time is None and health.consecutive_failures < 5:
        return [] if known else _both(UNKNOWN, api.NODE_CONNECTION_DOWN_REASON,
                                      "Remote connection not established yet")
    since = max(t for t in (health.last_probe_success_time, parse_time(cp_initialized.get("lastTransitionTime")),
                            datetime.min.replace(tzinfo=scope.now.tzinfo)) if t is not None)
    if (scope.now - since).total_seconds() > scope.remote_conditions_grace_seconds:
        return _both(UNKNOWN, api.NODE_CONNECTION_DOWN_REASON, _probe_message(health.last_probe_success_time))
    if scope.node_error == CONNECTION_DOWN:
        return [] if known else _both(UNKNOWN, api.NODE_CONNECTION_DOWN_REASON,
                                      _probe_message(health.last_probe_success_time))
    if scope.node_error:
        return _both(UNKNOWN, api.NODE_INTERNAL_ERROR_REASON, _INTERNAL_ERROR_MESSAGE)
    node_ref = scope.node_ref_name
    if scope.node is not None:
        return [node_ready_condition(scope.node), node_healthy_condition(scope.node)]
    if scope.deleting:
        if node_ref:
            return _both(FALSE, api.NODE_DELETED_REASON, f"Node {node_ref} has been deleted")
        return _both(UNKNOWN, api.NODE_DOES_NOT_EXIST_REASON, "Node does not exist")
    if node_ref:
        return _both(FALSE, api.NODE_DELETED_REASON, f"Node {node_ref} has been deleted while the Machine still exists")
    if scope.provider_id:
        return _both(UNKNOWN, api.NODE_INSPECTION_FAILED_REASON,
                     f"Waiting for a Node with spec.providerID {scope.provider_id} to exist")
    kind = (scope.spec.get("infrastructureRef") or {}).get("kind", "")
    return _both(UNKNOWN, api.NODE_INSPECTION_FAILED_REASON, f"Waiting for {kind} to report spec.providerID")


def _node_condition(node: dict[str, object], type_: str) -> dict[str, object] | None:
    for found in nested(node, "status", "conditions") or []:
        if isinstance(found, dict) and found.get("type") == type_:
            return found
    return None


def node_ready_condition(node: dict[str, object]) -> cond.Condition:
    """NodeReady mirrors the Node's Ready condition."""
    ready = _node_condition(node, "Ready")
    if ready is None:
        return cond.condition(api.NODE_READY, UNKNOWN, api.NODE_READY_UNKNOWN_REASON,
                              "* Node.Ready: Condition not yet reported")
    raw = ready.get("status")
    status: cond.Status = TRUE if raw == TRUE else FALSE if raw == FALSE else UNKNOWN
    reason = {TRUE: api.NODE_READY_REASON, FALSE: api.NODE_NOT_READY_REASON, UNKNOWN: api.NODE_READY_UNKNOWN_REASON}
    message = f"* Node.Ready: {ready['message']}" if status != TRUE and ready.get("message") else ""
    return cond.condition(api.NODE_READY, status, reason[status], message)


def node_healthy_condition(node: dict[str, object]) -> cond.Condition:
    """NodeHealthy: Ready, and no memory, disk or PID pressure."""
    bad = unknown = reported = 0
    messages: list[str] = []
    distinct: set[str] = set()
    for type_ in _NODE_CONDITIONS:
        found = _node_condition(node, type_)
        if found is None:
            messages.append(f"* Node.{type_}: Condition not yet reported")
            unknown += 1
            continue
        status = found.get("status")
        healthy = status == (TRUE if type_ == "Ready" else FALSE)
        if healthy:
            continue
        text = str(found.get("message") or f"Condition is {status}")
        reported += 1
        distinct.add(text)
        messages.append(f"* Node.{type_}: {text}")
        if status == UNKNOWN:
            unknown += 1
        else:
            bad += 1
    if reported > 1 and len(distinct) == 1:
        messages = [f"* Node.AllConditions: {next(iter(distinct))}"]
    if bad:
        return cond.condition(api.NODE_HEALTHY, FALSE, api.NODE_NOT_HEALTHY_REASON, "\n".join(messages))
    if unknown:
        return cond.condition(api.NODE_HEALTHY, UNKNOWN, api.NODE_HEALTH_UNKNOWN_REASON, "\n".join(messages))
    return cond.condition(api.NODE_HEALTHY, TRUE, api.NODE_HEALTHY_REASON)


def deleting_condition(scope: MachineScope) -> cond.Condition | None:
    """Deleting: False until deletion starts, then the step deletion waits for (kept when deletion did not run)."""
    if not scope.deleting:
        return cond.condition(api.DELETING, FALSE, api.NOT_DELETING_REASON)
    if not scope.reconcile_delete_executed:
        return None
    return cond.condition(api.DELETING, TRUE, scope.deleting_reason or api.DELETING_REASON, scope.deleting_message)


def _deleting_for_summary(scope: MachineScope) -> cond.Condition:
    """A short Deleting condition for Ready, so the Ready messages of many Machines aggregate well."""
    current = get_condition(scope.machine, api.DELETING)
    message = "Machine deletion in progress"
    if current is not None:
        started = parse_time(scope.meta.get("deletionTimestamp"))
        late = started is not None and (scope.now - started).total_seconds() > 15 * 60
        message = (f"Machine deletion in progress{' since more than 15m' if late else ''}, "
                   f"stage: {current.get('reason')}")
    return cond.condition(api.DELETING, TRUE, api.DELETING_REASON, message)


def ready_condition(scope: MachineScope) -> cond.Condition:
    """Ready summarizes Deleting, BootstrapConfigReady, InfrastructureReady, NodeHealthy, HealthCheckSucceeded and
    the readiness gates."""
    types = [api.DELETING, api.BOOTSTRAP_CONFIG_READY, api.INFRASTRUCTURE_READY, api.NODE_HEALTHY,
             api.HEALTH_CHECK_SUCCEEDED]
    negative = [api.DELETING]
    for gate in scope.spec.get("readinessGates") or []:
        types.append(gate["conditionType"])
        if gate.get("polarity") == "Negative":
            negative.append(gate["conditionType"])
    default = cond.default_priority(*negative)
    gone = {api.BOOTSTRAP_CONFIG_READY: (api.BOOTSTRAP_CONFIG_DELETED_REASON,
                                         api.BOOTSTRAP_CONFIG_DOES_NOT_EXIST_REASON),
            api.INFRASTRUCTURE_READY: (api.INFRASTRUCTURE_DELETED_REASON, api.INFRASTRUCTURE_DOES_NOT_EXIST_REASON),
            api.NODE_HEALTHY: (api.NODE_DELETED_REASON, api.NODE_DOES_NOT_EXIST_REASON)}

    def priority(c: cond.Condition) -> int:
        if scope.deleting and c.get("reason") in gone.get(str(c.get("type")), ()):
            return cond.INFO  # objects going away is what deletion is about
        return default(c)

    overrides = {api.DELETING: _deleting_for_summary(scope)} if scope.deleting else None
    return cond.summary(scope.machine, api.READY, types, reasons=cond.Reasons(
        api.NOT_READY_REASON, api.READY_UNKNOWN_REASON, api.READY_REASON), negative_types=negative,
        ignore_if_missing=(api.HEALTH_CHECK_SUCCEEDED,), overrides=overrides, priority=priority)


def available_condition(scope: MachineScope) -> tuple[cond.Condition, float]:
    """Available: Ready for at least spec.minReadySeconds; also the seconds left to wait."""
    ready = get_condition(scope.machine, api.READY)
    if ready is None or ready.get("status") != TRUE:
        return cond.condition(api.AVAILABLE, FALSE, api.NOT_READY_REASON), 0.0
    min_ready = float(scope.spec.get("minReadySeconds") or 0)
    since = parse_time(ready.get("lastTransitionTime")) or scope.now
    waited = (scope.now - since).total_seconds()
    if waited >= min_ready:
        return cond.condition(api.AVAILABLE, TRUE, api.AVAILABLE_REASON), 0.0
    return cond.condition(api.AVAILABLE, FALSE, api.WAITING_FOR_MIN_READY_SECONDS_REASON), min_ready - waited


def set_phase(scope: MachineScope) -> None:
    """Pending → Provisioning (bootstrap data) → Provisioned (providerID) → Running (Node); Deleting; Failed."""
    status = scope.status
    before = status.get("phase")
    phase = before or api.PHASE_PENDING
    if scope.bootstrap_data_secret_created and not scope.infrastructure_provisioned:
        phase = api.PHASE_PROVISIONING
    if scope.provider_id:
        phase = api.PHASE_PROVISIONED
    if scope.node_ref_name and scope.infrastructure_provisioned:
        phase = api.PHASE_RUNNING
    if nested(status, "deprecated", "v1beta1", "failureReason") or nested(status, "deprecated", "v1beta1",
                                                                           "failureMessage"):
        phase = api.PHASE_FAILED
    if scope.deleting:
        phase = api.PHASE_DELETED if scope.deleting_reason == api.DELETING_DELETION_COMPLETED_REASON \
            else api.PHASE_DELETING
    status["phase"] = phase
    if phase != before:
        status["lastUpdated"] = rfc3339(scope.now)

