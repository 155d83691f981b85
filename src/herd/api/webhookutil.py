"""Pieces the admission webhooks of every Cluster API group share (upstream: util/version, util/labels/format,
internal/topology/names, internal/util/taints, and the common parts of internal/webhooks).

Everything works on wire dicts: webhooks run before the API server's schema validation, so the helpers skip
values of the wrong type and leave them to the schema, which reports them with their path.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from herd.api.cluster import labels as L
from herd.api.objects import nested
from herd.runtime.webhook import (
    FieldError,
    dns1123_subdomain_problems,
    int_or_percent_problem,
    label_value_problems,
    qualified_name_problems,
    validate_annotations,
    validate_labels,
)

Obj = dict[str, Any]

# Kubernetes versions as Cluster API takes them: "v" required (the defaulters add it), semver after it.
KUBE_SEMVER = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)([-0-9a-zA-Z_.+]*)?$")
NOT_SEMVER = "must be a valid semantic version"
IMMUTABLE = "field is immutable"


@dataclass(frozen=True)
class FeatureGates:
    """Upstream's feature gates that change what the webhooks accept, with upstream's defaults (herd has no
    ClusterClass, Ignition or taint propagation yet, so those stay off unless a caller turns them on)."""

    cluster_topology: bool = False
    kubeadm_bootstrap_format_ignition: bool = False
    machine_set_preflight_checks: bool = True
    machine_taint_propagation: bool = False


DEFAULT_GATES = FeatureGates()

# --- helpers on wire dicts --------------------------------------------------------------------------------------


def ensure(obj: Any, *path: str) -> Obj | None:
    """The object at `path`, created where missing or null; None when a value of another type is in the way
    (the schema reports that one)."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        if obj.get(key) is None:
            obj[key] = {}
        obj = obj[key]
    return obj if isinstance(obj, dict) else None


def text(value: Any) -> str:
    """A string field as Go decodes it: "" when missing."""
    return value if isinstance(value, str) else ""


def defined(value: Any) -> bool:
    """Go's IsDefined() for an optional struct: present and not empty."""
    return isinstance(value, dict) and bool(value)


def normalize_version(holder: Any, key: str = "version", *, always: bool = False) -> None:
    """Tolerate versions without the "v" prefix. `always` prefixes even "" (upstream does for topologies/KCP)."""
    if not isinstance(holder, dict):
        return
    value = holder.get(key)
    if isinstance(value, str) and (value or always) and not value.startswith("v"):
        holder[key] = "v" + value
    elif value is None and always:
        holder[key] = "v"


def version_errors(value: Any, field: str, detail: str = NOT_SEMVER) -> list[FieldError]:
    """A "must be a valid semantic version" error unless `value` is a v-prefixed semver (or unset/mistyped)."""
    if isinstance(value, str) and value and not KUBE_SEMVER.match(value):
        return [FieldError.invalid(field, value, detail)]
    return []


def parse_tolerant(value: str) -> tuple[int, int, int, str] | None:
    """semver.ParseTolerant: optional "v", missing minor/patch read as 0; None when not a version."""
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+].*)?$", value.strip())
    if match is None or any(p is not None and len(p) > 1 and p.startswith("0") for p in match.groups()[:3]):
        return None
    major, minor, patch, rest = match.groups()
    return int(major), int(minor or 0), int(patch or 0), rest or ""


def metadata_errors(meta: Any, field: str) -> list[FieldError]:
    """ObjectMeta.Validate of a template's metadata: its labels and annotations."""
    return validate_labels(nested(meta, "labels"), f"{field}.labels") + \
        validate_annotations(nested(meta, "annotations"), f"{field}.annotations")


def name_is_label_value(obj: Obj, sep: str = ": ") -> list[FieldError]:
    """The object's name is used as a label value, so it must be one."""
    name = text(nested(obj, "metadata", "name"))
    return [FieldError.invalid("metadata.name", name, f"must be a valid label value{sep}{p}")
            for p in label_value_problems(name)]


def int_or_percent_errors(value: Any, field: str) -> list[FieldError]:
    """An error unless `value` is an int-or-string holding a number or a percentage (or unset)."""
    problem = int_or_percent_problem(value)
    return [FieldError.invalid(field, value, problem)] if problem else []


def format_label_value(value: str) -> str:
    """util/labels/format.MustFormatValue: the value itself, or a short FNV-32a hash when it is no label value."""
    if not label_value_problems(value):
        return value
    digest = 0x811C9DC5
    for byte in value.encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "hash_" + base64.urlsafe_b64encode(digest.to_bytes(4, "big")).decode().rstrip("=") + "_z"


