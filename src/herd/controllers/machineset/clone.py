"""The Machines a MachineSet makes: names, labels and annotations, and the objects cloned from its templates.

Pure functions: they compute objects; the phases create and patch them.
"""

from __future__ import annotations

import copy
from typing import Any

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    MACHINE_DEPLOYMENT_NAME_LABEL,
    MACHINE_FINALIZER,
    MACHINE_SET_NAME_LABEL,
)
from herd.api.cluster.webhooks import default_machine
from herd.api.objects import nested
from herd.api.webhookutil import format_label_value
from herd.contract.templates import render_name
from herd.runtime import Object, owner_reference

DEFAULT_NAME_TEMPLATE = "{{ .machineSet.name }}-{{ .random }}"


def machine_name(machine_set: Object) -> str:
    """A new Machine's name from `spec.machineNaming.template` (default `<set>-<random5>`), cut to 63 characters."""
    template = str(nested(machine_set, "spec", "machineNaming", "template") or DEFAULT_NAME_TEMPLATE)
    return render_name(template, {"machineSet.name": str(machine_set["metadata"]["name"]),
                                  "cluster.name": str(nested(machine_set, "spec", "clusterName") or "")})


def machine_labels(machine_set: Object) -> dict[str, str]:
    """The template's labels, plus the set-name label (and the deployment-name label of a deployment's set)."""
    labels = dict(nested(machine_set, "spec", "template", "metadata", "labels") or {})
    labels[MACHINE_SET_NAME_LABEL] = format_label_value(str(machine_set["metadata"]["name"]))
    deployment = ((machine_set["metadata"].get("labels") or {}).get(MACHINE_DEPLOYMENT_NAME_LABEL))
    if deployment:
        labels[MACHINE_DEPLOYMENT_NAME_LABEL] = str(deployment)
    labels[CLUSTER_NAME_LABEL] = str(nested(machine_set, "spec", "clusterName") or "")
    return labels


def machine_annotations(machine_set: Object) -> dict[str, str]:
    """The template's annotations."""
    return dict(nested(machine_set, "spec", "template", "metadata", "annotations") or {})


def in_place_spec(machine_set: Object) -> dict[str, Any]:
    """The Machine spec fields a MachineSet changes on its existing Machines (None: remove)."""
    spec = nested(machine_set, "spec", "template", "spec") or {}
    return {key: copy.deepcopy(spec.get(key)) for key in ("readinessGates", "deletion", "minReadySeconds")}


def in_place_changes(machine: Object, in_place: dict[str, Any]) -> dict[str, Any]:
    """The in-place fields whose value on the Machine differs from what it would be after the change, compared
    once the Machine's defaulting has run (the 10 s node deletion timeout the template lacks is no change)."""
    spec = machine.get("spec") or {}
    if all(spec.get(key) == value for key, value in in_place.items()):
        return {}
    changed = default_machine({"metadata": {}, "spec": {**spec, **in_place}})["spec"]  # it copies
    return {key: value for key, value in in_place.items() if spec.get(key) != changed.get(key)}


def desired_machine(machine_set: Object, name: str, bootstrap_ref: dict[str, Any] | None,
                    infra_ref: dict[str, Any]) -> Object:
    """The new Machine: owned (controller) by the MachineSet, its spec copied from the template."""
    meta = machine_set["metadata"]
    spec = copy.deepcopy(nested(machine_set, "spec", "template", "spec") or {})
    spec["clusterName"] = str(nested(machine_set, "spec", "clusterName") or "")
    bootstrap = spec.setdefault("bootstrap", {})
    bootstrap.pop("configRef", None)
    if bootstrap_ref is not None:
        bootstrap["configRef"] = bootstrap_ref
    spec["infrastructureRef"] = infra_ref
    spec.pop("providerID", None)
    return {
        "apiVersion": MACHINE.api_version, "kind": MACHINE.kind,
        "metadata": {"name": name, "namespace": meta["namespace"], "labels": machine_labels(machine_set),
                     "annotations": machine_annotations(machine_set),
                     "ownerReferences": [owner_reference(machine_set)],  # tells the Machine controller: not stand-alone
                     "finalizers": [MACHINE_FINALIZER]},
        "spec": spec,
    }
