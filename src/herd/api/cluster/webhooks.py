"""The defaulting and validation upstream Cluster API does in webhooks for cluster.x-k8s.io/v1beta2, as pure
functions (upstream: internal/webhooks/{machine,machineset,machinedeployment,machinehealthcheck,cluster}.go).

`default_*(obj, old)` return a defaulted copy of the object (`old` is the stored object on UPDATE) and raise
WebhookDenied only where upstream's defaulting itself fails. `validate_*(obj, old)` return the problems as
FieldErrors. They work on the wire dicts, not on models: they run before the API server's schema validation (as
in kube-apiserver), so a field of the wrong type is left alone for the schema to report with its path.

The Cluster webhook reads the ClusterClass its topology names through a `TopologyReader` (given by `herd up`/`herd
init`; without one those checks are skipped): variables defaulted and checked against the class, worker classes
that exist in it, compatible templates when the class changes. Not done, because upstream reads more objects
there: the "control plane / MachineDeployments still upgrading" checks of a topology version change.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from herd.api.objects import nested
from herd.api.webhookutil import (
    DEFAULT_GATES,
    IMMUTABLE,
    FeatureGates,
    Obj,
    defined,
    ensure,
    format_label_value,
    int_or_percent_errors,
    metadata_errors,
    name_is_label_value,
    naming_errors,
    normalize_version,
    parse_tolerant,
    quote,
    selector_errors,
    selector_matches,
    taint_errors,
    text,
    version_errors,
)
from herd.runtime.objects import deep_copy
from herd.runtime.webhook import FieldError, WebhookDenied

from . import labels as L
from .clusterclass_webhooks import TopologyReader, class_key, compatibility_errors
from .variables import default_and_validate_topology

DEFAULT_NODE_DELETION_TIMEOUT_SECONDS = 10
DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS = 600
MIN_NODE_STARTUP_TIMEOUT_SECONDS = 30
PREFLIGHT_CHECKS = ("All", "ControlPlaneIsStable", "ControlPlaneVersionSkew", "KubeadmVersionSkew",
                    "KubernetesVersionSkew")
PENDING_HOOKS_ANNOTATION = "runtime.cluster.x-k8s.io/pending-hooks"


def _replicas(obj: Obj, old: Obj | None, kind: str) -> Any:
    """Upstream's replica defaulting: kept when set; else from the autoscaler's min/max size annotations (min for
    a new object, the old value clamped into the range otherwise); else 1."""
    current = nested(obj, "spec", "replicas")
    if current is not None:
        return current
    annotations = nested(obj, "metadata", "annotations") or {}
    if L.AUTOSCALER_MIN_SIZE_ANNOTATION not in annotations or L.AUTOSCALER_MAX_SIZE_ANNOTATION not in annotations:
        return 1
    bounds = []
    for key in (L.AUTOSCALER_MIN_SIZE_ANNOTATION, L.AUTOSCALER_MAX_SIZE_ANNOTATION):
        value = str(annotations[key])
        if not re.match(r"^[+-]?[0-9]+$", value) or not -(2**31) <= int(value) < 2**31:
            raise WebhookDenied(f"failed to calculate {kind} replicas value: could not parse the value of the "
                                f"{key!r} annotation ({value!r} is not a 32-bit integer)", 403)
        bounds.append(int(value))
    low, high = bounds
    before = nested(old, "spec", "replicas")
    if old is None or not isinstance(before, int) or before < low:
        return low
    return high if before > high else before


def _bootstrap_errors(bootstrap: Any, field: str) -> list[FieldError]:
    if defined(nested(bootstrap, "configRef")) or nested(bootstrap, "dataSecretName") is not None:
        return []
    return [FieldError.required(field, f"either {field}.configRef or {field}.dataSecretName must be set")]


def _preflight_errors(obj: Obj, gates: FeatureGates) -> list[FieldError]:
    skip = nested(obj, "metadata", "annotations", L.MACHINE_SET_SKIP_PREFLIGHT_CHECKS_ANNOTATION)
    if not gates.machine_set_preflight_checks or not isinstance(skip, str) or not skip:
        return []
    invalid = [s.strip() for s in skip.split(",") if s.strip() not in PREFLIGHT_CHECKS]
    if not invalid:
        return []
    return [FieldError.invalid(f"metadata.annotations[{L.MACHINE_SET_SKIP_PREFLIGHT_CHECKS_ANNOTATION}]", invalid,
                               f"skipped preflight checks must be among: {', '.join(PREFLIGHT_CHECKS)}")]


def _immutable_cluster_name(obj: Obj, old: Obj | None) -> list[FieldError]:
    if old is not None and nested(old, "spec", "clusterName") != nested(obj, "spec", "clusterName"):
        return [FieldError.forbidden("spec.clusterName", IMMUTABLE)]
    return []


def _cluster_name_label(obj: Obj) -> str:
    cluster = text(nested(obj, "spec", "clusterName"))
    labels = ensure(obj, "metadata", "labels")
    if labels is not None:
        labels[L.CLUSTER_NAME_LABEL] = cluster
    return cluster


# --- MachineDeployment and MachineSet ---------------------------------------------------------------------------


def _default_machine_group(obj: Obj, old: Obj | None, kind: str, name_label: str, name_value: str) -> Obj:
    cluster = _cluster_name_label(obj)
    spec = ensure(obj, "spec")
    if spec is None:
        return obj
    spec["replicas"] = _replicas(obj, old, kind)
    selector = ensure(spec, "selector")
    if selector is None or not isinstance(selector.get("matchLabels") or {}, dict):
        return obj
    added = {}  # maps are only created when something goes in (Go leaves empty ones out of the JSON)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        added[name_label] = name_value  # no selector given: select by the owner's name
    if kind == "MachineDeployment":
        added[L.CLUSTER_NAME_LABEL] = cluster  # the selector and the template stay in the Cluster
    template_labels = ensure(spec, "template", "metadata", "labels") if added else None
    if template_labels is not None:
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), **added}  # null reads as empty
        template_labels.update(added)
    normalize_version(nested(spec, "template", "spec"))
    return obj


def default_machine_deployment(md: Obj, old: Obj | None = None) -> Obj:
    """Labels, replicas, selector and template labels, rollout strategy and version, as upstream defaults them."""
    md = deep_copy(md)
    _default_machine_group(md, old, "MachineDeployment", L.MACHINE_DEPLOYMENT_NAME_LABEL,
                           text(nested(md, "metadata", "name")))
    strategy = ensure(md, "spec", "rollout", "strategy")
    if strategy is not None:
        strategy.setdefault("type", "RollingUpdate")
        rolling = ensure(strategy, "rollingUpdate") if strategy["type"] == "RollingUpdate" else None
        if rolling is not None:
            rolling.setdefault("maxSurge", 1)
            rolling.setdefault("maxUnavailable", 0)
    return md


def default_machine_set(ms: Obj, old: Obj | None = None) -> Obj:
    """Labels, replicas, selector and template labels and version, as upstream defaults them."""
    ms = deep_copy(ms)
    name = text(nested(ms, "metadata", "name"))
    return _default_machine_group(ms, old, "MachineSet", L.MACHINE_SET_NAME_LABEL, format_label_value(name))


def _validate_machine_group(obj: Obj, old: Obj | None, gates: FeatureGates, naming: dict[str, str]) -> list[FieldError]:
    spec, errors = nested(obj, "spec"), []
    errors += _bootstrap_errors(nested(spec, "template", "spec", "bootstrap"), "spec.template.spec.bootstrap")
    errors += _preflight_errors(obj, gates) + _immutable_cluster_name(obj, old)
    if nested(spec, "clusterName") != nested(spec, "template", "spec", "clusterName"):
        errors.append(FieldError.invalid("spec.clusterName", nested(spec, "clusterName"), "spec.clusterName and "
                                         "spec.template.spec.clusterName must be the same"))
    errors += version_errors(nested(spec, "template", "spec", "version"), "spec.template.spec.version")
    errors += naming_errors(nested(spec, "machineNaming", "template"), "spec.machineNaming.template", naming)
    return errors + metadata_errors(nested(spec, "template", "metadata"), "spec.template.metadata")


def validate_machine_deployment(md: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES
                                ) -> list[FieldError]:
    """Upstream's MachineDeployment validation (create and update)."""
    spec = nested(md, "spec")
    errors = name_is_label_value(md) + _validate_machine_group(md, old, gates, {"cluster.name": "cluster",
                                                                                 "machineSet.name": "machineset"})
    problems = selector_errors(nested(spec, "selector"), "spec.selector")
    if problems:
        errors += problems
    else:
        matches, selector = selector_matches(nested(spec, "selector"), nested(spec, "template", "metadata", "labels"))
        if not matches:
            errors.append(FieldError.forbidden("spec.template.metadata.labels",
                                               f"must match spec.selector {quote(selector)}"))
    rolling = nested(spec, "rollout", "strategy", "rollingUpdate")
    surge, unavailable = nested(rolling, "maxSurge"), nested(rolling, "maxUnavailable")
    errors += int_or_percent_errors(unavailable, "spec.rollout.strategy.rollingUpdate.maxUnavailable")
    errors += int_or_percent_errors(surge, "spec.rollout.strategy.rollingUpdate.maxSurge")
    if surge == 0 and unavailable == 0 and type(surge) is int and type(unavailable) is int:
        errors.append(FieldError.invalid("spec.rollout.strategy.rollingUpdate", surge,
                                         "maxUnavailable and maxSurge cannot both be 0"))
    return errors + int_or_percent_errors(nested(spec, "remediation", "maxInFlight"), "spec.remediation.maxInFlight")


