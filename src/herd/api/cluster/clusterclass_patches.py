"""A ClusterClass's patches, checked at admission (upstream: the ClusterClass webhook's patch validation).

Each patch has a unique name, inline definitions (external patches need the Runtime SDK, which herd does not
have), selectors that match a template of the class, and JSON patches that stay under /spec, address list items
only as JSON patch semantics allow here, and take their values from a literal, a known variable or a template.
"""

from __future__ import annotations

import re
from typing import Any

from herd.api.objects import nested
from herd.runtime.webhook import FieldError, qualified_name_problems

from .clusterclass import VARIABLE_DEFINITION_FROM_INLINE
from .variables import quote_value, unsupported

Obj = dict[str, Any]

OPS = ("add", "remove", "replace")
WORKER_KINDS = (("machineDeploymentClass", "machineDeployments", "MachineDeployment"),
                ("machinePoolClass", "machinePools", "MachinePool"))

# The builtin variables a patch may read (upstream's list); a prefix of one (e.g. builtin.cluster) reads the
# whole object.
BUILTIN_VARIABLES = frozenset({
    "builtin",
    "builtin.cluster", "builtin.cluster.name", "builtin.cluster.namespace", "builtin.cluster.uid",
    "builtin.cluster.metadata.labels", "builtin.cluster.metadata.annotations",
    "builtin.cluster.topology", "builtin.cluster.topology.classRef.name", "builtin.cluster.topology.classRef.namespace",
    "builtin.cluster.topology.class", "builtin.cluster.topology.classNamespace", "builtin.cluster.topology.version",
    "builtin.cluster.network", "builtin.cluster.network.serviceDomain", "builtin.cluster.network.services",
    "builtin.cluster.network.pods",
    "builtin.controlPlane", "builtin.controlPlane.name", "builtin.controlPlane.replicas",
    "builtin.controlPlane.version", "builtin.controlPlane.metadata.labels",
    "builtin.controlPlane.metadata.annotations", "builtin.controlPlane.machineTemplate.infrastructureRef.name",
    *(f"builtin.{worker}{suffix}" for worker in ("machineDeployment", "machinePool") for suffix in (
        "", ".class", ".name", ".replicas", ".topologyName", ".version", ".metadata.labels", ".metadata.annotations",
        ".bootstrap.configRef.name", ".infrastructureRef.name")),
})


def template_problem(text: str) -> str | None:
    """Why a Go template does not parse (unclosed or stray delimiters), or None."""
    depth_open = 0
    for token in re.findall(r"\{\{|\}\}", text):
        depth_open += 1 if token == "{{" else -1
        if depth_open not in (0, 1):
            return "unexpected \"}}\"" if depth_open < 0 else "unexpected \"{{\" inside an action"
    return "unclosed action" if depth_open else None


def validate_patches(cluster_class: Obj) -> list[FieldError]:
    """Every patch of the class."""
    patches = nested(cluster_class, "spec", "patches")
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, patch in enumerate(patches if isinstance(patches, list) else []):
        if isinstance(patch, dict):
            errors += _patch_errors(patch, cluster_class, f"spec.patches[{i}]", seen)
    return errors


