"""The validation (and the little defaulting) upstream's kubeadm bootstrap provider does in webhooks for
bootstrap.cluster.x-k8s.io/v1beta2, as pure functions (upstream: bootstrap/kubeadm/internal/webhooks and
KubeadmConfigSpec.Validate in api/bootstrap/kubeadm/v1beta2).

Upstream dropped the KubeadmConfig defaulting webhook with v1beta2: an unset `format` means cloud-config to the
controller, and nothing is written into the object. Only KubeadmConfigTemplate keeps a defaulter, and it acts
only on the topology controller's dry-run requests, where it puts back the defaults older releases wrote (so
comparing a template with its stored copy does not see a difference and start a rollout).
"""

from __future__ import annotations

import copy
from typing import Any

from herd.api.cluster import labels as L
from herd.api.objects import nested
from herd.api.webhookutil import DEFAULT_GATES, FeatureGates, Obj, defined, ensure, metadata_errors, text
from herd.runtime.webhook import FieldError

CLOUD_CONFIG = "cloud-config"
IGNITION = "ignition"
NOT_WITH_IGNITION = f'not supported when spec.format is "{IGNITION}"'
EXEC_API_VERSION = "client.authentication.k8s.io/v1"


def apply_previous_kubeadm_config_defaults(spec: Obj) -> None:
    """The defaults Cluster API wrote into KubeadmConfigSpecs before v1beta2, applied in place."""
    spec.setdefault("format", CLOUD_CONFIG)
    for configuration in ("initConfiguration", "joinConfiguration"):
        registration = ensure(spec, configuration, "nodeRegistration")
        if registration is not None:
            registration.setdefault("imagePullPolicy", "IfNotPresent")
    exec_ = nested(spec, "joinConfiguration", "discovery", "file", "kubeConfig", "user", "exec")
    if defined(exec_) and not exec_.get("apiVersion"):
        exec_["apiVersion"] = EXEC_API_VERSION