def validate_machine_set(ms: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES) -> list[FieldError]:
    """Upstream's MachineSet validation (create and update)."""
    spec = nested(ms, "spec")
    errors = _validate_machine_group(ms, old, gates, {"cluster.name": "cluster", "machineSet.name": "machineset"})
    problems = selector_errors(nested(spec, "selector"), "spec.selector")
    if problems:
        return errors + problems
    labels = nested(spec, "template", "metadata", "labels")
    matches, selector = selector_matches(nested(spec, "selector"), labels)
    if not matches:
        errors.append(FieldError.invalid("spec.template.metadata.labels", labels or {},
                                         f"must match spec.selector {quote(selector)}"))
    return errors


# --- Machine and MachineHealthCheck -----------------------------------------------------------------------------


def default_machine(machine: Obj, old: Obj | None = None) -> Obj:
    """The cluster-name label, the "v" of the version and the 10 s node deletion timeout."""
    machine = deep_copy(machine)
    _cluster_name_label(machine)
    normalize_version(ensure(machine, "spec"))
    deletion = ensure(machine, "spec", "deletion")
    if deletion is not None:
        deletion.setdefault("nodeDeletionTimeoutSeconds", DEFAULT_NODE_DELETION_TIMEOUT_SECONDS)
    return machine


