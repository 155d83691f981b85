"""Cluster API v1beta2 conditions (`metav1.Condition` under `status.conditions`) on plain-dict objects.

Pure functions: they read and change the dict they are given and never talk to a server.
`lastTransitionTime` moves only when a condition's `status` changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from .objects import Object

Condition = dict[str, Any]
Status = Literal["True", "False", "Unknown"]

TRUE: Status = "True"
FALSE: Status = "False"
UNKNOWN: Status = "Unknown"
NOT_YET_REPORTED_REASON = "NotYetReported"  # upstream's reason when a mirrored condition is missing


def now_rfc3339() -> str:
    """The current time as Kubernetes writes `metav1.Time` (seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(value: bool | str) -> Status:
    if value is True or value == "True":
        return TRUE
    if value is False or value == "False":
        return FALSE
    if value == "Unknown":
        return UNKNOWN
    raise ValueError(f"condition status must be True, False or Unknown, not {value!r}")


def get_conditions(obj: Object) -> list[Condition]:
    """The object's conditions (an empty list when it has none)."""
    conditions = (obj.get("status") or {}).get("conditions")
    return conditions if isinstance(conditions, list) else []


def get_condition(obj: Object, condition_type: str) -> Condition | None:
    """The condition of this type, or None."""
    for condition in get_conditions(obj):
        if condition.get("type") == condition_type:
            return condition
    return None


def set_condition(obj: Object, condition_type: str, status: bool | str, reason: str, message: str = "", *,
                  observed_generation: int | None = None, now: str | None = None) -> bool:
    """Add or update a condition; returns whether anything changed.

    `observedGeneration` defaults to the object's `metadata.generation`; `lastTransitionTime` is
    `now` for a new condition or a new status, and kept otherwise.
    """
    if not reason:
        raise ValueError("v1beta2 conditions require a reason")
    new_status = _status(status)
    generation = observed_generation if observed_generation is not None \
        else (obj.get("metadata") or {}).get("generation")
    existing = get_condition(obj, condition_type)
    transition = now or now_rfc3339()
    if existing is not None and existing.get("status") == new_status and existing.get("lastTransitionTime"):
        transition = existing["lastTransitionTime"]
    condition: Condition = {"type": condition_type, "status": new_status}
    if generation is not None:
        condition["observedGeneration"] = generation
    condition.update({"lastTransitionTime": transition, "reason": reason, "message": message})
    if existing is not None:
        if existing == condition:
            return False
        existing.clear()
        existing.update(condition)
        return True
    status_field = obj.setdefault("status", {})
    conditions = status_field.get("conditions")
    if not isinstance(conditions, list):
        conditions = status_field["conditions"] = []
    conditions.append(condition)
    return True


def delete_condition(obj: Object, condition_type: str) -> bool:
    """Remove the condition of this type; returns whether there was one."""
    conditions = get_conditions(obj)
    kept = [c for c in conditions if c.get("type") != condition_type]
    if len(kept) == len(conditions):
        return False
    obj["status"]["conditions"] = kept
    return True


def is_true(obj: Object, condition_type: str) -> bool:
    """Whether the condition exists with status True."""
    condition = get_condition(obj, condition_type)
    return condition is not None and condition.get("status") == TRUE


def is_false(obj: Object, condition_type: str) -> bool:
    """Whether the condition exists with status False."""
    condition = get_condition(obj, condition_type)
    return condition is not None and condition.get("status") == FALSE


def is_unknown(obj: Object, condition_type: str) -> bool:
    """Whether the condition is Unknown or missing."""
    condition = get_condition(obj, condition_type)
    return condition is None or condition.get("status") == UNKNOWN


def mirror_condition(source: Object, source_type: str, target_type: str | None = None) -> Condition:
    """A condition of `target_type` carrying status, reason and message of `source`'s `source_type`.

    A missing source condition mirrors as Unknown/NotYetReported, as upstream's mirror does.
    """
    found = get_condition(source, source_type)
    if found is None:
        return {"type": target_type or source_type, "status": UNKNOWN, "reason": NOT_YET_REPORTED_REASON,
                "message": f"Condition {source_type} not yet reported"}
    return {"type": target_type or source_type, "status": found.get("status", UNKNOWN),
            "reason": found.get("reason") or NOT_YET_REPORTED_REASON, "message": found.get("message", "")}


def set_mirror_condition(source: Object, target: Object, source_type: str, target_type: str | None = None, *,
                         now: str | None = None) -> bool:
    """Copy `source`'s condition onto `target` under `target_type`; returns whether `target` changed."""
    mirrored = mirror_condition(source, source_type, target_type)
    return set_condition(target, mirrored["type"], mirrored["status"], mirrored["reason"], mirrored["message"],
                         now=now)
