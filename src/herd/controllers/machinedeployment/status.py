"""The MachineDeployment's counters, phase and v1beta2 conditions, computed from a scope. Pure: no I/O."""

from __future__ import annotations

from herd.api.cluster import machine as machine_api
from herd.api.cluster import machinedeployment as api
from herd.api.objects import nested, rfc3339
from herd.contract import conditions as cond
from herd.runtime import Object, Selector
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN

from .rollout import surge_and_unavailable
from .scope import MachineDeploymentScope


def update_status(scope: MachineDeploymentScope) -> None:
    """Everything the MachineDeployment controller reports."""
    md, now = scope.md, rfc3339(scope.now)
    set_counters(scope)
    for condition in (available_condition(scope), rolling_out_condition(scope), scaling_up_condition(scope),
                      scaling_down_condition(scope), machines_ready_condition(scope),
                      machines_up_to_date_condition(scope), deleting_condition(scope),
                      cond.paused_condition(scope.cluster, md)):
        cond.apply(md, condition, now=now)
    set_phase(scope)


def _sum(machine_sets: list[Object], field: str) -> int:
    return sum(int(nested(ms, "status", field) or 0) for ms in machine_sets)


def set_counters(scope: MachineDeploymentScope) -> None:
    """status.selector and the replica counters, summed over the MachineSets."""
    status = scope.status
    selector = str(Selector.from_label_selector(scope.spec.get("selector")))
    if selector:
        status["selector"] = selector
    for field in ("replicas", "readyReplicas", "availableReplicas", "upToDateReplicas"):
        status[field] = _sum(scope.machine_sets, field)


def available_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """Available: at least spec.replicas - maxUnavailable Machines are available."""
    desired = scope.replicas
    if desired is None:
        return cond.condition(api.AVAILABLE, UNKNOWN, api.AVAILABLE_WAITING_FOR_REPLICAS_SET_REASON,
                              "Waiting for spec.replicas set")
    if scope.deleting:
        return cond.condition(api.AVAILABLE, FALSE, api.NOT_AVAILABLE_REASON, "Deletion in progress")
    _, max_unavailable = surge_and_unavailable(scope.max_surge, scope.max_unavailable, desired)
    if scope.strategy != "RollingUpdate":
        max_unavailable = 0
    required = max(0, desired - max_unavailable)
    available = int(scope.status.get("availableReplicas") or 0)
    if available >= required:
        return cond.condition(api.AVAILABLE, TRUE, api.AVAILABLE_REASON)
    message = f"{available} available replicas, at least {required} required"
    if max_unavailable:
        message += f" (spec.rollout.strategy.rollingUpdate.maxUnavailable is {scope.max_unavailable}, " \
                   f"spec.replicas is {desired})"
    return cond.condition(api.AVAILABLE, FALSE, api.NOT_AVAILABLE_REASON, message)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def rolling_out_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """RollingOut: some Machines belong to MachineSets of an older template."""
    outdated = sum(max(int(nested(ms, "status", "replicas") or 0), int(nested(ms, "spec", "replicas") or 0))
                   for ms in scope.old_machine_sets)
    if scope.new_machine_set is None and scope.machine_sets:
        outdated = max(outdated, 1)
    if outdated == 0:
        return cond.condition(api.ROLLING_OUT, FALSE, api.NOT_ROLLING_OUT_REASON)
    message = f"Rolling out {_plural(outdated, 'not up-to-date replica')}"
    if scope.rollout_message:
        message += f"\n* {scope.rollout_message}"
    return cond.condition(api.ROLLING_OUT, TRUE, api.ROLLING_OUT_REASON, message)


def _desired(scope: MachineDeploymentScope) -> int | None:
    return 0 if scope.deleting else scope.replicas


def scaling_up_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """ScalingUp: fewer Machines than wanted."""
    desired = _desired(scope)
    if desired is None:
        return cond.condition(api.SCALING_UP, UNKNOWN, api.SCALING_UP_WAITING_FOR_REPLICAS_SET_REASON,
                              "Waiting for spec.replicas set")
    current = int(scope.status.get("replicas") or 0)
    if current >= desired:
        return cond.condition(api.SCALING_UP, FALSE, api.NOT_SCALING_UP_REASON)
    return cond.condition(api.SCALING_UP, TRUE, api.SCALING_UP_REASON,
                          f"Scaling up from {current} to {_plural(desired, 'replica')}")


def scaling_down_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """ScalingDown: more Machines than wanted."""
    desired = _desired(scope)
    if desired is None:
        return cond.condition(api.SCALING_DOWN, UNKNOWN, api.SCALING_DOWN_WAITING_FOR_REPLICAS_SET_REASON,
                              "Waiting for spec.replicas set")
    current = int(scope.status.get("replicas") or 0)
    if current <= desired:
        return cond.condition(api.SCALING_DOWN, FALSE, api.NOT_SCALING_DOWN_REASON)
    return cond.condition(api.SCALING_DOWN, TRUE, api.SCALING_DOWN_REASON,
                          f"Scaling down from {current} to {_plural(desired, 'replica')}")


def machines_ready_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """MachinesReady: the Machines' Ready conditions merged (True when there are none)."""
    if not scope.machines:
        return cond.condition(api.MACHINES_READY, TRUE, api.MACHINES_READY_NO_REPLICAS_REASON)
    return cond.aggregate(scope.machines, machine_api.READY, api.MACHINES_READY, reasons=cond.Reasons(
        api.MACHINES_NOT_READY_REASON, api.MACHINES_READY_UNKNOWN_REASON, api.MACHINES_READY_REASON))


def machines_up_to_date_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """MachinesUpToDate: the Machines' UpToDate conditions merged (True when there are none)."""
    if not scope.machines:
        return cond.condition(api.MACHINES_UP_TO_DATE, TRUE, api.MACHINES_UP_TO_DATE_NO_REPLICAS_REASON)
    return cond.aggregate(scope.machines, machine_api.UP_TO_DATE, api.MACHINES_UP_TO_DATE, reasons=cond.Reasons(
        api.MACHINES_NOT_UP_TO_DATE_REASON, api.MACHINES_UP_TO_DATE_UNKNOWN_REASON, api.MACHINES_UP_TO_DATE_REASON))


def deleting_condition(scope: MachineDeploymentScope) -> cond.Condition:
    """Deleting: False until deletion starts, then what deletion waits for."""
    if not scope.deleting:
        return cond.condition(api.DELETING, FALSE, api.NOT_DELETING_REASON)
    return cond.condition(api.DELETING, TRUE, api.DELETING_REASON, scope.deleting_message)


def set_phase(scope: MachineDeploymentScope) -> None:
    """ScalingUp / ScalingDown while the Machine count is off, Running once it matches."""
    desired, current = scope.replicas, int(scope.status.get("replicas") or 0)
    if desired is None:
        scope.status["phase"] = api.PHASE_UNKNOWN
    elif current < desired:
        scope.status["phase"] = api.PHASE_SCALING_UP
    elif current > desired:
        scope.status["phase"] = api.PHASE_SCALING_DOWN
    else:
        scope.status["phase"] = api.PHASE_RUNNING