def naming_errors(template: Any, field: str, values: dict[str, str]) -> list[FieldError]:
    """A machine naming template must use {{ .random }}, render, and give valid object names."""
    if not isinstance(template, str) or not template:
        return []
    errors = [] if "{{ .random }}" in template else \
        [FieldError.invalid(field, template, "invalid template, {{ .random }} is missing")]
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "random":
            return "b2d4f"  # five of the generator's lowercase consonants and digits: any five validate alike
        if key not in values:
            unknown.append(key)
        return values.get(key, "")

    name = re.sub(r"\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}", substitute, template)
    if unknown or "{{" in name or "}}" in name:
        return [*errors, FieldError.invalid(field, template, "invalid template: only .cluster.name, "
                                            f"{', '.join('.' + k for k in values if k != 'cluster.name')} and "
                                            ".random can be used")]
    if len(name) > 63:  # the generator cuts long names to 58 characters plus a random suffix
        name = name[:58] + "b2d4f"
    return errors + [FieldError.invalid(field, template, "invalid template, generated names would not be valid "
                                        f"Kubernetes object names: {p}") for p in dns1123_subdomain_problems(name)]


def taint_errors(taints: Any, field: str, obj_labels: Any, gates: FeatureGates) -> list[FieldError]:
    """Taints Cluster API manages: no reserved keys, none for worker Machines that only control planes get."""
    if not isinstance(taints, list):
        return []
    if not gates.machine_taint_propagation:
        return [FieldError.forbidden(field, "taints can be set only if the MachineTaintPropagation feature gate "
                                     "is enabled")] if taints else []
    errors = []
    worker = not (isinstance(obj_labels, dict) and L.MACHINE_CONTROL_PLANE_LABEL in obj_labels)
    for i, taint in enumerate(taints):
        key, path = text(nested(taint, "key")), f"{field}[{i}].key"
        if key in (L.NODE_UNINITIALIZED_TAINT_KEY, L.NODE_OUTDATED_REVISION_TAINT_KEY):
            errors.append(FieldError.invalid(path, key, "taint key is reserved for Cluster API"))
        elif key.startswith("node.kubernetes.io/") and key != "node.kubernetes.io/out-of-service":
            errors.append(FieldError.invalid(path, key, "the prefix node.kubernetes.io/ is reserved (only "
                                             "node.kubernetes.io/out-of-service may be used)"))
        elif key.startswith("node.cloudprovider.kubernetes.io/"):
            errors.append(FieldError.invalid(path, key, "the prefix node.cloudprovider.kubernetes.io/ is reserved"))
        elif key == "node-role.kubernetes.io/master":
            errors.append(FieldError.invalid(path, key, "this taint is deprecated since Kubernetes 1.24"))
        if worker and key == "node-role.kubernetes.io/control-plane":
            errors.append(FieldError.invalid(path, key, "taint is not allowed for worker Machines"))
    return errors


def quote(value: str) -> str:
    """A string quoted as Go's %q quotes it (double quotes, escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _requirements(selector: Any) -> list[tuple[str, str, list[str]]]:
    """A label selector as (key, operator, values) requirements; matchLabels pairs are single-value In."""
    match_labels = nested(selector, "matchLabels")
    reqs = [(str(k), "=", [str(v)]) for k, v in match_labels.items()] if isinstance(match_labels, dict) else []
    expressions = nested(selector, "matchExpressions")
    for req in expressions if isinstance(expressions, list) else []:
        values = nested(req, "values")
        reqs.append((text(nested(req, "key")), text(nested(req, "operator")),
                     [str(v) for v in values] if isinstance(values, list) else []))
    return reqs


def selector_errors(selector: Any, field: str) -> list[FieldError]:
    """LabelSelectorAsSelector's checks: known operators, values as they require, valid keys and values."""
    errors: list[FieldError] = validate_labels(nested(selector, "matchLabels"), f"{field}.matchLabels")
    expressions = [r for r in _requirements(selector) if r[1] != "="]
    for i, (key, op, values) in enumerate(expressions):
        path = f"{field}.matchExpressions[{i}]"
        if op in ("In", "NotIn") and not values:
            errors.append(FieldError.required(f"{path}.values", f"must be specified when operator is {op}"))
        elif op in ("Exists", "DoesNotExist") and values:
            errors.append(FieldError.forbidden(f"{path}.values", f"may not be specified when operator is {op}"))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errors.append(FieldError.invalid(f"{path}.operator", op, "not a valid label selector operator"))
        errors += [FieldError.invalid(f"{path}.key", key, p) for p in qualified_name_problems(key)]
    return errors


def selector_matches(selector: Any, labels: Any) -> tuple[bool, str]:
    """Whether `labels` satisfy a (valid) label selector, and the selector in its string form, requirements
    sorted by key as Kubernetes prints them."""
    labels = labels if isinstance(labels, dict) else {}
    matches, parts = True, []
    for key, op, values in _requirements(selector):
        present = key in labels
        if op in ("=", "In"):
            matches = matches and present and labels[key] in values
        elif op == "NotIn":
            matches = matches and (not present or labels[key] not in values)
        else:
            matches = matches and present == (op == "Exists")
        listed = ",".join(sorted(set(values)))
        parts.append((key, {"=": f"{key}={listed}", "In": f"{key} in ({listed})", "NotIn": f"{key} notin ({listed})",
                            "Exists": key}.get(op, f"!{key}")))
    return matches, ",".join(part for _, part in sorted(parts, key=lambda p: p[0]))
