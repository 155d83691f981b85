"""Desired against live, on the fields the topology owns (a two-way compare).

Upstream applies its desired objects with server-side apply and lets managedFields tell which fields it owns.
Here the desired object itself is the owned set: a live object is in shape when every value the desired object
sets is there (maps compared key by key, lists item by item, so what the server or a provider adds around
them does not count as a change), and a merge patch of the differing desired subtrees puts a user's change back.
A field the topology stops setting is left as it is (server-side apply would remove it).
"""

from __future__ import annotations

from typing import Any

from herd.runtime import Object

OWNED_METADATA = ("labels", "annotations")


def contains(live: Any, desired: Any) -> bool:
    """Whether `live` carries everything `desired` sets."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(live) == len(desired)
                and all(contains(a, b) for a, b in zip(live, desired, strict=True)))
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)) and not isinstance(desired, bool):
        return float(live) == float(desired)
    return bool(live == desired)


def _patch(live: Any, desired: Any) -> Any:
    """The merge patch that makes `live` contain `desired` (None when it already does)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        out = {}
        for key, value in desired.items():
            if key not in live:
                out[key] = value
            elif not contains(live[key], value):
                out[key] = _patch(live[key], value)
        return out or None
    return None if contains(live, desired) else desired


def owned_patch(live: Object, desired: Object, *, spec_fields: tuple[str, ...] = ("spec",)) -> dict[str, Any] | None:
    """A merge patch of the owned labels, annotations and top-level fields that differ (None when in shape)."""
    patch: dict[str, Any] = {}
    meta = {k: desired["metadata"][k] for k in OWNED_METADATA if desired["metadata"].get(k)}
    meta_patch = _patch(live.get("metadata") or {}, meta)
    if meta_patch:
        patch["metadata"] = meta_patch
    for field in spec_fields:
        if field in desired:
            change = _patch(live.get(field), desired[field])
            if change is not None:
                patch[field] = change
    return patch or None


def spec_changed(live: Object, desired: Object) -> bool:
    """Whether a template's content differs: the trigger for rotating it to a new name."""
    return not contains(live.get("spec"), desired.get("spec") or {})