def _machine_pool_owned(machine: Obj) -> bool:
    if L.MACHINE_POOL_NAME_LABEL in (nested(machine, "metadata", "labels") or {}):
        return True
    return any(nested(ref, "kind") == "MachinePool" for ref in nested(machine, "metadata", "ownerReferences") or [])


def validate_machine(machine: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES) -> list[FieldError]:
    """Bootstrap data source, immutable clusterName, version and taints."""
    spec = nested(machine, "spec")
    errors = [] if _machine_pool_owned(machine) else _bootstrap_errors(nested(spec, "bootstrap"), "spec.bootstrap")
    errors += _immutable_cluster_name(machine, old) + version_errors(nested(spec, "version"), "spec.version")
    return errors + taint_errors(nested(spec, "taints"), "spec.taints", nested(machine, "metadata", "labels"), gates)


def default_machine_health_check(mhc: Obj, old: Obj | None = None) -> Obj:
    """The cluster-name label and the 600 s node startup timeout."""
    mhc = deep_copy(mhc)
    _cluster_name_label(mhc)
    checks = ensure(mhc, "spec", "checks")
    if checks is not None:
        checks.setdefault("nodeStartupTimeoutSeconds", DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS)
    return mhc


def health_check_errors(check: Any, field: str) -> list[FieldError]:
    """Node startup timeout (0 or at least 30 s) and the remediation threshold of a health check."""
    startup = nested(check, "checks", "nodeStartupTimeoutSeconds")
    errors = [FieldError.invalid(f"{field}.checks.nodeStartupTimeoutSeconds", startup, "must be at least 30s")] \
        if type(startup) is int and startup != 0 and startup < MIN_NODE_STARTUP_TIMEOUT_SECONDS else []
    return errors + int_or_percent_errors(nested(check, "remediation", "triggerIf", "unhealthyLessThanOrEqualTo"),
                                          f"{field}.remediation.triggerIf.unhealthyLessThanOrEqualTo")