def _items(value: Any) -> list[tuple[int, Obj]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _secret_source_errors(source: Any, field: str) -> list[FieldError]:
    errors = []
    for key in ("name", "key"):
        if not text(nested(source, "secret", key)):
            errors.append(FieldError.required(f"{field}.secret.{key}", f"a secret source needs a secret {key}"))
    return errors


def _inline_or_from_errors(item: Obj, field: str, inline: str, shown: str) -> list[FieldError]:
    """A file's `content` / `contentFrom`, a user's `passwd` / `passwdFrom`: one or the other, and a complete
    secret source. `shown` stands for the item in messages (its path or name, never the secret itself)."""
    source = f"{inline}From"
    errors = []
    if text(item.get(inline)) and defined(item.get(source)):
        errors.append(FieldError.invalid(field, shown, f"{inline} and {source} are mutually exclusive: set one of "
                                         "them"))
    if defined(item.get(source)):
        errors += _secret_source_errors(item[source], f"{field}.{source}")
    return errors


def _file_and_user_errors(spec: Any, field: str) -> list[FieldError]:
    errors, paths = [], set()
    for i, file in _items(nested(spec, "files")):
        # The file's path, not the file, is reported: its content may be a certificate or a key.
        path = text(file.get("path"))
        errors += _inline_or_from_errors(file, f"{field}.files[{i}]", "content", path)
        if path in paths:
            errors.append(FieldError.invalid(f"{field}.files[{i}].path", path, "path must be unique among all "
                                             "files"))
        paths.add(path)
    for i, user in _items(nested(spec, "users")):
        errors += _inline_or_from_errors(user, f"{field}.users[{i}]", "passwd", text(user.get("name")))
    return errors


def _ignition_errors(spec: Any, field: str, gates: FeatureGates) -> list[FieldError]:
    fmt, ignition = nested(spec, "format"), nested(spec, "ignition")
    if not gates.kubeadm_bootstrap_format_ignition:
        gated = "can be set only if the KubeadmBootstrapFormatIgnition feature gate is enabled"
        return ([FieldError.forbidden(f"{field}.format", gated)] if fmt == IGNITION else []) + \
            ([FieldError.forbidden(f"{field}.ignition", gated)] if defined(ignition) else [])
    if fmt != IGNITION:
        return [FieldError.invalid(f"{field}.format", fmt or "", f'must be "{IGNITION}" when spec.ignition is '
                                   "set")] if defined(ignition) else []
    errors = [FieldError.forbidden(f"{field}.users[{i}].inactive", NOT_WITH_IGNITION)
              for i, user in _items(nested(spec, "users")) if user.get("inactive") is True]
    errors += [FieldError.forbidden(f"{field}.files[{i}].encoding", NOT_WITH_IGNITION)
               for i, file in _items(nested(spec, "files")) if file.get("encoding") in ("gzip", "gzip+base64")]
    if nested(spec, "bootCommands") is not None:
        errors.append(FieldError.forbidden(f"{field}.bootCommands", NOT_WITH_IGNITION))
    disks = f"{field}.diskSetup"
    for i, partition in _items(nested(spec, "diskSetup", "partitions")):
        table = partition.get("tableType")
        if table not in (None, "", "gpt"):
            errors.append(FieldError.invalid(f"{disks}.partitions[{i}].tableType", table,
                                             f'only "gpt" partition tables are supported when spec.format is '
                                             f'"{IGNITION}"'))
    for i, filesystem in _items(nested(spec, "diskSetup", "filesystems")):
        errors += [FieldError.forbidden(f"{disks}.filesystems[{i}].{key}", NOT_WITH_IGNITION)
                   for key in ("replaceFS", "partition") if filesystem.get(key)]
    return errors


def kubeadm_config_spec_errors(spec: Any, field: str, *, control_plane: bool = False,
                               gates: FeatureGates = DEFAULT_GATES) -> list[FieldError]:
    """KubeadmConfigSpec.Validate: file and user sources, Ignition-only settings, discovery credentials and
    (for a control plane, which runs both kubeadm init and join) equal health check timeouts."""
    errors = _file_and_user_errors(spec, field) + _ignition_errors(spec, field, gates)
    user = nested(spec, "joinConfiguration", "discovery", "file", "kubeConfig", "user")
    if defined(nested(user, "authProvider")) and defined(nested(user, "exec")):
        errors.append(FieldError.invalid(f"{field}.joinConfiguration.discovery.file.kubeConfig.user",
                                         ["authProvider", "exec"], "only one of authProvider and exec may be set"))
    if control_plane:
        timeout = "timeouts.controlPlaneComponentHealthCheckSeconds"
        init = nested(spec, "initConfiguration", "timeouts", "controlPlaneComponentHealthCheckSeconds")
        join = nested(spec, "joinConfiguration", "timeouts", "controlPlaneComponentHealthCheckSeconds")
        if init != join:
            shown = {key: "unset" if value is None else str(value) for key, value in (("init", init), ("join", join))}
            detail = (f"controlPlaneComponentHealthCheckSeconds must be the same in initConfiguration.timeouts "
                      f"({shown['init']}) and joinConfiguration.timeouts ({shown['join']})")
            errors += [FieldError.invalid(f"{field}.initConfiguration.{timeout}", shown["init"], detail),
                       FieldError.invalid(f"{field}.joinConfiguration.{timeout}", shown["join"], detail)]
    return errors


def validate_kubeadm_config(config: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES
                            ) -> list[FieldError]:
    """Upstream's KubeadmConfig validation (create and update; nothing in it is immutable)."""
    return kubeadm_config_spec_errors(nested(config, "spec"), "spec", gates=gates)


def default_kubeadm_config_template(template: Obj, *, dry_run: bool = False) -> Obj:
    """Upstream's KubeadmConfigTemplate defaulting: only for the topology controller's dry runs."""
    template = copy.deepcopy(template)
    annotations = nested(template, "metadata", "annotations")
    if dry_run and isinstance(annotations, dict) and L.TOPOLOGY_DRY_RUN_ANNOTATION in annotations:
        spec = ensure(template, "spec", "template", "spec")
        if spec is not None:
            apply_previous_kubeadm_config_defaults(spec)
    return template


def validate_kubeadm_config_template(template: Obj, old: Obj | None = None, gates: FeatureGates = DEFAULT_GATES
                                     ) -> list[FieldError]:
    """The template's KubeadmConfigSpec and its metadata; a template may have no spec at all."""
    resource = nested(template, "spec", "template")
    return kubeadm_config_spec_errors(nested(resource, "spec"), "spec.template.spec", gates=gates) + \
        metadata_errors(nested(resource, "metadata"), "spec.template.metadata")
