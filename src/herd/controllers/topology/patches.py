"""A ClusterClass's inline patches (`spec.patches[].definitions[]`) applied to the templates of one Cluster.

Each template a topology is built from is a `Target`: its role, the MachineDeployment class it serves (for
worker templates) and the variables its patches see. A definition applies where its selector names the
template's apiVersion and kind and its `matchResources` name the template's role; its JSON patches take their
value from `value`, a variable (`valueFrom.variable`, paths like `var.field[0]`) or a Go template
(`valueFrom.template`, rendered and then read as YAML). `enabledIf` is a Go template that must render `true`.
External patches (Runtime SDK extensions) are not run here: `external_patches` names them so the controller
can refuse the class instead of building half of what it describes.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

import jsonpatch
import yaml

from herd.api.objects import nested
from herd.runtime import Object

from .gotemplate import TemplateError, render
from .variables import VariableError, lookup

INFRASTRUCTURE_CLUSTER = "infrastructureCluster"
CONTROL_PLANE = "controlPlane"
CONTROL_PLANE_MACHINE = "controlPlaneMachine"
WORKER_BOOTSTRAP = "bootstrap"
WORKER_INFRASTRUCTURE = "infrastructureMachine"


class PatchError(ValueError):
    """A patch of the class could not be applied; the message names the patch and why."""


@dataclass
class Target:
    """One template to patch (changed in place) and the variables its patches see."""

    role: str
    template: Object
    variables: dict[str, Any]
    machine_deployment_class: str = ""


def external_patches(cluster_class: Object) -> list[str]:
    """Names of the class's patches that call a Runtime SDK extension."""
    return [str(p.get("name", "")) for p in nested(cluster_class, "spec", "patches") or [] if p.get("external")]


def _names_match(names: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in names)


def selects(selector: dict[str, Any], target: Target) -> bool:
    """Whether a definition's selector picks the target template."""
    template = target.template
    if selector.get("apiVersion") != template.get("apiVersion") or selector.get("kind") != template.get("kind"):
        return False
    match = selector.get("matchResources") or {}
    if target.role == INFRASTRUCTURE_CLUSTER:
        return bool(match.get("infrastructureCluster"))
    if target.role in (CONTROL_PLANE, CONTROL_PLANE_MACHINE):
        return bool(match.get("controlPlane"))
    names = nested(match, "machineDeploymentClass", "names") or []
    return _names_match([str(n) for n in names], target.machine_deployment_class)


def enabled(patch: dict[str, Any], variables: dict[str, Any]) -> bool:
    """A patch without `enabledIf` is enabled; otherwise the template must render `true`."""
    condition = patch.get("enabledIf")
    if not condition:
        return True
    try:
        return render(str(condition), variables).strip() == "true"
    except TemplateError as exc:
        raise PatchError(f"patch {patch.get('name')!r}: enabledIf: {exc}") from None


def _value(operation: dict[str, Any], variables: dict[str, Any]) -> Any:
    source = operation.get("valueFrom") or {}
    if source.get("variable"):
        return lookup(variables, str(source["variable"]))
    if source.get("template"):
        rendered = render(str(source["template"]), variables)
        return yaml.safe_load(rendered)
    return operation.get("value")


def _operations(definition: dict[str, Any], variables: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for operation in definition.get("jsonPatches") or []:
        op = {"op": operation.get("op"), "path": operation.get("path")}
        if op["op"] != "remove":
            op["value"] = _value(operation, variables)
        out.append(op)
    return out


def apply_patches(cluster_class: Object, targets: list[Target], global_variables: dict[str, Any]) -> None:
    """Apply every inline patch of the class, in order, to the targets it selects (their templates change in
    place); `enabledIf` sees the Cluster-wide variables. Raises PatchError."""
    for patch in nested(cluster_class, "spec", "patches") or []:
        if patch.get("external") or not enabled(patch, global_variables):
            continue
        name = patch.get("name")
        for definition in patch.get("definitions") or []:
            for target in targets:
                if not selects(definition.get("selector") or {}, target):
                    continue
                try:
                    operations = _operations(definition, target.variables)
                    target.template.update(jsonpatch.apply_patch(target.template, operations))
                except (VariableError, TemplateError, yaml.YAMLError) as exc:
                    raise PatchError(f"patch {name!r}: {exc}") from None
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                    raise PatchError(f"patch {name!r} on {target.template.get('kind')} "
                                     f"{nested(target.template, 'metadata', 'name')}: {exc}") from None