def validate_machine_health_check(mhc: Obj, old: Obj | None = None) -> list[FieldError]:
    """A non-empty selector within the Cluster, immutable clusterName, timeouts and thresholds."""
    spec = nested(mhc, "spec")
    selector = nested(spec, "selector")
    errors = selector_errors(selector, "spec.selector")
    if not errors and not nested(selector, "matchLabels") and not nested(selector, "matchExpressions"):
        errors.append(FieldError.required("spec.selector", "selector must not be empty"))
    cluster = nested(selector, "matchLabels", L.CLUSTER_NAME_LABEL)
    if cluster is not None and cluster != nested(spec, "clusterName"):
        errors.append(FieldError.invalid("spec.selector", selector, "cannot select a cluster other than the one "
                                         "named in spec.clusterName"))
    return errors + _immutable_cluster_name(mhc, old) + health_check_errors(spec, "spec")


# --- Cluster ----------------------------------------------------------------------------------------------------


def default_cluster(cluster: Obj, old: Obj | None = None, reader: TopologyReader | None = None) -> Obj:
    """The "v" of a managed topology's version; a topology needs a class. With a reader, the topology's variables
    are defaulted and checked against the class (here rather than in validation, as upstream does, so both steps
    see the same class)."""
    cluster = deep_copy(cluster)
    topology = nested(cluster, "spec", "topology")
    if defined(topology):
        normalize_version(topology, always=True)
        name = text(nested(cluster, "metadata", "name"))
        if not text(nested(topology, "classRef", "name")):
            raise WebhookDenied.invalid("cluster.x-k8s.io", "Cluster", name,
                                        [FieldError.required("spec.topology.classRef.name", "cannot be empty")])
        # A deleting Cluster is let go: its finalizers must come off whatever its class now says.
        deleting = nested(cluster, "metadata", "deletionTimestamp")
        cluster_class = None if deleting else _read_class(reader, cluster)
        errors = default_and_validate_topology(cluster, old, cluster_class) if cluster_class else []
        if errors:
            raise WebhookDenied.invalid("cluster.x-k8s.io", "Cluster", name, errors)
    return cluster


def _read_class(reader: TopologyReader | None, cluster: Obj) -> Obj | None:
    """The Cluster's ClusterClass; None when there is no reader, no such class, or the reader cannot tell yet
    (the topology controller then defaults and checks the variables itself)."""
    if reader is None:
        return None
    try:
        return reader.cluster_class(*class_key(cluster))
    except LookupError:
        return None


def validate_cluster(cluster: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES,
                     reader: TopologyReader | None = None) -> tuple[list[str], list[FieldError]]:
    """Upstream's Cluster validation; returns (warnings, errors)."""
    spec, old_spec = nested(cluster, "spec"), nested(old, "spec")
    errors = name_is_label_value(cluster, " ")
    for ref in ("infrastructureRef", "controlPlaneRef"):
        if old is not None and defined(nested(old_spec, ref)) and not defined(nested(spec, ref)):
            errors.append(FieldError.forbidden(f"spec.{ref}", "cannot be removed"))
    if not any(defined(nested(spec, key)) for key in ("controlPlaneRef", "infrastructureRef", "topology")):
        errors.append(FieldError.forbidden("spec", "one of spec.controlPlaneRef, spec.infrastructureRef or "
                                           "spec.topology must be set"))
    for network in ("pods", "services"):
        blocks = nested(spec, "clusterNetwork", network, "cidrBlocks")
        for i, block in enumerate(blocks if isinstance(blocks, list) else []):
            try:
                ipaddress.ip_network(str(block), strict=False)
            except ValueError:
                errors.append(FieldError.invalid(f"spec.clusterNetwork.{network}.cidrBlocks[{i}]", block,
                                                 "invalid CIDR address"))
    warnings: list[str] = []
    if defined(nested(spec, "topology")):
        warnings, topology_errors = _validate_topology(cluster, old, gates, reader)
        errors += topology_errors
    if old is not None and defined(nested(old_spec, "topology")) and not defined(nested(spec, "topology")):
        errors.append(FieldError.forbidden("spec.topology", "cannot be removed from an existing Cluster"))
    return warnings, errors


