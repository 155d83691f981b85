"""CustomResourceDefinitions: the resource types a CRD defines and the status the server gives it."""

from __future__ import annotations

from typing import Any

from .objectmeta import now_rfc3339
from .resources import ResourceType, ScaleSubresource

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version; empty when the CRD is not (yet) servable."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    versions = spec.get("versions") or []
    storage = next((v.get("name", "") for v in versions if v.get("storage")), "")
    out = []
    for version in versions:
        if not version.get("served", False):
            continue
        subresources = version.get("subresources") or {}
        scale = subresources.get("scale")
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        out.append(ResourceType(
            group=group,
            version=version.get("name", ""),
            kind=names.get("kind", ""),
            plural=names.get("plural", ""),
            singular=names.get("singular") or names.get("kind", "").lower(),
            namespaced=spec.get("scope") == "Namespaced",
            list_kind=names.get("listKind") or names.get("kind", "") + "List",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            schema=schema,
            status_subresource="status" in subresources,
            scale=ScaleSubresource(
                spec_replicas_path=scale.get("specReplicasPath", ""),
                status_replicas_path=scale.get("statusReplicasPath", ""),
                label_selector_path=scale.get("labelSelectorPath", ""),
            ) if isinstance(scale, dict) else None,
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            builtin=False,
            storage_version=storage,
            preserve_unknown_fields=bool((schema or {}).get("x-kubernetes-preserve-unknown-fields")),
            field_selectors=tuple(f.get("jsonPath", "").lstrip(".")
                                  for f in version.get("selectableFields") or ()),
        ))
    return out


def name_conflicts(crd: dict[str, Any], others: list[dict[str, Any]]) -> str:
    """Why this CRD's names clash with another established CRD of the same group, or ""."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    mine = {names.get("plural"), names.get("singular"), *(names.get("shortNames") or [])} - {None, ""}
    for other in others:
        if other.get("metadata", {}).get("name") == crd.get("metadata", {}).get("name"):
            continue
        ospec = other.get("spec") or {}
        if ospec.get("group") != spec.get("group"):
            continue
        onames = (other.get("status") or {}).get("acceptedNames") or ospec.get("names") or {}
        theirs = {onames.get("plural"), onames.get("singular"), *(onames.get("shortNames") or [])} - {None, ""}
        clash = mine & theirs
        if clash:
            return f'"{sorted(clash)[0]}" is already in use'
        if onames.get("kind") == names.get("kind"):
            return f'"{names.get("kind")}" is already in use'
    return ""


def _condition(ctype: str, status: str, reason: str, message: str,
               previous: list[dict[str, Any]]) -> dict[str, Any]:
    old = next((c for c in previous if c.get("type") == ctype), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status and old.get(
        "lastTransitionTime") else now_rfc3339()
    return {"type": ctype, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


def crd_status(crd: dict[str, Any], conflict: str, terminating: bool) -> dict[str, Any]:
    """The status kube-apiserver's CRD controllers would converge to, computed in one step."""
    spec = crd.get("spec") or {}
    previous = (crd.get("status") or {}).get("conditions") or []
    storage = next((v.get("name") for v in spec.get("versions") or [] if v.get("storage")), None)
    stored = list((crd.get("status") or {}).get("storedVersions") or [])
    if storage and storage not in stored:
        stored.append(storage)
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    if conflict:
        conditions = [
            _condition("NamesAccepted", "False", "MultipleNamesNotAllowed", conflict, previous),
            _condition("Established", "False", "NotAccepted", "not all names are accepted", previous),
        ]
        return {"conditions": conditions, "acceptedNames": {}, "storedVersions": stored}
    conditions = [
        _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", previous),
        _condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted",
                   previous),
    ]
    if terminating:
        conditions.append(_condition("Terminating", "True", "InstanceDeletionInProgress",
                                     "CustomResource deletion is in progress", previous))
    return {"conditions": conditions, "acceptedNames": names, "storedVersions": stored}


def is_established(crd: dict[str, Any]) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])
