"""The defaulting and validation upstream's kubeadm control plane provider does in webhooks for
controlplane.cluster.x-k8s.io/v1beta2, as pure functions (upstream: controlplane/kubeadm/internal/webhooks).

Skipped: the CoreDNS upgrade check (`dns.imageTag` may only move to a version the corefile-migration library
can migrate to; herd has no copy of that table) and the scale subresource webhook (it reads the
KubeadmControlPlane from the API server).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from herd.api.bootstrap.webhooks import apply_previous_kubeadm_config_defaults, kubeadm_config_spec_errors
from herd.api.cluster import labels as L
from herd.api.objects import nested
from herd.api.webhookutil import (
    DEFAULT_GATES,
    FeatureGates,
    Obj,
    defined,
    ensure,
    metadata_errors,
    naming_errors,
    normalize_version,
    parse_tolerant,
    taint_errors,
    text,
    version_errors,
)
from herd.runtime.webhook import FieldError, WebhookDenied

DEFAULT_CA_CERTIFICATE_VALIDITY_DAYS = 3650
_NAMING = {"cluster.name": "cluster", "kubeadmControlPlane.name": "kubeadmcontrolplane"}
_IMAGE_TAG = re.compile(r"^([\w][\w.-]{0,127})?$")
_KCS = ("spec", "kubeadmConfigSpec")
_CC, _IC, _JC = (*_KCS, "clusterConfiguration"), (*_KCS, "initConfiguration"), (*_KCS, "joinConfiguration")

# What may change on a KubeadmControlPlane after creation; everything else is immutable. "*" allows anything
# below; a path without "*" may also be removed. (Upstream's allow-list, unchanged.)
ALLOWED_PATHS: tuple[tuple[str, ...], ...] = (
    ("metadata", "*"),
    (*_CC, "etcd"), (*_CC, "etcd", "*"), (*_CC, "etcd", "local"), (*_CC, "etcd", "local", "*"),
    (*_CC, "etcd", "external", "*"), (*_CC, "dns"), (*_CC, "dns", "*"), (*_CC, "imageRepository"),
    (*_CC, "featureGates"), (*_CC, "featureGates", "*"), (*_CC, "apiServer"), (*_CC, "apiServer", "*"),
    (*_CC, "controllerManager"), (*_CC, "controllerManager", "*"), (*_CC, "scheduler"), (*_CC, "scheduler", "*"),
    (*_CC, "certificateValidityPeriodDays"), (*_CC, "encryptionAlgorithm"),
    (*_IC, "nodeRegistration"), (*_IC, "nodeRegistration", "*"), (*_IC, "patches", "directory"), (*_IC, "patches"),
    (*_IC, "skipPhases"), (*_IC, "bootstrapTokens"), (*_IC, "localAPIEndpoint"), (*_IC, "localAPIEndpoint", "*"),
    (*_IC, "timeouts"), (*_IC, "timeouts", "*"),
    (*_JC, "nodeRegistration"), (*_JC, "nodeRegistration", "*"), (*_JC, "patches", "directory"), (*_JC, "patches"),
    (*_JC, "skipPhases"), (*_JC, "caCertPath"), (*_JC, "controlPlane"), (*_JC, "controlPlane", "*"),
    (*_JC, "discovery"), (*_JC, "discovery", "*"), (*_JC, "timeouts"), (*_JC, "timeouts", "*"),
    (*_KCS, "bootCommands"), (*_KCS, "preKubeadmCommands"), (*_KCS, "postKubeadmCommands"), (*_KCS, "files"),
    (*_KCS, "verbosity"), (*_KCS, "users"), (*_KCS, "ntp"), (*_KCS, "ntp", "*"), (*_KCS, "ignition"),
    (*_KCS, "ignition", "*"), (*_KCS, "diskSetup"), (*_KCS, "diskSetup", "*"), (*_KCS, "format"), (*_KCS, "mounts"),
    ("spec", "machineTemplate", "metadata"), ("spec", "machineTemplate", "metadata", "*"),
    ("spec", "machineTemplate", "spec"), ("spec", "machineTemplate", "spec", "*"),
    ("spec", "replicas"), ("spec", "version"), ("spec", "remediation"), ("spec", "remediation", "*"),
    ("spec", "machineNaming"), ("spec", "machineNaming", "*"), ("spec", "rollout"), ("spec", "rollout", "*"),
)


def allowed(path: tuple[str, ...] | list[str]) -> bool:
    """Whether a changed path is on the allow-list (upstream's pathsMatch)."""
    for allow in ALLOWED_PATHS:
        for i, part in enumerate(path):
            if i >= len(allow) or (allow[i] != "*" and part != allow[i]):
                break
            if allow[i] == "*":
                return True
        else:
            if path and len(path) >= len(allow):  # the whole path matched, and it is not a mere prefix
                return True
    return False


def changed_paths(old: Any, new: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The leaf paths of the JSON merge patch from `old` to `new` (lists change as a whole)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [prefix] if old != new else []
    paths: list[tuple[str, ...]] = []
    for key in sorted(set(old) | set(new)):
        if key not in new or key not in old:
            value = new.get(key)
            paths += _leaves(value, (*prefix, key)) if isinstance(value, dict) else [(*prefix, key)]
        elif old[key] != new[key]:
            both = isinstance(old[key], dict) and isinstance(new[key], dict)
            paths += changed_paths(old[key], new[key], (*prefix, key)) if both else \
                _leaves(new[key], (*prefix, key)) if isinstance(new[key], dict) else [(*prefix, key)]
    return paths


def _leaves(value: dict[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [p for key, item in value.items()
            for p in (_leaves(item, (*prefix, key)) if isinstance(item, dict) else [(*prefix, key)])]


def default_kubeadm_control_plane(kcp: Obj, old: Obj | None = None) -> Obj:
    """One replica, the "v" of the version, and the RollingUpdate strategy with maxSurge 1."""
    kcp = copy.deepcopy(kcp)
    spec = ensure(kcp, "spec")
    if spec is None:
        return kcp
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    normalize_version(spec, always=True)
    strategy = ensure(spec, "rollout", "strategy")
    if strategy is not None:
        strategy["type"] = "RollingUpdate"  # the only strategy: upstream sets it whatever was given
        rolling = ensure(strategy, "rollingUpdate")
        if rolling is not None and rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 1
    return kcp


def _int_value(value: Any) -> int:
    # intstr.IntValue: a string is read as a plain integer, and as 0 when it is not one (e.g. "50%").
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and re.match(r"^[+-]?[0-9]+$", value) else 0


def _rollout_errors(rollout: Any, configuration: Any, replicas: Any, prefix: str) -> list[FieldError]:
    strategy = nested(rollout, "strategy")
    surge = nested(strategy, "rollingUpdate", "maxSurge")
    if not nested(strategy, "type") and surge is None:  # an unset strategy: nothing to check at all
        return []
    errors = [] if nested(strategy, "type") == "RollingUpdate" else \
        [FieldError.required(f"{prefix}.rollout.strategy.type", "only RollingUpdate is supported")]
    if surge is not None:
        if _int_value(surge) == 0 and isinstance(replicas, int) and replicas < 3:
            errors.append(FieldError.required(f"{prefix}.rollout.strategy.rollingUpdate", "a control plane that "
                                              "scales in during rollouts (maxSurge 0) needs at least 3 replicas"))
        if _int_value(surge) not in (0, 1):
            errors.append(FieldError.required(f"{prefix}.rollout.strategy.rollingUpdate.maxSurge",
                                              "value must be 1 or 0"))
    days = nested(configuration, "certificateValidityPeriodDays") or 0
    ca_days = nested(configuration, "caCertificateValidityPeriodDays") or 0
    if not isinstance(days, int) or not isinstance(ca_days, int) or not days:
        return errors
    field = f"{prefix}.kubeadmConfigSpec.clusterConfiguration.certificateValidityPeriodDays"
    if ca_days and days > ca_days:
        errors.append(FieldError.invalid(field, days, f"must be at most caCertificateValidityPeriodDays ({ca_days})"))
    elif not ca_days and days > DEFAULT_CA_CERTIFICATE_VALIDITY_DAYS:
        errors.append(FieldError.invalid(field, days, "must be at most the default caCertificateValidityPeriodDays "
                                         f"({DEFAULT_CA_CERTIFICATE_VALIDITY_DAYS})"))
    expiry = nested(rollout, "before", "certificatesExpiryDays")
    if isinstance(expiry, int) and expiry and expiry >= days:
        errors.append(FieldError.invalid(f"{prefix}.rollout.before.certificatesExpiryDays", expiry,
                                         f"must be less than certificateValidityPeriodDays ({days})"))
    return errors


def cluster_configuration_errors(old: Any, new: Any, field: str) -> list[FieldError]:
    """Image tags of CoreDNS and etcd, local xor external etcd, and no switching between the two."""
    errors = []
    dns_tag = nested(new, "dns", "imageTag")
    if isinstance(dns_tag, str) and not _IMAGE_TAG.match(dns_tag):
        errors.append(FieldError.forbidden(f"{field}.dns.imageTag", f"tag {dns_tag} is invalid"))
    elif isinstance(dns_tag, str) and dns_tag and parse_tolerant(dns_tag.replace("_", "+")) is None:
        errors.append(FieldError.invalid(f"{field}.dns.imageTag", dns_tag, "failed to parse CoreDNS version"))
    local, external = nested(new, "etcd", "local"), nested(new, "etcd", "external")
    etcd_tag = nested(local, "imageTag")
    if defined(local) and isinstance(etcd_tag, str) and not _IMAGE_TAG.match(etcd_tag):
        errors.append(FieldError.forbidden(f"{field}.etcd.local.imageTag", f"tag {etcd_tag} is invalid"))
    if defined(local) and defined(external):
        errors.append(FieldError.forbidden(f"{field}.etcd.local", "cannot have both external and local etcd"))
    if old is not None and defined(nested(old, "etcd", "external")) != defined(external):
        errors.append(FieldError.forbidden(f"{field}.etcd.external", "cannot change between external and local "
                                           "etcd"))
    return errors


def _spec_errors(spec: Any, gates: FeatureGates) -> list[FieldError]:
    replicas, errors = nested(spec, "replicas"), []
    if replicas is None:
        errors.append(FieldError.required("spec.replicas", "is required"))
    elif isinstance(replicas, int) and replicas <= 0:
        errors.append(FieldError.forbidden("spec.replicas", "cannot be less than or equal to 0"))
    stacked = not defined(nested(spec, "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external"))
    if stacked and isinstance(replicas, int) and replicas % 2 == 0:
        errors.append(FieldError.forbidden("spec.replicas", "cannot be an even number when etcd is stacked"))
    ref = nested(spec, "machineTemplate", "spec", "infrastructureRef")
    for key in ("apiGroup", "kind", "name"):
        if not text(nested(ref, key)):
            errors.append(FieldError.invalid(f"spec.machineTemplate.spec.infrastructureRef.{key}", "",
                                             "cannot be empty"))
    errors += taint_errors(nested(spec, "machineTemplate", "spec", "taints"), "spec.machineTemplate.spec.taints",
                           {L.MACHINE_CONTROL_PLANE_LABEL: ""}, gates)
    errors += metadata_errors(nested(spec, "machineTemplate", "metadata"), "spec.machineTemplate.metadata")
    version = nested(spec, "version")
    errors += version_errors(version, "spec.version") if version != "" else \
        [FieldError.invalid("spec.version", "", "must be a valid semantic version")]
    errors += _rollout_errors(nested(spec, "rollout"), nested(spec, "kubeadmConfigSpec", "clusterConfiguration"),
                              replicas, "spec")
    return errors + naming_errors(nested(spec, "machineNaming", "template"), "spec.machineNaming.template", _NAMING)


def _version_update_errors(old: str, new: str) -> list[FieldError]:
    before, after = parse_tolerant(old), parse_tolerant(new)
    if before is None or after is None:
        return [FieldError.internal("spec.version", f"failed to parse the {'current' if before is None else 'new'} "
                                    f"version {old if before is None else new!r}")]
    if after[:3] >= (before[0], before[1] + 2, 0):
        return [FieldError.forbidden("spec.version", f"cannot update Kubernetes version from {old} to {new}")]
    return []


def validate_kubeadm_control_plane(kcp: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES
                                   ) -> list[FieldError]:
    """Upstream's KubeadmControlPlane validation; on update also the allow-list of mutable fields and the
    one-minor-at-a-time version rule."""
    spec, configuration_field = nested(kcp, "spec"), "spec.kubeadmConfigSpec.clusterConfiguration"
    errors = _spec_errors(spec, gates)
    old_configuration = None if old is None else nested(old, *_CC) or {}
    errors += cluster_configuration_errors(old_configuration, nested(kcp, *_CC) or {}, configuration_field)
    errors += kubeadm_config_spec_errors(nested(spec, "kubeadmConfigSpec"), "spec.kubeadmConfigSpec",
                                         control_plane=True, gates=gates)
    if old is None:
        return errors
    errors += [FieldError.forbidden(".".join(path), "cannot be modified")
               for path in changed_paths(old, kcp) if path and not allowed(path)]
    return errors + _version_update_errors(text(nested(old, "spec", "version")), text(nested(spec, "version")))


def validate_kubeadm_control_plane_template(template: Obj, old: Obj | None = None,
                                            gates: FeatureGates = DEFAULT_GATES) -> list[FieldError]:
    """On create: the template's settings (only with the ClusterTopology gate); on update: spec.template.spec is
    immutable, old defaults aside."""
    prefix, resource = "spec.template.spec", nested(template, "spec", "template", "spec")
    if old is None:
        if not gates.cluster_topology:
            raise WebhookDenied(str(FieldError.forbidden("spec", "can be set only if the ClusterTopology feature "
                                                         "gate is enabled")), 403)
        cluster_configuration = nested(resource, "kubeadmConfigSpec", "clusterConfiguration")
        errors = _rollout_errors(nested(resource, "rollout"), cluster_configuration, None, prefix)
        errors += naming_errors(nested(resource, "machineNaming", "template"), f"{prefix}.machineNaming.template",
                                _NAMING)
        errors += metadata_errors(nested(resource, "machineTemplate", "metadata"), f"{prefix}.machineTemplate.metadata")
        errors += cluster_configuration_errors(None, cluster_configuration or {},
                                               f"{prefix}.kubeadmConfigSpec.clusterConfiguration")
        errors += kubeadm_config_spec_errors(nested(resource, "kubeadmConfigSpec"), f"{prefix}.kubeadmConfigSpec",
                                             control_plane=True, gates=gates)
        return errors + metadata_errors(nested(template, "spec", "template", "metadata"), "spec.template.metadata")
    before, after = copy.deepcopy(nested(old, "spec", "template", "spec") or {}), copy.deepcopy(resource or {})
    for spec in (before, after):
        if isinstance(spec, dict) and isinstance(ensure(spec, "kubeadmConfigSpec"), dict):
            apply_previous_kubeadm_config_defaults(spec["kubeadmConfigSpec"])
    # Releases before v1beta2 wrote a RollingUpdate strategy with maxSurge 1 into templates; dropping it again
    # from an applied manifest is no change.
    old_strategy = nested(before, "rollout", "strategy")
    if not defined(nested(after, "rollout", "strategy")) and nested(old_strategy, "type") == "RollingUpdate" and \
            nested(old_strategy, "rollingUpdate", "maxSurge") == 1 and isinstance(ensure(after, "rollout"), dict):
        after["rollout"]["strategy"] = old_strategy
    changed = [".".join((prefix, *p)) for p in changed_paths(before, after)]
    if not changed:
        return []
    return [FieldError.invalid(prefix, changed, "KubeadmControlPlaneTemplate spec.template.spec is immutable: "
                               "create a new template instead")]
