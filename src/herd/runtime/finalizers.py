"""Finalizers and deletion, on plain-dict objects: the few lines every controller needs, once."""

from __future__ import annotations

from .objects import Object


def is_deleting(obj: Object) -> bool:
    """Whether the object has a deletionTimestamp (it waits only for its finalizers)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def has_finalizer(obj: Object, finalizer: str) -> bool:
    return finalizer in ((obj.get("metadata") or {}).get("finalizers") or ())


def add_finalizer(obj: Object, finalizer: str) -> bool:
    """Add the finalizer (last); returns whether it was missing."""
    finalizers: list[str] = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if finalizer in finalizers:
        return False
    finalizers.append(finalizer)
    return True


def remove_finalizer(obj: Object, finalizer: str) -> bool:
    """Remove the finalizer; returns whether it was there."""
    meta = obj.get("metadata") or {}
    finalizers = meta.get("finalizers") or []
    if finalizer not in finalizers:
        return False
    meta["finalizers"] = [f for f in finalizers if f != finalizer]
    return True
