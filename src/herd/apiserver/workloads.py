"""apps/v1 Deployment and DaemonSet: the defaults and checks kube-apiserver applies when they are written.

herd runs no controllers for them (no ReplicaSets, no pods): whoever simulates the workload cluster writes
their status. What is kept is what a client sees on write: kube's defaults, a required non-empty selector
that matches the pod template's labels, and a selector that never changes after creation.
"""

from __future__ import annotations

from typing import Any

from .errors import Cause, StatusError
from .selectors import LabelSelector

_REVISION_HISTORY_LIMIT = 10


def default_deployment(obj: dict[str, Any]) -> None:
    """kube's apps/v1 defaults for a Deployment's spec."""
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    _default_rolling_update(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
    spec.setdefault("revisionHistoryLimit", _REVISION_HISTORY_LIMIT)
    spec.setdefault("progressDeadlineSeconds", 600)


def default_daemonset(obj: dict[str, Any]) -> None:
    """kube's apps/v1 defaults for a DaemonSet's spec."""
    spec = _spec(obj)
    _default_rolling_update(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
    spec.setdefault("revisionHistoryLimit", _REVISION_HISTORY_LIMIT)


def _default_rolling_update(spec: dict[str, Any], field: str, limits: dict[str, Any]) -> None:
    """The update strategy `field` is RollingUpdate unless set, and a rolling update gets `limits` unless set."""
    strategy = spec.setdefault(field, {})
    if not isinstance(strategy, dict):
        return  # the typed decode refuses it
    strategy.setdefault("type", "RollingUpdate")
    rolling = strategy.setdefault("rollingUpdate", {}) if strategy["type"] == "RollingUpdate" else None
    if isinstance(rolling, dict):
        for key, value in limits.items():
            rolling.setdefault(key, value)


def selector_causes(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """What is wrong with the spec's selector: missing or empty, not matching the template, or changed."""
    spec = _spec(obj)
    raw = spec.get("selector")
    if not isinstance(raw, dict):
        return [Cause("FieldValueRequired", "Required value", "spec.selector")]
    try:
        selector = LabelSelector.from_label_selector(raw)
    except StatusError as exc:
        return [Cause("FieldValueInvalid", f"Invalid value: {exc.message}", "spec.selector")]
    causes: list[Cause] = []
    if selector.empty():
        causes.append(Cause("FieldValueInvalid", "Invalid value: empty selector is invalid for this kind",
                            "spec.selector"))
    labels = _map_at(spec, "template", "metadata", "labels")
    if not selector.empty() and not selector.matches({str(k): str(v) for k, v in labels.items()}):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {labels!r}: `selector` does not match "
                            "template `labels`", "spec.template.metadata.labels"))
    if old is not None and raw != _spec(old).get("selector"):
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {selector}: field is immutable",
                            "spec.selector"))
    return causes


def selector_string(obj: dict[str, Any]) -> str:
    """The spec's label selector in query form (`app=web`), as the scale subresource reports it; "" if none."""
    raw = _spec(obj).get("selector")
    if not isinstance(raw, dict):
        return ""
    try:
        return str(LabelSelector.from_label_selector(raw))
    except StatusError:
        return ""


def _map_at(obj: dict[str, Any], *path: str) -> dict[str, Any]:
    """The map at `path` inside `obj`; {} where anything on the way is missing or not a map."""
    current: Any = obj
    for key in path:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec
