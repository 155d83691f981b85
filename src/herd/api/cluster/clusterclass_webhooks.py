"""The ClusterClass admission webhook (upstream: the ClusterClass webhook and internal/topology/check): the class
is well formed, and a change or deletion does not break the Clusters built from it.

Reading those Clusters (and, for the Cluster webhook, the class) goes through a `TopologyReader`, which `herd
up`/`herd init` back with the manager's cache; with no reader the checks that need one are skipped.
"""

from __future__ import annotations

from typing import Any, Protocol

from herd.api.objects import nested
from herd.api.webhookutil import (
    DEFAULT_GATES,
    FeatureGates,
    int_or_percent_errors,
    metadata_errors,
    naming_errors,
    parse_tolerant,
    quote,
    taint_errors,
    text,
)
from herd.runtime.webhook import FieldError, WebhookDenied

from . import labels as L
from .clusterclass_patches import validate_patches
from .clusterclass_variables import validate_class_variables

Obj = dict[str, Any]
TEMPLATE_SUFFIX = "Template"
WORKERS = (("machineDeployments", "MachineDeployment"), ("machinePools", "MachinePool"))


class TopologyReader(Protocol):
    """What the topology webhooks read besides the object under review. Either method raises LookupError when it
    cannot tell (e.g. its cache has not synced yet)."""

    def cluster_class(self, namespace: str, name: str) -> Obj | None:
        """The ClusterClass, or None when there is none."""

    def clusters_using(self, namespace: str, name: str) -> list[Obj]:
        """The Clusters whose topology names this ClusterClass."""


def class_key(cluster: Obj) -> tuple[str, str]:
    """(namespace, name) of the ClusterClass a Cluster's topology names; the namespace defaults to the Cluster's."""
    ref = nested(cluster, "spec", "topology", "classRef")
    return text(nested(ref, "namespace")) or text(nested(cluster, "metadata", "namespace")), text(nested(ref, "name"))


def _workers(cluster_class: Any, pool: str) -> list[Obj]:
    return [c for c in nested(cluster_class, "spec", "workers", pool) or [] if isinstance(c, dict)]


def _template_ref_errors(ref: Any, path: str) -> list[FieldError]:
    kind, api_version = text(nested(ref, "kind")), text(nested(ref, "apiVersion"))
    errors = [] if text(nested(ref, "name")) else [FieldError.required(f"{path}.name", "template name must be "
                                                                       "defined")]
    if len(kind) <= len(TEMPLATE_SUFFIX) or not kind.endswith(TEMPLATE_SUFFIX):
        errors.append(FieldError.invalid(f"{path}.kind", kind, f'template kind must be of form "<name>'
                                         f'{TEMPLATE_SUFFIX}"'))
    if not api_version:
        errors.append(FieldError.required(f"{path}.apiVersion", "template apiVersion must be defined"))
    elif api_version.count("/") > 1:
        errors.append(FieldError.invalid(f"{path}.apiVersion", api_version, "template apiVersion must be a valid "
                                         "Kubernetes apiVersion"))
    return errors


def template_refs(cluster_class: Any) -> list[tuple[str, Obj]]:
    """Every template the class refers to, with the path of its templateRef."""
    spec = nested(cluster_class, "spec")
    found = [("spec.infrastructure.templateRef", nested(spec, "infrastructure", "templateRef")),
             ("spec.controlPlane.templateRef", nested(spec, "controlPlane", "templateRef")),
             ("spec.controlPlane.machineInfrastructure.templateRef",
              nested(spec, "controlPlane", "machineInfrastructure", "templateRef"))]
    for pool, _ in WORKERS:
        for item in _workers(cluster_class, pool):
            for part in ("bootstrap", "infrastructure"):
                found.append((f"spec.workers.{pool}[{text(item.get('class'))}].{part}.templateRef",
                              nested(item, part, "templateRef")))
    return [(path, ref) for path, ref in found if isinstance(ref, dict)]


def _unique_class_errors(cluster_class: Obj) -> list[FieldError]:
    errors = []
    for pool, kind in WORKERS:
        seen: set[str] = set()
        for i, item in enumerate(_workers(cluster_class, pool)):
            name = text(item.get("class"))
            if name in seen:
                errors.append(FieldError.invalid(f"spec.workers.{pool}[{i}].class", name, f"{kind} class must be "
                                                 f"unique. {kind} with class {quote(name)} is defined more than once"))
            seen.add(name)
    return errors


def _health_check_errors(cluster_class: Obj) -> list[FieldError]:
    from .webhooks import health_check_errors  # the Cluster kinds' webhooks import this module

    errors = []
    check = nested(cluster_class, "spec", "controlPlane", "healthCheck")
    if isinstance(check, dict) and check:
        errors += health_check_errors(check, "spec.controlPlane.healthCheck")
        if not nested(cluster_class, "spec", "controlPlane", "machineInfrastructure", "templateRef"):
            errors.append(FieldError.forbidden("spec.controlPlane.healthCheck", "can be only set if "
                                               "spec.controlPlane.machineInfrastructure is set"))
    for item in _workers(cluster_class, "machineDeployments"):
        check, path = item.get("healthCheck"), f"spec.workers.machineDeployments[{text(item.get('class'))}].healthCheck"
        if isinstance(check, dict) and check:
            errors += health_check_errors(check, path) + int_or_percent_errors(
                nested(check, "remediation", "maxInFlight"), f"{path}.remediation.maxInFlight")
    return errors


def _shape_errors(cluster_class: Obj, gates: FeatureGates) -> list[FieldError]:
    spec = nested(cluster_class, "spec")
    errors: list[FieldError] = []
    for path, ref in template_refs(cluster_class):
        errors += _template_ref_errors(ref, path)
    errors += _unique_class_errors(cluster_class) + _health_check_errors(cluster_class)
    naming = [("spec.infrastructure.naming.template", nested(spec, "infrastructure", "naming", "template")),
              ("spec.controlPlane.naming.template", nested(spec, "controlPlane", "naming", "template"))]
    errors += metadata_errors(nested(spec, "controlPlane", "metadata"), "spec.controlPlane.metadata")
    errors += taint_errors(nested(spec, "controlPlane", "taints"), "spec.controlPlane.taints",
                           {L.MACHINE_CONTROL_PLANE_LABEL: ""}, gates) if nested(spec, "controlPlane", "taints") else []
    for pool, _ in WORKERS:
        for item in _workers(cluster_class, pool):
            path = f"spec.workers.{pool}[{text(item.get('class'))}]"
            naming.append((f"{path}.naming.template", nested(item, "naming", "template")))
            errors += metadata_errors(item.get("metadata"), f"{path}.template.metadata")
            if item.get("taints"):
                errors += taint_errors(item.get("taints"), f"{path}.taints", {}, gates)
            rolling = nested(item, "rollout", "strategy", "rollingUpdate")
            for key in ("maxUnavailable", "maxSurge"):
                errors += int_or_percent_errors(nested(rolling, key), f"{path}.rollout.strategy.rollingUpdate.{key}")
    values = {"cluster.name": "cluster", "machineDeployment.topologyName": "mdtopology",
              "machinePool.topologyName": "mptopology"}
    for path, template in naming:
        # Topology names need no random part (a generated suffix is appended when missing).
        errors += [e for e in naming_errors(template, path, values) if ".random }} is missing" not in e.detail]
    return errors + _kubernetes_versions_errors(nested(spec, "kubernetesVersions"))


def _kubernetes_versions_errors(versions: Any) -> list[FieldError]:
    errors, previous = [], None
    for i, version in enumerate(versions if isinstance(versions, list) else []):
        path, parsed = f"spec.kubernetesVersions[{i}]", parse_tolerant(str(version))
        if parsed is None:
            errors.append(FieldError.invalid(path, version, "version must be a valid semantic version"))
            continue
        if previous is not None:
            if parsed <= previous:
                errors.append(FieldError.invalid(path, version, "version must be greater than "
                                                 f"v{previous[0]}.{previous[1]}.{previous[2]}{previous[3]}"))
            if parsed[1] not in (previous[1], previous[1] + 1):
                errors.append(FieldError.invalid(path, version, f"expecting a version with minor {previous[1]} or "
                                                 f"{previous[1] + 1}, found version {version}"))
        previous = parsed
    return errors


def _group_kind(ref: Any) -> tuple[str, str]:
    api_version = text(nested(ref, "apiVersion"))
    return (api_version.rsplit("/", 1)[0] if "/" in api_version else ""), text(nested(ref, "kind"))


def compatibility_errors(old: Obj, new: Obj) -> list[FieldError]:
    """Templates keep their group and kind, so Clusters built from the class can be moved onto the new ones."""
    errors = []
    before = dict(template_refs(old))
    for path, ref in template_refs(new):
        if path not in before:
            continue
        (old_group, old_kind), (group, kind) = _group_kind(before[path]), _group_kind(ref)
        if old_group != group:
            errors.append(FieldError.forbidden(f"{path}.apiVersion", f"group of apiVersion cannot be changed from "
                                               f"{quote(old_group)} to {quote(group)} to prevent incompatible "
                                               "changes in the Clusters"))
        if old_kind != kind:
            errors.append(FieldError.forbidden(f"{path}.kind", f"kind cannot be changed from {quote(old_kind)} to "
                                               f"{quote(kind)} to prevent incompatible changes in the Clusters"))
    return errors


def _in_use_errors(old: Obj, new: Obj, clusters: list[Obj]) -> list[FieldError]:
    """What Clusters still use may not go: worker classes, variables, health checks they enable, and their
    Kubernetes versions from the list of allowed ones."""
    errors: list[FieldError] = []
    versions = nested(new, "spec", "kubernetesVersions")
    kept_variables = {nested(v, "name") for v in nested(new, "spec", "variables") or []}
    removed_variables = {nested(v, "name") for v in nested(old, "spec", "variables") or []} - kept_variables
    for cluster in clusters:
        name, topology = text(nested(cluster, "metadata", "name")), nested(cluster, "spec", "topology")
        version = text(nested(topology, "version"))
        if isinstance(versions, list) and versions and version not in versions:
            errors.append(FieldError.forbidden("spec.kubernetesVersions", f"Kubernetes Version {version} is used by "
                                               f"Cluster {quote(name)} but not set in ClusterClass"))
        for pool, kind in WORKERS:
            kept = {text(c.get("class")) for c in _workers(new, pool)}
            removed = {text(c.get("class")) for c in _workers(old, pool)} - kept
            for item in nested(topology, "workers", pool) or []:
                used = text(nested(item, "class"))
                if used in removed:
                    errors.append(FieldError.forbidden(f"spec.workers.{pool}", f"{kind}Class {quote(used)} cannot be "
                                                       f"deleted because it is used by Cluster {quote(name)}"))
        for variable in sorted(_variables_set_by(topology) & removed_variables):
            errors.append(FieldError.forbidden("spec.variables", f"variable {quote(variable)} cannot be removed "
                                               f"because it is used by Cluster {quote(name)}"))
    return errors + _removed_health_check_errors(old, new, clusters)


def _variables_set_by(topology: Any) -> set[str]:
    holders = [topology, nested(topology, "controlPlane", "variables")]
    for pool, _ in WORKERS:
        holders += [nested(item, "variables") for item in nested(topology, "workers", pool) or []]
    names = {text(nested(v, "name")) for v in nested(topology, "variables") or []}
    for holder in holders[1:]:
        names |= {text(nested(v, "name")) for v in nested(holder, "overrides") or []}
    return names


def _enabled_without_checks(topology_check: Any) -> bool:
    return nested(topology_check, "enabled") is True and not nested(topology_check, "checks") and \
        not nested(topology_check, "remediation")


def _removed_health_check_errors(old: Obj, new: Obj, clusters: list[Obj]) -> list[FieldError]:
    errors = []
    if nested(old, "spec", "controlPlane", "healthCheck") and not nested(new, "spec", "controlPlane", "healthCheck"):
        users = [text(nested(c, "metadata", "name")) for c in clusters
                 if _enabled_without_checks(nested(c, "spec", "topology", "controlPlane", "healthCheck"))]
        if users:
            errors.append(FieldError.forbidden("spec.controlPlane.healthCheck", "healthCheck cannot be deleted "
                                               f"because it is used by Cluster(s) {quote(','.join(users))}"))
    before = {text(c.get("class")): c for c in _workers(old, "machineDeployments")}
    for item in _workers(new, "machineDeployments"):
        name = text(item.get("class"))
        if not nested(before.get(name), "healthCheck") or item.get("healthCheck"):
            continue
        users = [text(nested(c, "metadata", "name")) for c in clusters if any(
            nested(md, "class") == name and _enabled_without_checks(nested(md, "healthCheck"))
            for md in nested(c, "spec", "topology", "workers", "machineDeployments") or [])]
        if users:
            errors.append(FieldError.forbidden(f"spec.workers.machineDeployments[{name}].healthCheck", "healthCheck "
                                               f"cannot be deleted because it is used by Cluster(s) "
                                               f"{quote(','.join(users))}"))
    return errors


def validate_cluster_class(cluster_class: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES,
                           reader: TopologyReader | None = None) -> list[FieldError]:
    """Upstream's ClusterClass validation (create and update)."""
    if not gates.cluster_topology:
        return [FieldError.forbidden("spec", "can be set only if the ClusterTopology feature gate is enabled")]
    errors = _shape_errors(cluster_class, gates)
    errors += validate_class_variables(nested(cluster_class, "spec", "variables"))
    errors += validate_patches(cluster_class)
    if old is None:
        return errors
    errors += compatibility_errors(old, cluster_class)
    if reader is not None:
        namespace, name = text(nested(old, "metadata", "namespace")), text(nested(old, "metadata", "name"))
        try:
            clusters = reader.clusters_using(namespace, name)
        except LookupError as err:
            return [*errors, FieldError.internal("", f"Clusters using ClusterClass {name} can not be retrieved: "
                                                 f"{err}")]
        errors += _in_use_errors(old, cluster_class, clusters)
    return errors


def check_cluster_class_deletion(cluster_class: Obj, reader: TopologyReader | None) -> None:
    """Refuse (403) deleting a ClusterClass that Clusters still use, naming up to three of them."""
    if reader is None:
        return
    namespace, name = text(nested(cluster_class, "metadata", "namespace")), \
        text(nested(cluster_class, "metadata", "name"))
    try:
        clusters = reader.clusters_using(namespace, name)
    except LookupError as err:
        raise WebhookDenied(f"could not retrieve Clusters using ClusterClass: {err}", 500) from None
    if clusters:
        names = [f"{text(nested(c, 'metadata', 'namespace'))}/{text(nested(c, 'metadata', 'name'))}"
                 for c in clusters]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise WebhookDenied(f'clusterclasses.cluster.x-k8s.io "{name}" is forbidden: ClusterClass cannot be deleted '
                            f"because it is used by Cluster(s): {shown}", 403)


def review_cluster_class(request: Obj, gates: FeatureGates = DEFAULT_GATES,
                         reader: TopologyReader | None = None) -> list[str]:
    """The ClusterClass validating webhook on one AdmissionReview request (CREATE, UPDATE and DELETE): returns
    warnings, raises WebhookDenied (422 Invalid with the field errors, 403 for a deletion in use)."""
    operation = request.get("operation")
    if operation == "DELETE":
        old = request.get("oldObject")
        if isinstance(old, dict):
            check_cluster_class_deletion(old, reader)
        return []
    obj = request.get("object")
    if operation not in ("CREATE", "UPDATE"):
        return []
    if not isinstance(obj, dict):
        raise WebhookDenied("the ClusterClass in the request is not an object", 400)
    old = request.get("oldObject") if operation == "UPDATE" else None
    errors = validate_cluster_class(obj, old if isinstance(old, dict) else None, gates, reader)
    if errors:
        raise WebhookDenied.invalid("cluster.x-k8s.io", "ClusterClass", text(nested(obj, "metadata", "name")), errors)
    return []
