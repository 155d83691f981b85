"""The MachineSet's replica counters and v1beta2 conditions, computed from a MachineSetScope. Pure: no I/O."""

from __future__ import annotations

from datetime import timedelta

from herd.api.cluster import machineset as api
from herd.api.cluster import shared
from herd.api.objects import nested, parse_time
from herd.contract import conditions as cond
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, is_true
from herd.runtime.labels import Selector

from .scope import MachineSetScope

_INTERNAL_ERROR_MESSAGE = "Please check controller logs for errors"
OWNER_REMEDIATED = "OwnerRemediated"
UP_TO_DATE = "UpToDate"
NEW_MACHINE_GRACE = timedelta(seconds=10)  # a new Machine without UpToDate yet does not make MachinesUpToDate flicker


def update_status(scope: MachineSetScope) -> None:
    """Everything the MachineSet controller reports (Paused is set by the controller, which knows the Cluster)."""
    set_replicas(scope)
    set_selector(scope)
    for condition in (scaling_up_condition(scope), scaling_down_condition(scope), machines_ready_condition(scope),
                      machines_up_to_date_condition(scope), remediating_condition(scope), deleting_condition(scope)):
        cond.apply(scope.machine_set, condition)


def set_replicas(scope: MachineSetScope) -> None:
    """replicas, readyReplicas, availableReplicas, upToDateReplicas (left alone when Machines were not listed)."""
    if not scope.machines_listed:
        return
    machines = scope.machines
    scope.status["replicas"] = len(machines)
    scope.status["readyReplicas"] = sum(1 for m in machines if is_true(m, "Ready"))
    scope.status["availableReplicas"] = sum(1 for m in machines if is_true(m, "Available"))
    scope.status["upToDateReplicas"] = sum(1 for m in machines if is_true(m, UP_TO_DATE))


def set_selector(scope: MachineSetScope) -> None:
    """status.selector: spec.selector as a label query, for the scale subresource."""
    try:
        text = str(Selector.from_label_selector(scope.spec.get("selector")))
    except ValueError:
        return
    if text:
        scope.status["selector"] = text
    else:
        scope.status.pop("selector", None)


def missing_templates_message(scope: MachineSetScope) -> str:
    """e.g. "DevMachineTemplate does not exist", or both kinds joined with "and" ("" when nothing is missing)."""
    spec = scope.template.get("spec") or {}
    missing = []
    if scope.bootstrap_template_not_found:
        missing.append(str(nested(spec, "bootstrap", "configRef", "kind") or "bootstrap template"))
    if scope.infra_template_not_found:
        missing.append(str(nested(spec, "infrastructureRef", "kind") or "infrastructure template"))
    if not missing:
        return ""
    return " and ".join(missing) + (" does not exist" if len(missing) == 1 else " do not exist")


def scaling_up_condition(scope: MachineSetScope) -> cond.Condition:
    """ScalingUp: True while there are fewer Machines than desired (saying what blocks creating more)."""
    if scope.replicas is None:
        return cond.condition(api.SCALING_UP, UNKNOWN, api.SCALING_UP_WAITING_FOR_REPLICAS_SET_REASON,
                              "Waiting for spec.replicas set")
    if not scope.machines_listed:
        return cond.condition(api.SCALING_UP, UNKNOWN, api.SCALING_UP_INTERNAL_ERROR_REASON, _INTERNAL_ERROR_MESSAGE)
    missing = missing_templates_message(scope)
    current, desired = len(scope.machines), scope.desired_replicas
    if current >= desired:
        message = f"Scaling up would be blocked because {missing}" if missing else ""
        return cond.condition(api.SCALING_UP, FALSE, api.NOT_SCALING_UP_REASON, message)
    message = f"Scaling up from {current} to {desired} replicas"
    if missing:
        message += f" is blocked because {missing}"
    return cond.condition(api.SCALING_UP, TRUE, api.SCALING_UP_REASON, message)


def scaling_down_condition(scope: MachineSetScope) -> cond.Condition:
    """ScalingDown: True while there are more Machines than desired."""
    if scope.replicas is None:
        return cond.condition(api.SCALING_DOWN, UNKNOWN, api.SCALING_DOWN_WAITING_FOR_REPLICAS_SET_REASON,
                              "Waiting for spec.replicas set")
    if not scope.machines_listed:
        return cond.condition(api.SCALING_DOWN, UNKNOWN, api.SCALING_DOWN_INTERNAL_ERROR_REASON,
                              _INTERNAL_ERROR_MESSAGE)
    current, desired = len(scope.machines), scope.desired_replicas
    if current <= desired:
        return cond.condition(api.SCALING_DOWN, FALSE, api.NOT_SCALING_DOWN_REASON)
    message = f"Scaling down from {current} to {desired} replicas"
    stale = stale_deleting_machines(scope)
    if stale:
        message += _stale_message(stale)
    return cond.condition(api.SCALING_DOWN, TRUE, api.SCALING_DOWN_REASON, message)


def stale_deleting_machines(scope: MachineSetScope) -> list[Object]:
    """Machines whose deletion started more than 15 minutes ago."""
    out = []
    for machine in scope.machines:
        since = parse_time(nested(machine, "metadata", "deletionTimestamp"))
        if since is not None and scope.now - since > timedelta(minutes=15):
            out.append(machine)
    return out


def _stale_message(stale: list[Object]) -> str:
    return f"\n* {_names(stale)} {'is' if len(stale) == 1 else 'are'} in deletion since more than 15m"


def _names(machines: list[Object]) -> str:
    names = sorted(str(nested(m, "metadata", "name")) for m in machines)
    shown = ", ".join(names[:3]) + (f", ... ({len(names) - 3} more)" if len(names) > 3 else "")
    return ("Machine " if len(names) == 1 else "Machines ") + shown


def machines_ready_condition(scope: MachineSetScope) -> cond.Condition:
    """MachinesReady: the Machines' Ready conditions merged (True with NoReplicas when there are none)."""
    if not scope.machines_listed:
        return cond.condition(api.MACHINES_READY, UNKNOWN, api.MACHINES_READY_INTERNAL_ERROR_REASON,
                              _INTERNAL_ERROR_MESSAGE)
    if not scope.machines:
        return cond.condition(api.MACHINES_READY, TRUE, api.MACHINES_READY_NO_REPLICAS_REASON)
    return cond.aggregate(scope.machines, "Ready", api.MACHINES_READY, reasons=cond.Reasons(
        api.MACHINES_NOT_READY_REASON, api.MACHINES_READY_UNKNOWN_REASON, api.MACHINES_READY_REASON))


def machines_up_to_date_condition(scope: MachineSetScope) -> cond.Condition:
    """MachinesUpToDate: the Machines' UpToDate conditions merged; brand-new Machines count once they report one."""
    if not scope.machines_listed:
        return cond.condition(api.MACHINES_UP_TO_DATE, UNKNOWN, api.MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON,
                              _INTERNAL_ERROR_MESSAGE)
    considered = []
    for machine in scope.machines:
        created = parse_time(nested(machine, "metadata", "creationTimestamp"))
        if get_condition(machine, UP_TO_DATE) is not None or created is None or \
                scope.now - created > NEW_MACHINE_GRACE:
            considered.append(machine)
    if not considered:
        return cond.condition(api.MACHINES_UP_TO_DATE, TRUE, api.MACHINES_UP_TO_DATE_NO_REPLICAS_REASON)
    return cond.aggregate(considered, UP_TO_DATE, api.MACHINES_UP_TO_DATE, reasons=cond.Reasons(
        api.MACHINES_NOT_UP_TO_DATE_REASON, api.MACHINES_UP_TO_DATE_UNKNOWN_REASON, api.MACHINES_UP_TO_DATE_REASON))


def remediating_condition(scope: MachineSetScope) -> cond.Condition:
    """Remediating: True while some Machines have OwnerRemediated False (a health check asked us to replace them)."""
    if not scope.machines_listed:
        return cond.condition(api.REMEDIATING, UNKNOWN, api.REMEDIATING_INTERNAL_ERROR_REASON, _INTERNAL_ERROR_MESSAGE)
    waiting = [m for m in scope.machines if (get_condition(m, OWNER_REMEDIATED) or {}).get("status") == FALSE]
    if not waiting:
        return cond.condition(api.REMEDIATING, FALSE, api.NOT_REMEDIATING_REASON)
    merged = cond.aggregate(waiting, OWNER_REMEDIATED, api.REMEDIATING, reasons=cond.Reasons(
        api.REMEDIATING_REASON, api.REMEDIATING_REASON, api.REMEDIATING_REASON))
    return cond.condition(api.REMEDIATING, TRUE, api.REMEDIATING_REASON, merged.get("message", ""))


def deleting_condition(scope: MachineSetScope) -> cond.Condition:
    """Deleting: False until the MachineSet is deleted; then how many Machines are still going."""
    if not scope.deleting:
        return cond.condition(api.DELETING, FALSE, api.NOT_DELETING_REASON)
    message = ""
    if scope.machines:
        count = len(scope.machines)
        message = f"Deleting {count} Machine" + ("s" if count != 1 else "")
        stale = stale_deleting_machines(scope)
        if stale:
            message += _stale_message(stale)
    return cond.condition(api.DELETING, TRUE, api.DELETING_REASON, message)


def machine_up_to_date_condition(scope: MachineSetScope) -> cond.Condition:
    """The UpToDate condition of the MachineSet's Machines: a stand-alone MachineSet's Machines always are;
    a MachineDeployment's are when the MachineSet's template still matches the deployment's."""
    deployment = scope.machine_deployment
    if not scope.deployment_name or deployment is None:
        return cond.condition(UP_TO_DATE, TRUE, shared.UP_TO_DATE_REASON)
    if _template_matches(scope.template, nested(deployment, "spec", "template") or {}):
        return cond.condition(UP_TO_DATE, TRUE, shared.UP_TO_DATE_REASON)
    return cond.condition(UP_TO_DATE, FALSE, shared.NOT_UP_TO_DATE_REASON,
                          "* Machine template is not the MachineDeployment's")


def _template_matches(ours: dict[str, object], theirs: dict[str, object]) -> bool:
    """Whether the rollout-relevant parts of two Machine templates agree (labels and annotations aside)."""
    def relevant(template: dict[str, object]) -> dict[str, object]:
        raw = template.get("spec")
        spec: dict[str, object] = dict(raw) if isinstance(raw, dict) else {}
        for in_place in ("readinessGates", "deletion", "minReadySeconds", "taints"):
            spec.pop(in_place, None)
        return spec
    return relevant(ours) == relevant(theirs)