def _validate_topology(cluster: Obj, old: Obj | None, gates: FeatureGates, reader: TopologyReader | None
                       ) -> tuple[list[str], list[FieldError]]:
    path, topology, annotations = "spec.topology", nested(cluster, "spec", "topology"), \
        nested(cluster, "metadata", "annotations") or {}
    if not gates.cluster_topology:
        return [], [FieldError.forbidden(path, "can be set only if the ClusterTopology feature gate is enabled")]
    if not text(nested(topology, "classRef", "name")):
        return [], [FieldError.required(f"{path}.class", "classRef.name cannot be empty")]
    errors = version_errors(nested(topology, "version"), f"{path}.version", "version must be a valid semantic version")
    errors += metadata_errors(nested(topology, "controlPlane", "metadata"), f"{path}.controlPlane.metadata")
    for pool in ("machineDeployments", "machinePools"):
        for item in nested(topology, "workers", pool) or []:
            item_path = f"{path}.workers.{pool}[{text(nested(item, 'name'))}]"
            errors += metadata_errors(nested(item, "metadata"), f"{item_path}.metadata")
            if pool == "machinePools":
                continue
            rolling = nested(item, "rollout", "strategy", "rollingUpdate")
            for key in ("maxUnavailable", "maxSurge"):
                errors += int_or_percent_errors(nested(rolling, key),
                                                f"{item_path}.rollout.strategy.rollingUpdate.{key}")
            errors += _topology_health_check_errors(item, item_path)
            scaled = {L.AUTOSCALER_MIN_SIZE_ANNOTATION, L.AUTOSCALER_MAX_SIZE_ANNOTATION}
            if nested(item, "replicas") is not None and scaled & set(nested(item, "metadata", "annotations") or {}):
                errors.append(FieldError.invalid(f"{item_path}.replicas", nested(item, "replicas"), "cannot be set "
                                                 "together with the cluster autoscaler's min/max size annotations"))
    concurrency = annotations.get(L.CLUSTER_TOPOLOGY_UPGRADE_CONCURRENCY_ANNOTATION)
    if concurrency is not None and (not re.match(r"^[+-]?[0-9]+$", str(concurrency)) or int(concurrency) < 1):
        errors.append(FieldError.invalid(f"metadata.annotations[{L.CLUSTER_TOPOLOGY_UPGRADE_CONCURRENCY_ANNOTATION}]",
                                         concurrency, "must be a whole number of at least 1"))
    warnings, class_errors = _topology_class_errors(cluster, old, reader)
    errors += class_errors
    if old is None:
        return warnings, errors
    old_topology = nested(old, "spec", "topology")
    if not defined(old_topology) or not text(nested(old_topology, "classRef", "name")):
        if L.CLUSTER_TOPOLOGY_UNSAFE_UPDATE_CLASS_NAME_ANNOTATION not in annotations:
            errors.append(FieldError.forbidden(f"{path}.class", "classRef cannot be set on an existing Cluster"))
        return warnings, errors
    if L.CLUSTER_TOPOLOGY_UNSAFE_UPDATE_VERSION_ANNOTATION in annotations:
        return [*warnings, f"Skipping version validation for Cluster because annotation "
                f"{L.CLUSTER_TOPOLOGY_UNSAFE_UPDATE_VERSION_ANNOTATION!r} is set."], errors
    return warnings, errors + _topology_version_update_errors(cluster, text(nested(old_topology, "version")),
                                                              text(nested(topology, "version")))


def _topology_class_errors(cluster: Obj, old: Obj | None, reader: TopologyReader | None
                           ) -> tuple[list[str], list[FieldError]]:
    """The topology against its ClusterClass: worker classes that exist there, health checks that have checks,
    and on a class change templates of the same kinds. A class that is missing is a warning on create and an
    error on update (a deleting Cluster is let go, so its finalizers can be removed)."""
    if reader is None or nested(cluster, "metadata", "deletionTimestamp"):
        return [], []
    namespace, name = class_key(cluster)
    try:
        cluster_class = reader.cluster_class(namespace, name)
    except LookupError as err:
        return [f"ClusterClass {namespace}/{name} could not be read ({err}): the Cluster's topology has not been "
                "fully validated"], []
    if cluster_class is None:
        if old is not None:
            return [], [FieldError.internal("spec.topology.class", f"ClusterClass {namespace}/{name} not found")]
        return [f"Cluster refers to ClusterClass {namespace}/{name}, which does not exist: the Cluster's topology "
                "has not been fully validated, and nothing is created until the ClusterClass exists"], []
    topology = nested(cluster, "spec", "topology")
    errors = []
    for pool, kind in (("machineDeployments", "MachineDeployment"), ("machinePools", "MachinePool")):
        classes = {nested(c, "class") for c in nested(cluster_class, "spec", "workers", pool) or []}
        for i, item in enumerate(nested(topology, "workers", pool) or []):
            if nested(item, "class") not in classes:
                errors.append(FieldError.invalid(f"spec.topology.workers.{pool}[{i}].class", nested(item, "class"),
                                                 f"{kind}Class with name {quote(text(nested(item, 'class')))} does "
                                                 f"not exist in ClusterClass {quote(name)}"))
    errors += _enabled_health_check_errors(topology, cluster_class)
    old_key = class_key(old) if old is not None else None
    if old is not None and old_key != (namespace, name) and old_key is not None and old_key[1]:
        previous = _read_class(reader, old)
        if previous is None:
            errors.append(FieldError.forbidden("spec.topology.class", f"ClusterClass {old_key[0]}/{old_key[1]} could "
                                               f"not be read, so the change to {namespace}/{name} cannot be validated"))
        else:
            errors += compatibility_errors(previous, cluster_class)
    return [], errors


def _enabled_health_check_errors(topology: Any, cluster_class: Obj) -> list[FieldError]:
    """`healthCheck.enabled: true` needs checks, in the topology or in the class."""
    errors = []
    check = nested(topology, "controlPlane", "healthCheck")
    if nested(check, "enabled") is True and not nested(check, "checks") and \
            not nested(cluster_class, "spec", "controlPlane", "healthCheck", "checks"):
        errors.append(FieldError.forbidden("spec.topology.controlPlane.healthCheck.enabled", "healthCheck.enabled "
                                           "can be true only if checks are defined in the Cluster or its ClusterClass"))
    md_classes = {nested(c, "class"): c for c in nested(cluster_class, "spec", "workers", "machineDeployments") or []}
    for md in nested(topology, "workers", "machineDeployments") or []:
        check = nested(md, "healthCheck")
        if nested(check, "enabled") is True and not nested(check, "checks") and \
                not nested(md_classes.get(nested(md, "class")), "healthCheck", "checks"):
            errors.append(FieldError.forbidden(
                f"spec.topology.workers.machineDeployments[{text(nested(md, 'name'))}].healthCheck.enabled",
                "healthCheck.enabled can be true only if checks are defined in the Cluster or its ClusterClass"))
    return errors


def _topology_health_check_errors(item: Any, item_path: str) -> list[FieldError]:
    check = nested(item, "healthCheck")
    if not defined(nested(check, "checks")) and not defined(nested(check, "remediation")):
        return []
    field = f"{item_path}.healthCheck"
    return health_check_errors(check, field) + \
        int_or_percent_errors(nested(check, "remediation", "maxInFlight"), f"{field}.remediation.maxInFlight")


def _topology_version_update_errors(cluster: Obj, before: str, after: str) -> list[FieldError]:
    """A topology version moves up by at most one minor at a time, never down, and not while the hook of the
    previous upgrade is pending. (Upstream also refuses while the control plane or MachineDeployments are still
    upgrading: that needs reading them, and is left to herd's topology controller.)"""
    field, new, old = "spec.topology.version", parse_tolerant(after), parse_tolerant(before)
    errors = [] if new is not None else [FieldError.invalid(field, after, "version must be a valid semantic version")]
    if old is None:
        errors.append(FieldError.invalid(field, before, "old version must be a valid semantic version"))
    if new is None or old is None or new == old:
        return errors
    if new[:3] < old[:3]:
        return [FieldError.invalid(field, after, f"version cannot be decreased from {quote(before)} to {quote(after)}")]
    if new[:3] >= (old[0], old[1] + 2, 0):
        return [FieldError.invalid(field, after, f"version cannot be increased from {quote(before)} to {quote(after)}")]
    pending = str(nested(cluster, "metadata", "annotations", PENDING_HOOKS_ANNOTATION) or "").split(",")
    if "AfterClusterUpgrade" in pending:
        return [FieldError.invalid(field, after, "version cannot be changed while the AfterClusterUpgrade hook "
                                   "is still blocking")]
    return []