def _patch_errors(patch: Obj, cluster_class: Obj, path: str, seen: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = patch.get("name")
    if name == VARIABLE_DEFINITION_FROM_INLINE:
        errors.append(FieldError.required(f"{path}.name", f"{quote_value(name)} can not be used as the name of a "
                                          "patch"))
    elif isinstance(name, str) and name in seen:
        errors.append(FieldError.invalid(f"{path}.name", name, f"patch names must be unique. Patch with name "
                                         f"{quote_value(name)} is defined more than once"))
    if isinstance(name, str):
        seen.add(name)
    enabled_if = patch.get("enabledIf")
    if isinstance(enabled_if, str) and (problem := template_problem(enabled_if)):
        errors.append(FieldError.invalid(f"{path}.enabledIf", enabled_if, f"template can not be parsed: {problem}"))
    definitions, external = patch.get("definitions"), patch.get("external")
    if not definitions and not external:
        return [*errors, FieldError.required(path, "one of definitions or external must be defined")]
    if definitions and external:
        errors.append(FieldError.invalid(path, patch, "only one of definitions or external can be defined"))
    if external:
        errors.append(FieldError.forbidden(f"{path}.external", "patch.external can be used only if the RuntimeSDK "
                                           "feature flag is enabled (herd has no Runtime SDK)"))
    variables = {nested(v, "name") for v in nested(cluster_class, "spec", "variables") or []}
    for j, definition in enumerate(definitions if isinstance(definitions, list) else []):
        where = f"{path}.definitions[{j}]"
        errors += _selector_errors(nested(definition, "selector"), cluster_class, f"{where}.selector")
        for k, json_patch in enumerate(nested(definition, "jsonPatches") or []):
            if isinstance(json_patch, dict):
                errors += _json_patch_errors(json_patch, variables, f"{where}.jsonPatches[{k}]")
    return errors


def _matches(selector: Any, ref: Any) -> bool:
    return isinstance(ref, dict) and nested(selector, "kind") == ref.get("kind") and \
        nested(selector, "apiVersion") == ref.get("apiVersion")


def _class_name_matches(pattern: str, name: str) -> bool:
    if pattern in ("*", name):
        return True
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return pattern.endswith("*") and name.startswith(pattern[:-1])


def _selector_name_problem(name: str) -> str | None:
    if name.count("*") > 1:
        return 'selector can at most contain a single "*" rune'
    if "*" in name and not name.startswith("*") and not name.endswith("*"):
        return '"*" rune can only appear at the beginning, or ending of the selector'
    if qualified_name_problems(name.replace("*", "a")):
        return "selector does not comply with the Kubernetes naming standards"
    return None


def _selector_errors(selector: Any, cluster_class: Obj, path: str) -> list[FieldError]:
    match = nested(selector, "matchResources") or {}
    spec = nested(cluster_class, "spec")
    if not match.get("infrastructureCluster") and not match.get("controlPlane") and not any(
            nested(match, key, "names") for key, _, _ in WORKER_KINDS):
        return [FieldError.invalid(path, selector, "no selector enabled")]
    errors: list[FieldError] = []
    if match.get("infrastructureCluster") and not _matches(selector, nested(spec, "infrastructure", "templateRef")):
        errors.append(FieldError.invalid(f"{path}.matchResources.infrastructureCluster", True, "selector is enabled "
                                         "but does not match the infrastructure ref"))
    if match.get("controlPlane") and not (
            _matches(selector, nested(spec, "controlPlane", "templateRef"))
            or _matches(selector, nested(spec, "controlPlane", "machineInfrastructure", "templateRef"))):
        errors.append(FieldError.invalid(f"{path}.matchResources.controlPlane", True, "selector is enabled but "
                                         "matches neither the controlPlane ref nor the controlPlane "
                                         "machineInfrastructure ref"))
    for key, workers, kind in WORKER_KINDS:
        classes = [c for c in nested(spec, "workers", workers) or [] if isinstance(c, dict)]
        for i, name in enumerate(nested(match, key, "names") or []):
            where = f"{path}.matchResources.{key}.names[{i}]"
            problem = _selector_name_problem(str(name))
            if problem:
                errors.append(FieldError.invalid(where, name, problem))
                continue
            if not any(_class_name_matches(str(name), str(c.get("class"))) and (
                    _matches(selector, nested(c, "bootstrap", "templateRef"))
                    or _matches(selector, nested(c, "infrastructure", "templateRef"))) for c in classes):
                errors.append(FieldError.invalid(where, name, "selector is enabled but matches neither the bootstrap "
                                                 f"ref nor the infrastructure ref of a {kind} class"))
    return errors


def _json_patch_errors(json_patch: Obj, variables: set[Any], path: str) -> list[FieldError]:
    op, target = json_patch.get("op"), str(json_patch.get("path") or "")
    errors: list[FieldError] = []
    if op not in OPS:
        errors.append(unsupported(f"{path}.op", op, OPS))
    if not target.startswith("/spec"):
        errors.append(FieldError.invalid(f"{path}.path", target, 'jsonPatch path must start with "/spec"'))
    for part in target.split("/"):
        if not part.isdigit():
            continue
        if op == "add" and int(part) != 0:
            errors.append(FieldError.invalid(f"{path}.path", target, 'arrays can only be accessed using "0" (prepend) '
                                             'or "-" (append)'))
        elif op in ("replace", "remove"):
            errors.append(FieldError.invalid(f"{path}.path", target, f"elements in arrays can not be accessed in a "
                                             f"{op} operation"))
    if op not in ("add", "replace"):
        return errors
    has_value, value_from = "value" in json_patch, json_patch.get("valueFrom")
    if not has_value and value_from is None:
        errors.append(FieldError.invalid(path, json_patch, "jsonPatch must define one of value or valueFrom"))
    if has_value and value_from is not None:
        errors.append(FieldError.invalid(path, json_patch, "jsonPatch can not define both value and valueFrom"))
    if not isinstance(value_from, dict):
        return errors
    template, variable = value_from.get("template"), value_from.get("variable")
    if not template and not variable:
        errors.append(FieldError.invalid(f"{path}.valueFrom", value_from, "valueFrom must set either template or "
                                         "variable"))
    if template and variable:
        errors.append(FieldError.invalid(f"{path}.valueFrom", value_from, "valueFrom can not set both template and "
                                         "variable"))
    if isinstance(template, str) and (problem := template_problem(template)):
        errors.append(FieldError.invalid(f"{path}.valueFrom.template", template, f"template can not be parsed: "
                                         f"{problem}"))
    if isinstance(variable, str) and variable:
        if variable.startswith("builtin.") or variable == "builtin":
            if variable not in BUILTIN_VARIABLES:
                errors.append(FieldError.invalid(f"{path}.valueFrom.variable", variable, "not a defined builtin "
                                                 "variable"))
        elif re.split(r"[.\[]", variable)[0] not in variables:
            errors.append(FieldError.invalid(f"{path}.valueFrom.variable", variable, f"variable with name "
                                             f"{variable} cannot be found"))
    return errors

