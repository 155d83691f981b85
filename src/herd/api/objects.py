"""Cluster-API-wide helpers for reading objects as plain dicts: a nested lookup, RFC 3339 timestamps, pausing.

Controllers, bootstrap, control plane and infrastructure providers all read the JSON the API server sent; these
are the few reads every one of them needs, kept here once so they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from herd.api.cluster.labels import PAUSED_ANNOTATION
from herd.runtime.objects import Object

__all__ = ["is_paused", "nested", "parse_time", "rfc3339"]


def nested(obj: Any, *path: str) -> Any:
    """The value at a path of nested dicts, or None where any step is missing (or not a dict): wire data of any
    shape is safe to read, a value of the wrong type is left for the schema to report."""
    value: Any = obj
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_time(value: Any) -> datetime | None:
    """A `metav1.Time` string (RFC 3339, "Z" or an offset) as a datetime; None when absent, empty or malformed."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def rfc3339(moment: datetime) -> str:
    """A time as Kubernetes writes `metav1.Time`: UTC, whole seconds, a "Z" suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_paused(cluster: Object | None, obj: Object) -> bool:
    """Whether controllers must leave `obj` alone: its Cluster (when known) has `spec.paused` set, or `obj`
    carries the paused annotation (whatever its value)."""
    if nested(cluster, "spec", "paused"):
        return True
    return PAUSED_ANNOTATION in (nested(obj, "metadata", "annotations") or {})
