"""Checks for objects embedded in a custom resource (`x-kubernetes-embedded-resource: true`).

An embedded resource is a whole Kubernetes object inside another one (think a Pod template
with its own TypeMeta), so like any object it must say what it is: apiVersion and kind are
required, must be non-empty strings, and kind must look like a kind.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.names import dns1035_label_errors, group_version_error


def _child(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def embedded_errors(value: dict[str, Any], field: str) -> list[Cause]:
    """TypeMeta problems of the embedded object `value`, found at cause path `field`."""
    errs: list[Cause] = []
    api_field, kind_field = _child(field, "apiVersion"), _child(field, "kind")
    if "apiVersion" not in value:
        errs.append(m.required(api_field, "must not be empty"))
    if "kind" not in value:
        errs.append(m.required(kind_field, "must not be empty"))
    for key, item in value.items():
        if key == "apiVersion":
            if not isinstance(item, str):
                errs.append(m.invalid(api_field, item, "must be a string"))
            elif not item:
                errs.append(m.invalid(api_field, item, "must not be empty"))
            else:
                problem = group_version_error(item)
                if problem:
                    errs.append(m.invalid(api_field, item, problem))
        elif key == "kind":
            if not isinstance(item, str):
                errs.append(m.invalid(kind_field, item, "must be a string"))
            elif not item:
                errs.append(m.invalid(kind_field, item, "must not be empty"))
            else:
                problems = dns1035_label_errors(item.lower())
                if problems:
                    detail = "may have mixed case, but should otherwise match: " + ",".join(problems)
                    errs.append(m.invalid(kind_field, item, detail))
        elif key == "metadata" and not isinstance(item, dict):
            errs.append(m.invalid(_child(field, "metadata"), item, "must be an object"))
    return errs
