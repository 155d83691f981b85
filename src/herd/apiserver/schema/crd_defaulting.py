"""The defaults kube-apiserver fills into a v1 CustomResourceDefinition before validating it."""

from __future__ import annotations

from typing import Any


def default_crd(crd: dict[str, Any]) -> None:
    """Default a v1 CRD in place: names.singular, names.listKind and conversion.

    `singular` becomes the lowercased kind and `listKind` the kind + "List" when absent;
    a missing `conversion` becomes `{"strategy": "None"}`. Versions' `served` and `storage`
    are left as given.
    """
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = names.get("kind")
        if isinstance(kind, str) and kind:
            if not names.get("singular"):
                names["singular"] = kind.lower()
            if not names.get("listKind"):
                names["listKind"] = kind + "List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}
