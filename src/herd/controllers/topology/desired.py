"""The objects a Cluster's topology asks for, computed from the Cluster, its ClusterClass, the class's templates
and what exists already (pure: no reads, no writes).

Names of existing objects are kept; new ones follow the class's `naming.template`s (upstream's defaults
otherwise). Templates are cloned per Cluster (`<cluster>-` for the control plane's machine template,
`<cluster>-<topology name>-` for a MachineDeployment's), labelled and annotated as upstream does; the
phases decide whether a changed template is rotated to a new name (`link` then points the references at it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    CLUSTER_TOPOLOGY_DEFER_UPGRADE_ANNOTATION,
    CLUSTER_TOPOLOGY_HOLD_UPGRADE_SEQUENCE_ANNOTATION,
    CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL,
    CLUSTER_TOPOLOGY_OWNED_LABEL,
)
from herd.api.objects import nested
from herd.contract.templates import clone_from_template, reference_to
from herd.runtime import Object, owner_reference

from . import names
from . import patches as p
from .upgrade import UpgradeTracker
from .variables import cluster_builtins, cluster_values, machine_deployment_builtins, with_overrides


@dataclass
class Blueprint:
    """A ClusterClass and the templates it references (read only: the computation patches copies)."""

    cluster_class: Object
    infrastructure_cluster: Object
    control_plane: Object
    control_plane_machine: Object | None
    workers: dict[str, tuple[Object, Object]]  # worker class → (bootstrap template, infrastructure template)


@dataclass
class CurrentMachineDeployment:
    md: Object
    bootstrap: Object | None = None
    infrastructure: Object | None = None


@dataclass
class Current:
    """The managed objects that exist (None / absent when not)."""

    infrastructure_cluster: Object | None = None
    control_plane: Object | None = None
    control_plane_machine: Object | None = None  # the control plane's cloned machine template
    machine_deployments: dict[str, CurrentMachineDeployment] = field(default_factory=dict)  # by topology name


@dataclass
class DesiredMachineDeployment:
    topology_name: str
    md: Object
    bootstrap: Object
    infrastructure: Object
    health_check: Object | None = None


@dataclass
class Desired:
    infrastructure_cluster: Object
    control_plane: Object
    control_plane_machine: Object | None
    control_plane_health_check: Object | None
    machine_deployments: dict[str, DesiredMachineDeployment]  # by topology name


def _merge(*maps: dict[str, str] | None) -> dict[str, str]:
    """Maps merged, the first one winning (upstream's MergeMap)."""
    out: dict[str, str] = {}
    for m in reversed(maps):
        out.update(m or {})
    return out


def _meta(part: Any, key: str) -> dict[str, str]:
    return dict(nested(part or {}, "metadata", key) or {})


def _cluster_owner(cluster: Object) -> dict[str, Any]:
    return owner_reference(cluster, controller=False, block_owner_deletion=False)


def clone_template(template: Object, *, name: str, cluster: Object, extra_labels: dict[str, str] | None = None,
                   ) -> Object:
    """A per-Cluster copy of a class's template (a template itself), owned by the Cluster."""
    clone = copy.deepcopy(template)
    meta = template.get("metadata") or {}
    kind = str(template["kind"])
    clone["metadata"] = {
        "name": name, "namespace": cluster["metadata"]["namespace"],
        "labels": {**(meta.get("labels") or {}), **(extra_labels or {}),
                   CLUSTER_NAME_LABEL: cluster["metadata"]["name"], CLUSTER_TOPOLOGY_OWNED_LABEL: ""},
        "annotations": {k: v for k, v in (meta.get("annotations") or {}).items()
                        if k != "kubectl.kubernetes.io/last-applied-configuration"}
        | {"cluster.x-k8s.io/cloned-from-name": str(meta.get("name", "")),
           "cluster.x-k8s.io/cloned-from-groupkind": f"{kind}.{str(template['apiVersion']).rpartition('/')[0]}"},
        "ownerReferences": [_cluster_owner(cluster)],
    }
    clone.pop("status", None)
    return clone


def _object_from(template: Object, *, name: str, cluster: Object, labels: dict[str, str],
                 annotations: dict[str, str]) -> Object:
    """The object a template describes (infrastructure cluster, control plane): no owner, the Cluster adopts it
    once it references it."""
    obj = clone_from_template(template, name=name, namespace=cluster["metadata"]["namespace"],
                              cluster_name=cluster["metadata"]["name"],
                              labels={**labels, CLUSTER_TOPOLOGY_OWNED_LABEL: ""}, annotations=annotations,
                              owner=cluster)
    obj["metadata"].pop("ownerReferences", None)
    obj.setdefault("spec", {})
    return obj


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _deletion(topology_part: dict[str, Any], class_part: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = _first(nested(topology_part, "deletion", key), nested(class_part, "deletion", key))
        if value is not None:
            out[key] = value
    return out


_TIMEOUTS = ("nodeDrainTimeoutSeconds", "nodeVolumeDetachTimeoutSeconds", "nodeDeletionTimeoutSeconds")
_HEALTH_CHECK_CONDITIONS = ("checks", "remediation")


def health_check(cluster: Object, *, name: str, selector: dict[str, str], class_part: dict[str, Any],
                 topology_part: dict[str, Any]) -> Object | None:
    """The MachineHealthCheck for a control plane or a MachineDeployment: the topology's checks and remediation
    when it sets either, else the class's; none when disabled or when neither defines checks."""
    topology_hc = topology_part.get("healthCheck") or {}
    class_hc = class_part.get("healthCheck") or {}
    if topology_hc.get("enabled") is False:
        return None
    source = topology_hc if any(topology_hc.get(k) for k in _HEALTH_CHECK_CONDITIONS) else class_hc
    if not source.get("checks") and topology_hc.get("enabled") is not True:
        return None
    spec: dict[str, Any] = {"clusterName": cluster["metadata"]["name"], "selector": {"matchLabels": selector}}
    for key in _HEALTH_CHECK_CONDITIONS:
        if source.get(key):
            spec[key] = copy.deepcopy(source[key])
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineHealthCheck",
            "metadata": {"name": name, "namespace": cluster["metadata"]["namespace"],
                         "labels": {CLUSTER_NAME_LABEL: cluster["metadata"]["name"],
                                    CLUSTER_TOPOLOGY_OWNED_LABEL: ""}}, "spec": spec}


def _class_of(cluster_class: Object, name: str) -> dict[str, Any]:
    for md_class in nested(cluster_class, "spec", "workers", "machineDeployments") or []:
        if md_class.get("class") == name:
            return dict(md_class)
    raise ValueError(f"MachineDeployment class {name!r} not found in ClusterClass "
                     f"{nested(cluster_class, 'metadata', 'name')}")


def _ref_name(obj: Object | None, *path: str) -> str:
    return str(nested(obj or {}, *path, "name") or "")


def _name(obj: Object | None) -> str:
    return str(nested(obj or {}, "metadata", "name") or "")


def compute(cluster: Object, blueprint: Blueprint, current: Current, versions: UpgradeTracker) -> Desired:
    """Everything the topology asks for; raises ValueError (or PatchError) when the class cannot be built."""
    cc = blueprint.cluster_class
    cluster_name = str(cluster["metadata"]["name"])
    topology = nested(cluster, "spec", "topology") or {}
    cp_topology = dict(topology.get("controlPlane") or {})
    cp_class = dict(nested(cc, "spec", "controlPlane") or {})

    # names: the existing objects' (referenced by the Cluster, or made for it before it could reference them),
    # else new ones
    infra_name = (_ref_name(cluster, "spec", "infrastructureRef") or _name(current.infrastructure_cluster)
                  or names.from_template(nested(cc, "spec", "infrastructure", "naming", "template")
                                         or names.INFRASTRUCTURE_CLUSTER_NAMING, cluster_name))
    cp_name = (_ref_name(cluster, "spec", "controlPlaneRef") or _name(current.control_plane)
               or names.from_template(nested(cp_class, "naming", "template") or names.CONTROL_PLANE_NAMING,
                                      cluster_name))
    cp_machine_name = (_ref_name(current.control_plane, "spec", "machineTemplate", "spec", "infrastructureRef")
                       or names.with_prefix(f"{cluster_name}-"))

    # templates to patch: copies of the class's
    infra_template = copy.deepcopy(blueprint.infrastructure_cluster)
    cp_template = copy.deepcopy(blueprint.control_plane)
    cp_machine_template = copy.deepcopy(blueprint.control_plane_machine) if blueprint.control_plane_machine else None
    values = cluster_values(cluster, cc)
    builtin = cluster_builtins(cluster, {"version": versions.control_plane_version, "name": cp_name,
                                         "replicas": cp_topology.get("replicas"),
                                         "machineTemplateName": cp_machine_name if cp_machine_template else ""})
    global_vars = {**values, "builtin": builtin}
    cp_vars = {**with_overrides(values, cp_topology), "builtin": builtin}
    targets = [p.Target(p.INFRASTRUCTURE_CLUSTER, infra_template, global_vars),
               p.Target(p.CONTROL_PLANE, cp_template, cp_vars)]
    if cp_machine_template is not None:
        targets.append(p.Target(p.CONTROL_PLANE_MACHINE, cp_machine_template, cp_vars))

    worker_parts: list[tuple[dict[str, Any], dict[str, Any], str, Object, Object, str, str]] = []
    for md_topology in nested(topology, "workers", "machineDeployments") or []:
        md_class = _class_of(cc, str(md_topology.get("class", "")))
        topology_name = str(md_topology["name"])
        existing = current.machine_deployments.get(topology_name)
        md_name = str(existing.md["metadata"]["name"]) if existing else names.from_template(
            nested(md_class, "naming", "template") or names.MACHINE_DEPLOYMENT_NAMING, cluster_name,
            topology_name=topology_name)
        bootstrap_class, infra_class = blueprint.workers[str(md_class["class"])]
        bootstrap, infrastructure = copy.deepcopy(bootstrap_class), copy.deepcopy(infra_class)
        prefix = f"{cluster_name}-{topology_name}-"
        bootstrap_name = (_ref_name(existing.md if existing else None, "spec", "template", "spec", "bootstrap",
                                    "configRef") or names.with_prefix(prefix))
        infra_machine_name = (_ref_name(existing.md if existing else None, "spec", "template", "spec",
                                        "infrastructureRef") or names.with_prefix(prefix))
        md_builtin = machine_deployment_builtins(
            md_topology, name=md_name, version=versions.md_versions.get(topology_name, ""),
            bootstrap_name=bootstrap_name, infrastructure_name=infra_machine_name)
        md_vars = {**with_overrides(values, md_topology), "builtin": {**builtin, "machineDeployment": md_builtin}}
        targets.append(p.Target(p.WORKER_BOOTSTRAP, bootstrap, md_vars, str(md_class["class"])))
        targets.append(p.Target(p.WORKER_INFRASTRUCTURE, infrastructure, md_vars, str(md_class["class"])))
        worker_parts.append((md_topology, md_class, md_name, bootstrap, infrastructure, bootstrap_name,
                             infra_machine_name))

    p.apply_patches(cc, targets, global_vars)

    infra = _object_from(infra_template, name=infra_name, cluster=cluster, labels={}, annotations={})
    cp_machine = (clone_template(cp_machine_template, name=cp_machine_name, cluster=cluster)
                  if cp_machine_template is not None else None)
    control_plane = _control_plane(cluster, cp_template, cp_name, cp_topology, cp_class, cp_machine,
                                   versions.control_plane_version)
    cp_selector = {CLUSTER_NAME_LABEL: cluster_name, "cluster.x-k8s.io/control-plane": ""}
    cp_health = health_check(cluster, name=cp_name, selector=cp_selector, class_part=cp_class,
                             topology_part=cp_topology)

    mds: dict[str, DesiredMachineDeployment] = {}
    for md_topology, md_class, md_name, bootstrap, infrastructure, bootstrap_name, infra_machine_name in worker_parts:
        topology_name = str(md_topology["name"])
        label = {CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL: topology_name}
        bootstrap_clone = clone_template(bootstrap, name=bootstrap_name, cluster=cluster, extra_labels=label)
        infra_clone = clone_template(infrastructure, name=infra_machine_name, cluster=cluster, extra_labels=label)
        md = _machine_deployment(cluster, md_topology, md_class, md_name, versions.md_versions[topology_name])
        selector = dict(md["spec"]["selector"]["matchLabels"])
        mds[topology_name] = DesiredMachineDeployment(
            topology_name, md, bootstrap_clone, infra_clone,
            health_check(cluster, name=md_name, selector=selector, class_part=md_class, topology_part=md_topology))
    desired = Desired(infra, control_plane, cp_machine, cp_health, mds)
    link(desired)
    return desired


def link(desired: Desired) -> None:
    """Point the control plane and the MachineDeployments at their templates' (possibly new) names."""
    if desired.control_plane_machine is not None:
        machine_spec = desired.control_plane["spec"].setdefault("machineTemplate", {}).setdefault("spec", {})
        machine_spec["infrastructureRef"] = reference_to(desired.control_plane_machine)
    for part in desired.machine_deployments.values():
        spec = part.md["spec"]["template"]["spec"]
        spec["bootstrap"] = {"configRef": reference_to(part.bootstrap)}
        spec["infrastructureRef"] = reference_to(part.infrastructure)


def _control_plane(cluster: Object, template: Object, name: str, cp_topology: dict[str, Any],
                   cp_class: dict[str, Any], machine_template: Object | None, version: str) -> Object:
    labels = _merge(_meta(cp_topology, "labels"), _meta(cp_class, "labels"))
    labels[CLUSTER_NAME_LABEL] = str(cluster["metadata"]["name"])
    labels[CLUSTER_TOPOLOGY_OWNED_LABEL] = ""
    annotations = _merge(_meta(cp_topology, "annotations"), _meta(cp_class, "annotations"))
    cp = _object_from(template, name=name, cluster=cluster, labels=labels, annotations=annotations)
    spec = cp["spec"]
    if machine_template is not None:
        machine = spec.setdefault("machineTemplate", {})
        meta = machine.get("metadata") or {}
        machine["metadata"] = {"labels": _merge(meta.get("labels"), labels),
                               "annotations": _merge(meta.get("annotations"), annotations)}
        if not machine["metadata"]["annotations"]:
            del machine["metadata"]["annotations"]
        machine_spec = machine.setdefault("spec", {})
        gates = _first(cp_topology.get("readinessGates"), cp_class.get("readinessGates"))
        if gates is not None:
            machine_spec["readinessGates"] = copy.deepcopy(gates)
        taints = _first(cp_topology.get("taints"), cp_class.get("taints"))
        if taints is not None:
            machine_spec["taints"] = copy.deepcopy(taints)
        deletion = _deletion(cp_topology, cp_class, _TIMEOUTS)
        if deletion:
            machine_spec["deletion"] = deletion
    if cp_topology.get("replicas") is not None:
        spec["replicas"] = cp_topology["replicas"]
    if nested(cp_topology, "rollout", "after"):
        spec.setdefault("rollout", {})["after"] = cp_topology["rollout"]["after"]
    spec["version"] = version
    return cp


def _machine_deployment(cluster: Object, md_topology: dict[str, Any], md_class: dict[str, Any], name: str,
                        version: str) -> Object:
    cluster_name = str(cluster["metadata"]["name"])
    topology_name = str(md_topology["name"])
    annotations = _merge(_meta(md_topology, "annotations"), _meta(md_class, "annotations"))
    for held in (CLUSTER_TOPOLOGY_HOLD_UPGRADE_SEQUENCE_ANNOTATION, CLUSTER_TOPOLOGY_DEFER_UPGRADE_ANNOTATION):
        annotations.pop(held, None)
    labels = _merge(_meta(md_topology, "labels"), _meta(md_class, "labels"))
    selector = {CLUSTER_NAME_LABEL: cluster_name, CLUSTER_TOPOLOGY_OWNED_LABEL: "",
                CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL: topology_name}
    labels.update(selector)
    machine_spec: dict[str, Any] = {"clusterName": cluster_name, "version": version}
    failure_domain = md_topology.get("failureDomain") or md_class.get("failureDomain")
    if failure_domain:
        machine_spec["failureDomain"] = failure_domain
    deletion = _deletion(md_topology, md_class, _TIMEOUTS)
    if deletion:
        machine_spec["deletion"] = deletion
    for key in ("readinessGates", "taints", "minReadySeconds"):
        value = _first(md_topology.get(key), md_class.get(key))
        if value is not None:
            machine_spec[key] = copy.deepcopy(value)
    template_meta: dict[str, Any] = {"labels": dict(labels)}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    spec: dict[str, Any] = {"clusterName": cluster_name, "selector": {"matchLabels": selector},
                            "template": {"metadata": template_meta, "spec": machine_spec}}
    if md_topology.get("replicas") is not None:
        spec["replicas"] = md_topology["replicas"]
    rollout = copy.deepcopy(md_topology.get("rollout") or md_class.get("rollout"))
    if rollout:
        spec["rollout"] = rollout
    order = nested(md_topology, "deletion", "order") or nested(md_class, "deletion", "order")
    if order:
        spec["deletion"] = {"order": order}
    max_in_flight = _first(nested(md_topology, "healthCheck", "remediation", "maxInFlight"),
                           nested(md_class, "healthCheck", "remediation", "maxInFlight"))
    if max_in_flight is not None:
        spec["remediation"] = {"maxInFlight": max_in_flight}
    meta: dict[str, Any] = {"name": name, "namespace": cluster["metadata"]["namespace"], "labels": labels,
                            "ownerReferences": [_cluster_owner(cluster)]}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment", "metadata": meta, "spec": spec}
