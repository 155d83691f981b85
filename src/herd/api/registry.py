"""Every kind herd serves, gathered from the API group packages."""

from __future__ import annotations

import importlib
from typing import Any, cast

from .crdgen import CRDSpec, generate_crd

# Each package exports `CRDS: list[CRDSpec]`.
GROUP_PACKAGES = ("herd.api.cluster", "herd.api.bootstrap", "herd.api.controlplane", "herd.api.infrastructure")


def all_crd_specs() -> list[CRDSpec]:
    """The CRD specs of every API group package, in package order.

    A package that does not exist yet (or is only a directory without `__init__.py`, still being written)
    contributes nothing; an import error inside an existing package is raised as usual, and so is a package
    without `CRDS`.
    """
    specs: list[CRDSpec] = []
    for name in GROUP_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        if getattr(module, "__file__", None) is None:  # a namespace package: no __init__.py yet
            continue
        specs.extend(cast(list[CRDSpec], module.CRDS))
    return specs


def all_crds() -> list[dict[str, Any]]:
    """The CustomResourceDefinition of every kind, sorted by name."""
    crds = [generate_crd(spec) for spec in all_crd_specs()]
    return sorted(crds, key=lambda crd: str(crd["metadata"]["name"]))
