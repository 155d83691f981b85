"""Which MachineSet matches a MachineDeployment's template, and what a new one looks like. Pure: no I/O.

Fields that propagate in place (the template's labels and annotations, minReadySeconds, the deletion
timeouts) are left out of the template hash, so changing them updates the MachineSets instead of
rolling out new Machines.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import datetime
from typing import Any

import orjson

from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    DESIRED_REPLICAS_ANNOTATION,
    MACHINE_DEPLOYMENT_NAME_LABEL,
    MACHINE_DEPLOYMENT_UNIQUE_LABEL,
    MAX_REPLICAS_ANNOTATION,
    REVISION_ANNOTATION,
)
from herd.api.objects import nested, parse_time
from herd.runtime import Object, owner_reference

_IN_PLACE_SPEC_FIELDS = ("minReadySeconds", "deletion")
_SKIPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", REVISION_ANNOTATION,
                        DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION)


def _digest(data: Any, length: int = 10) -> str:
    raw = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).digest()
    return base64.b32encode(raw).decode().lower()[:length]


def rollout_spec(template: Object) -> dict[str, Any]:
    """The part of a Machine template whose change needs new Machines."""
    spec = dict(template.get("spec") or {})
    for name in _IN_PLACE_SPEC_FIELDS:
        spec.pop(name, None)
    return spec


def rollout_after(md: Object, now: datetime) -> datetime | None:
    """spec.rollout.after when it has passed (Machines created before it must be replaced), else None."""
    after = parse_time(nested(md, "spec", "rollout", "after"))
    return after if after is not None and after <= now else None


def template_hash(md: Object, now: datetime) -> str:
    """The machine-template-hash for the MachineDeployment's current template (and rollout.after once passed)."""
    after = rollout_after(md, now)
    key: dict[str, Any] = {"spec": rollout_spec(nested(md, "spec", "template") or {})}
    if after is not None:
        key["after"] = after.isoformat()
    return _digest(key)


def is_up_to_date(md: Object, ms: Object, now: datetime) -> bool:
    """Whether the MachineSet makes Machines the MachineDeployment wants now."""
    if rollout_spec(nested(ms, "spec", "template") or {}) != rollout_spec(nested(md, "spec", "template") or {}):
        return False
    after = rollout_after(md, now)
    created = parse_time(nested(ms, "metadata", "creationTimestamp"))
    return after is None or (created is not None and created >= after)


def revision(ms: Object) -> int:
    """The MachineSet's revision annotation (0 when absent or malformed)."""
    value = (nested(ms, "metadata", "annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _hash_label(ms: Object, fallback: str) -> str:
    return str((nested(ms, "metadata", "labels") or {}).get(MACHINE_DEPLOYMENT_UNIQUE_LABEL) or fallback)


def propagate_in_place(md: Object, ms: Object) -> None:
    """Copy the in-place fields of the MachineDeployment to one of its MachineSets (changing `ms`)."""
    md_name = str(md["metadata"]["name"])
    template = nested(md, "spec", "template") or {}
    hash_value = _hash_label(ms, "")
    labels = dict(nested(template, "metadata", "labels") or {})
    labels[MACHINE_DEPLOYMENT_NAME_LABEL] = md_name
    if hash_value:
        labels[MACHINE_DEPLOYMENT_UNIQUE_LABEL] = hash_value
    ms_template = ms.setdefault("spec", {}).setdefault("template", {})
    meta = ms_template.setdefault("metadata", {})
    meta["labels"] = labels
    annotations = dict(nested(template, "metadata", "annotations") or {})
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    ms_spec = ms_template.setdefault("spec", {})
    for name in _IN_PLACE_SPEC_FIELDS:
        value = (template.get("spec") or {}).get(name)
        if value is None:
            ms_spec.pop(name, None)
        else:
            ms_spec[name] = copy.deepcopy(value)
    order = nested(md, "spec", "deletion", "order")
    if order:
        ms["spec"]["deletion"] = {"order": order}
    else:
        ms["spec"].pop("deletion", None)
    naming = nested(md, "spec", "machineNaming")
    if naming:
        ms["spec"]["machineNaming"] = copy.deepcopy(naming)
    ms_meta = ms.setdefault("metadata", {})
    ms_labels = ms_meta.setdefault("labels", {})
    ms_labels.update(labels)
    ms_labels[CLUSTER_NAME_LABEL] = str(nested(md, "spec", "clusterName") or "")
    ms_annotations = ms_meta.setdefault("annotations", {})
    for key, value in (md["metadata"].get("annotations") or {}).items():
        if key not in _SKIPPED_ANNOTATIONS:
            ms_annotations[key] = value


def set_replica_annotations(md: Object, ms: Object, max_surge: int) -> None:
    """desired-replicas and max-replicas, as upstream writes them for proportional scaling tools."""
    replicas = int(nested(md, "spec", "replicas") or 0)
    annotations = ms.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[DESIRED_REPLICAS_ANNOTATION] = str(replicas)
    annotations[MAX_REPLICAS_ANNOTATION] = str(replicas + max_surge)


def new_machine_set(md: Object, hash_value: str, replicas: int, revision_number: int) -> Object:
    """A MachineSet for the MachineDeployment's current template (not yet created)."""
    md_meta = md["metadata"]
    selector = copy.deepcopy(nested(md, "spec", "selector") or {})
    selector.setdefault("matchLabels", {})[MACHINE_DEPLOYMENT_UNIQUE_LABEL] = hash_value
    template = copy.deepcopy(nested(md, "spec", "template") or {})
    ms: Object = {
        "apiVersion": md["apiVersion"], "kind": "MachineSet",
        "metadata": {"name": f"{md_meta['name']}-{hash_value}", "namespace": md_meta.get("namespace"),
                     "labels": {MACHINE_DEPLOYMENT_UNIQUE_LABEL: hash_value},
                     "annotations": {REVISION_ANNOTATION: str(revision_number)},
                     "ownerReferences": [owner_reference(md)]},
        "spec": {"clusterName": nested(md, "spec", "clusterName"), "replicas": replicas, "selector": selector,
                 "template": template},
    }
    propagate_in_place(md, ms)
    return ms


def rollout_after_pending(md: Object, now: datetime) -> float:
    """Seconds until spec.rollout.after passes (0 when unset or already passed)."""
    after = parse_time(nested(md, "spec", "rollout", "after"))
    return (after - now).total_seconds() if after is not None and after > now else 0.0
