"""events.k8s.io/v1 Events, served from the core/v1 Events the store holds.

kube-apiserver keeps one Event object and shows it in either group: `involvedObject` is `regarding`,
`message` is `note`, core's `reportingComponent` is `reportingController`, and the fields the newer group
deprecated (`source`, `firstTimestamp`, `lastTimestamp`, `count`) are `deprecatedSource`,
`deprecatedFirstTimestamp`, `deprecatedLastTimestamp` and `deprecatedCount`. Everything else
(`eventTime`, `series`, `action`, `reason`, `related`, `reportingInstance`, `type`, metadata) has the same
name in both. Writes through either group are validated as kube validates them: every Event passes the
legacy checks, and one created through events.k8s.io/v1 the strict ones as well (an `eventTime`, a
reporting controller and instance, an action, no deprecated fields).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Cause
from .schema import messages as m

EVENTS_V1 = "events.k8s.io/v1"
CORE_V1 = "v1"

# events.k8s.io/v1 name → core/v1 name, for the fields whose names differ
_RENAMED = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_TO_EVENTS_V1 = {core: new for new, core in _RENAMED.items()}

# Field selectors events.k8s.io/v1 accepts (selectors.py reads each from the stored core/v1 Event).
EVENTS_V1_FIELD_LABELS = (
    *(f"regarding.{part}" for part in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                                       "fieldPath")),
    "reason", "reportingController", "source", "type",
)

_REASON_LIMIT = 128
_ACTION_LIMIT = 128
_INSTANCE_LIMIT = 128
_NOTE_LIMIT = 1024
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def to_events_v1(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored (core/v1) Event as events.k8s.io/v1 shows it."""
    shown: dict[str, Any] = {"apiVersion": EVENTS_V1, "kind": "Event"}
    for key, value in stored.items():
        if key in ("apiVersion", "kind") or value in (None, "", 0, {}):
            continue  # events.k8s.io/v1 omits empty values
        shown[_TO_EVENTS_V1.get(key, key)] = value
    shown.setdefault("eventTime", None)  # a legacy Event has none; kube shows it as null
    return shown


def to_core(event: dict[str, Any]) -> None:
    """Rewrite an events.k8s.io/v1 Event, in place, into the core/v1 form the store keeps."""
    converted = {_RENAMED.get(key, key): value for key, value in event.items()}
    converted["apiVersion"] = CORE_V1
    if converted.get("eventTime") is None:
        converted.pop("eventTime", None)
    event.clear()
    event.update(converted)


def _is_set(event: dict[str, Any], key: str) -> bool:
    return event.get(key) not in (None, "", 0, {})


def legacy_causes(event: dict[str, Any]) -> list[Cause]:
    """The checks every Event passes, through either group (core/v1 field names)."""
    causes: list[Cause] = []
    namespace = str((event.get("metadata") or {}).get("namespace") or "")
    regarding = event.get("involvedObject")
    regarding_namespace = str(regarding.get("namespace") or "") if isinstance(regarding, dict) else ""
    if not event.get("eventTime"):
        mismatch = namespace not in ("", "default") if not regarding_namespace else namespace != regarding_namespace
    else:
        mismatch = not regarding_namespace and namespace not in ("default", "kube-system")
        causes += _reporting_causes(event)
    if mismatch:
        causes.append(m.invalid("involvedObject.namespace", regarding_namespace, "does not match event.namespace"))
    if namespace and (len(namespace) > 253 or not _DNS_SUBDOMAIN.fullmatch(namespace)):
        causes.append(m.invalid("namespace", namespace, "a lowercase RFC 1123 subdomain must consist of lower case "
                                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                                "character"))
    return causes


def _reporting_causes(event: dict[str, Any]) -> list[Cause]:
    """Events that carry an eventTime (the newer API's) must say who reported what."""
    causes: list[Cause] = []
    controller = str(event.get("reportingComponent") or "")
    if not controller:
        causes.append(m.required("reportingController"))
    elif not _qualified_name(controller):
        causes.append(m.invalid("reportingController", controller,
                                "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                                "start and end with an alphanumeric character"))
    for field, limit in (("reportingInstance", _INSTANCE_LIMIT), ("action", _ACTION_LIMIT),
                         ("reason", _REASON_LIMIT)):
        value = str(event.get(field) or "")
        if not value:
            causes.append(m.required(field))
        elif len(value) > limit:
            causes.append(m.invalid(field, "", f"can have at most {limit} characters"))
    if len(str(event.get("message") or "")) > _NOTE_LIMIT:
        causes.append(m.invalid("message", "", f"can have at most {_NOTE_LIMIT} characters"))
    return causes


def _qualified_name(name: str) -> bool:
    prefix, _, last = name.rpartition("/")
    if "/" in name and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(last) <= 63 and bool(_QUALIFIED_NAME.fullmatch(last))


def strict_create_causes(event: dict[str, Any]) -> list[Cause]:
    """What events.k8s.io/v1 adds on create (core/v1 field names, as kube reports them)."""
    causes = _series_causes(event)
    if not event.get("eventTime"):
        causes.append(m.required("eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        causes.append(m.invalid("type", "", f"has invalid value: {event.get('type') or ''}"))
    for field in ("firstTimestamp", "lastTimestamp", "count", "source"):
        if _is_set(event, field) and not (field == "source" and not any((event.get("source") or {}).values())):
            causes.append(m.invalid(field, "", "needs to be unset"))
    return causes


def strict_update_causes(event: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    """What events.k8s.io/v1 adds on update: a changed series is checked, and the rest may not change."""
    causes = _series_causes(event) if event.get("series") != old.get("series") else []
    for field in ("involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
                  "type", "eventTime", "action", "related", "reportingComponent", "reportingInstance"):
        if event.get(field) != old.get(field):
            shown = "reportingController" if field == "reportingComponent" else field
            causes.append(m.invalid(shown, event.get(field), "field is immutable"))
    return causes


def _series_causes(event: dict[str, Any]) -> list[Cause]:
    series = event.get("series")
    if not isinstance(series, dict):
        return []
    causes = []
    count = series.get("count")
    if not isinstance(count, int) or count < 2:
        causes.append(m.invalid("series.count", "", "should be at least 2"))
    if not series.get("lastObservedTime"):
        causes.append(m.required("series.lastObservedTime"))
    return causes
