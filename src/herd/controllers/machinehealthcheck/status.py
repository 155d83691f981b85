"""The MachineHealthCheck's status and the remediation limits of spec.remediation.triggerIf: pure, no I/O."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from herd.api.cluster import machinehealthcheck as mhc_api
from herd.contract import conditions as cond
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE

_RANGE = re.compile(r"^\[(\d+)-(\d+)\]$")


@dataclass(frozen=True)
class RemediationDecision:
    """Whether unhealthy Machines may be remediated now, how many more could be, and why not when not."""

    allowed: bool
    remediations_allowed: int
    message: str = ""


def parse_range(text: str) -> tuple[int, int] | None:
    """"[min-max]" as (min, max); None when malformed or min > max."""
    match = _RANGE.match(text.strip())
    if match is None:
        return None
    low, high = int(match.group(1)), int(match.group(2))
    return (low, high) if low <= high else None


def scaled(value: int | str, total: int) -> int:
    """An int-or-percent as a count: a percentage of `total`, rounded down (as upstream scales maxUnhealthy)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        return math.floor(int(text[:-1]) * total / 100)
    return int(text)


def remediation_decision(spec: dict[str, Any], expected: int, healthy: int) -> RemediationDecision:
    """Apply triggerIf to `expected - healthy` unhealthy or not-yet-started Machines.

    unhealthyInRange wins over unhealthyLessThanOrEqualTo; with neither, remediation is always allowed.
    """
    trigger_if = ((spec.get("remediation") or {}).get("triggerIf")) or {}
    unhealthy = max(expected - healthy, 0)
    in_range = trigger_if.get("unhealthyInRange")
    if in_range:
        bounds = parse_range(str(in_range))
        if bounds is None:
            return RemediationDecision(False, 0, f"Remediation is not allowed: unhealthyInRange {in_range!r} is "
                                       "not of the form [min-max]")
        low, high = bounds
        if low <= unhealthy <= high:
            return RemediationDecision(True, high - unhealthy)
        return RemediationDecision(False, 0, f"Remediation is not allowed: {unhealthy} of {expected} Machines are "
                                   f"unhealthy or not yet started, outside unhealthyInRange {in_range}")
    limit = trigger_if.get("unhealthyLessThanOrEqualTo")
    if limit is None:
        return RemediationDecision(True, expected - unhealthy)  # upstream's default: 100% of the Machines
    try:
        maximum = scaled(limit, expected)
    except ValueError:
        return RemediationDecision(False, 0, f"Remediation is not allowed: unhealthyLessThanOrEqualTo {limit!r} is "
                                   "neither a number nor a percentage")
    if unhealthy <= maximum:
        return RemediationDecision(True, maximum - unhealthy)
    return RemediationDecision(False, 0, f"Remediation is not allowed: {unhealthy} of {expected} Machines are "
                               f"unhealthy or not yet started, more than unhealthyLessThanOrEqualTo ({limit}) permits")


def remediation_allowed_condition(decision: RemediationDecision) -> cond.Condition:
    """RemediationAllowed: True, or False with TooManyUnhealthy and the decision's message."""
    if decision.allowed:
        return cond.condition(mhc_api.REMEDIATION_ALLOWED, TRUE, mhc_api.REMEDIATION_ALLOWED_REASON)
    return cond.condition(mhc_api.REMEDIATION_ALLOWED, FALSE, mhc_api.TOO_MANY_UNHEALTHY_REASON, decision.message)


def set_status(mhc: Object, *, targets: list[str], healthy: int, decision: RemediationDecision) -> None:
    """Write the counters, the target names and RemediationAllowed onto the MachineHealthCheck."""
    status: dict[str, Any] = mhc.setdefault("status", {})
    status["expectedMachines"] = len(targets)
    status["currentHealthy"] = healthy
    status["remediationsAllowed"] = decision.remediations_allowed
    if targets:
        status["targets"] = sorted(targets)
    else:
        status.pop("targets", None)
    cond.apply(mhc, remediation_allowed_condition(decision))
