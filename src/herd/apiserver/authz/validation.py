"""The shape rules kube-apiserver enforces on RBAC objects (422 Invalid with a cause per field)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import Cause
from ..resources import ResourceType
from .types import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, GROUP, ROLE_BINDINGS, ROLES

_SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rule_causes(rules: Any, namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(_list(rules)):
        path = f"rules[{i}]"
        if not isinstance(rule, dict):
            continue
        if not _list(rule.get("verbs")):
            causes.append(Cause("FieldValueRequired", "Required value: verbs must contain at least one value",
                                f"{path}.verbs"))
        urls = _list(rule.get("nonResourceURLs"))
        if urls:
            shown = json.dumps(urls).replace(", ", ",")
            if namespaced:
                causes.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: namespaced rules cannot apply to "
                                    "non-resource URLs", f"{path}.nonResourceURLs"))
            elif _list(rule.get("apiGroups")) or _list(rule.get("resources")) or _list(rule.get("resourceNames")):
                causes.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: rules cannot apply to both "
                                    "regular resources and non-resource URLs", f"{path}.nonResourceURLs"))
            continue
        if not _list(rule.get("apiGroups")):
            causes.append(Cause("FieldValueRequired", "Required value: resource rules must supply at least one api "
                                "group", f"{path}.apiGroups"))
        if not _list(rule.get("resources")):
            causes.append(Cause("FieldValueRequired", "Required value: resource rules must supply at least one "
                                "resource", f"{path}.resources"))
    return causes


def _binding_causes(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes: list[Cause] = []
    ref = obj.get("roleRef")
    ref = ref if isinstance(ref, dict) else {}
    kinds = ("ClusterRole",) if rtype is CLUSTER_ROLE_BINDINGS else ("Role", "ClusterRole")
    if ref.get("apiGroup") != GROUP:
        causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{ref.get("apiGroup") or ""}": supported '
                            f'values: "{GROUP}"', "roleRef.apiGroup"))
    if ref.get("kind") not in kinds:
        supported = ", ".join(f'"{kind}"' for kind in kinds)
        causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{ref.get("kind") or ""}": supported '
                            f"values: {supported}", "roleRef.kind"))
    if not ref.get("name"):
        causes.append(Cause("FieldValueRequired", "Required value", "roleRef.name"))
    if old is not None and old.get("roleRef") != obj.get("roleRef"):
        causes.append(Cause("FieldValueInvalid", "Invalid value: cannot change roleRef", "roleRef"))
    for i, subject in enumerate(_list(obj.get("subjects"))):
        path = f"subjects[{i}]"
        if not isinstance(subject, dict):
            continue
        kind = subject.get("kind")
        if not subject.get("name"):
            causes.append(Cause("FieldValueRequired", "Required value", f"{path}.name"))
        if kind not in _SUBJECT_KINDS:
            causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{kind or ""}": supported values: '
                                '"ServiceAccount", "User", "Group"', f"{path}.kind"))
        elif kind == "ServiceAccount":
            if subject.get("apiGroup"):
                causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{subject["apiGroup"]}": '
                                    'supported values: ""', f"{path}.apiGroup"))
            if rtype is CLUSTER_ROLE_BINDINGS and not subject.get("namespace"):
                causes.append(Cause("FieldValueRequired", "Required value", f"{path}.namespace"))
        elif subject.get("apiGroup") != GROUP:
            causes.append(Cause("FieldValueNotSupported", f'Unsupported value: "{subject.get("apiGroup") or ""}": '
                                f'supported values: "{GROUP}"', f"{path}.apiGroup"))
    return causes


def rbac_causes(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    """What is wrong with an RBAC object about to be stored (empty when nothing is)."""
    if rtype is ROLES or rtype is CLUSTER_ROLES:
        return _rule_causes(obj.get("rules"), namespaced=rtype is ROLES)
    if rtype is ROLE_BINDINGS or rtype is CLUSTER_ROLE_BINDINGS:
        return _binding_causes(rtype, obj, old)
    return []
