"""The Machines a KubeadmControlPlane makes, and how it judges the ones it has: names, labels, the KubeadmConfig
each one boots from, whether it is up to date, and where the next one goes. Pure functions.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import MACHINE
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    DELETE_MACHINE_ANNOTATION,
    MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION,
    MACHINE_CONTROL_PLANE_LABEL,
    MACHINE_CONTROL_PLANE_NAME_LABEL,
    MACHINE_FINALIZER,
)
from herd.api.cluster.webhooks import default_machine
from herd.api.controlplane.kubeadmcontrolplane import PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION
from herd.api.objects import nested, parse_time
from herd.api.webhookutil import format_label_value
from herd.contract.templates import cloned_from, group_kind, render_name
from herd.runtime import Object, owner_reference

from .health import gates

DEFAULT_NAME_TEMPLATE = "{{ .kubeadmControlPlane.name }}-{{ .random }}"
# Which kubeadmConfigSpec a Machine was made from (a digest): a Machine whose digest differs is rolled out.
KUBEADM_CONFIG_HASH_ANNOTATION = "controlplane.herd.dev/kubeadm-config-hash"
_IN_PLACE_SPEC = ("readinessGates", "deletion", "taints")


def machine_name(kcp: Object, cluster_name: str) -> str:
    template = str(nested(kcp, "spec", "machineNaming", "template") or DEFAULT_NAME_TEMPLATE)
    return render_name(template, {"kubeadmControlPlane.name": str(kcp["metadata"]["name"]),
                                  "cluster.name": cluster_name})


def machine_labels(kcp: Object, cluster_name: str) -> dict[str, str]:
    """The machine template's labels, plus cluster-name, control-plane and control-plane-name."""
    labels = dict(nested(kcp, "spec", "machineTemplate", "metadata", "labels") or {})
    labels[CLUSTER_NAME_LABEL] = cluster_name
    labels[MACHINE_CONTROL_PLANE_LABEL] = ""
    labels[MACHINE_CONTROL_PLANE_NAME_LABEL] = format_label_value(str(kcp["metadata"]["name"]))
    return labels


def machine_annotations(kcp: Object) -> dict[str, str]:
    """The machine template's annotations."""
    return dict(nested(kcp, "spec", "machineTemplate", "metadata", "annotations") or {})


def config_hash(kcp: Object) -> str:
    """A digest of what in kubeadmConfigSpec makes a Machine: DNS (updated in place in the workload cluster) and
    the join discovery (per Machine) are left out, as changes to them roll nothing out."""
    spec = copy.deepcopy(nested(kcp, "spec", "kubeadmConfigSpec") or {})
    (spec.get("clusterConfiguration") or {}).pop("dns", None)
    (spec.get("joinConfiguration") or {}).pop("discovery", None)
    encoded = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def bootstrap_spec(kcp: Object, *, init: bool) -> dict[str, Any]:
    """The KubeadmConfig spec of a new Machine: the first inits the cluster; every other joins as control plane."""
    spec = copy.deepcopy(nested(kcp, "spec", "kubeadmConfigSpec") or {})
    if init:
        spec.pop("joinConfiguration", None)
    else:
        spec.pop("initConfiguration", None)
        join = spec.setdefault("joinConfiguration", {})
        if not join.get("controlPlane"):
            join["controlPlane"] = {}
    return spec


def kubeadm_config(kcp: Object, name: str, cluster_name: str, *, init: bool) -> Object:
    """The new Machine's KubeadmConfig, referencing the KubeadmControlPlane until its Machine takes it over."""
    return {
        "apiVersion": KUBEADM_CONFIG.api_version, "kind": KUBEADM_CONFIG.kind,
        "metadata": {"name": name, "namespace": kcp["metadata"]["namespace"],
                     "labels": machine_labels(kcp, cluster_name), "annotations": machine_annotations(kcp),
                     "ownerReferences": [owner_reference(kcp, controller=False, block_owner_deletion=False)]},
        "spec": bootstrap_spec(kcp, init=init),
    }


def desired_machine(kcp: Object, name: str, cluster_name: str, *, bootstrap_ref: dict[str, str],
                    infra_ref: dict[str, str], failure_domain: str | None) -> Object:
    """A new control plane Machine, controlled by the KubeadmControlPlane."""
    template_spec = nested(kcp, "spec", "machineTemplate", "spec") or {}
    spec: dict[str, Any] = {
        "clusterName": cluster_name, "version": str(nested(kcp, "spec", "version") or ""),
        "bootstrap": {"configRef": bootstrap_ref}, "infrastructureRef": infra_ref,
    }
    if failure_domain:
        spec["failureDomain"] = failure_domain
    for key in _IN_PLACE_SPEC:
        if template_spec.get(key) is not None:
            spec[key] = copy.deepcopy(template_spec[key])
    spec["readinessGates"] = readiness_gates(kcp)
    annotations = {**machine_annotations(kcp), PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION: "",
                   KUBEADM_CONFIG_HASH_ANNOTATION: config_hash(kcp)}
    return {
        "apiVersion": MACHINE.api_version, "kind": MACHINE.kind,
        "metadata": {"name": name, "namespace": kcp["metadata"]["namespace"],
                     "labels": machine_labels(kcp, cluster_name), "annotations": annotations,
                     "ownerReferences": [owner_reference(kcp)], "finalizers": [MACHINE_FINALIZER]},
        "spec": spec,
    }


def in_place_spec(kcp: Object) -> dict[str, Any]:
    """Machine spec fields propagated to existing Machines without a rollout (None: remove)."""
    template_spec = nested(kcp, "spec", "machineTemplate", "spec") or {}
    found = {key: copy.deepcopy(template_spec.get(key)) for key in _IN_PLACE_SPEC}
    found["readinessGates"] = readiness_gates(kcp)
    return found


def in_place_changes(machine: Object, in_place: dict[str, Any]) -> dict[str, Any]:
    """The in-place fields whose value on the Machine differs from what it would be after the change, compared
    once the Machine's defaulting has run (a deletion timeout the webhook defaulted is no change)."""
    spec = machine.get("spec") or {}
    if all(spec.get(key) == value for key, value in in_place.items()):
        return {}
    changed = default_machine({"metadata": {}, "spec": {**spec, **in_place}})["spec"]  # it copies
    return {key: value for key, value in in_place.items() if spec.get(key) != changed.get(key)}


def readiness_gates(kcp: Object) -> list[dict[str, Any]]:
    """The user's readiness gates, then the control plane's own (not the etcd ones with external etcd)."""
    user = [dict(gate) for gate in nested(kcp, "spec", "machineTemplate", "spec", "readinessGates") or []]
    present = {gate.get("conditionType") for gate in user}
    external = bool(nested(kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external"))
    return user + [{"conditionType": t} for t in gates(external) if t not in present]


# ----- up to date -----

def outdated_reasons(kcp: Object, machine: Object, infra: Object | None, now: datetime) -> list[str]:
    """Why the Machine must be replaced (empty: it is up to date)."""
    reasons: list[str] = []
    version = str(nested(kcp, "spec", "version") or "")
    machine_version = str(nested(machine, "spec", "version") or "")
    if version and machine_version != version:
        reasons.append(f"Version {machine_version} is not {version}")
    ref = nested(kcp, "spec", "machineTemplate", "spec", "infrastructureRef") or {}
    if infra is not None:
        name, kind = cloned_from(infra)
        if name and kind and (name != ref.get("name") or kind != group_kind(ref)):  # not known: a match
            reasons.append(f"{infra.get('kind')} is not up-to-date (cloned from {name}, "
                           f"spec.machineTemplate.spec.infrastructureRef names {ref.get('name')})")
    annotations = machine["metadata"].get("annotations") or {}
    recorded = annotations.get(KUBEADM_CONFIG_HASH_ANNOTATION)
    if recorded is not None and recorded != config_hash(kcp):
        reasons.append("KubeadmConfig is not up-to-date")
    after = parse_time(nested(kcp, "spec", "rollout", "after"))
    created = parse_time(machine["metadata"].get("creationTimestamp"))
    if after is not None and created is not None and created < after <= now:
        reasons.append("Machine was created before spec.rollout.after")
    days = nested(kcp, "spec", "rollout", "before", "certificatesExpiryDays")
    expiry = parse_time(annotations.get(MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION))
    if days and expiry is not None and expiry - now <= timedelta(days=int(days)):
        reasons.append(f"Certificates expire within {days} days (spec.rollout.before.certificatesExpiryDays)")
    return reasons


# ----- failure domains and choices -----

def _domain(machine: Object) -> str:
    return str(nested(machine, "spec", "failureDomain") or "")


def failure_domain_for_scale_up(domains: Sequence[str], machines: Iterable[Object], up_to_date: set[str]) -> str | None:
    """The control plane failure domain with the fewest up-to-date Machines (then fewest Machines, then name)."""
    if not domains:
        return None
    machines = list(machines)
    fresh = Counter(_domain(m) for m in machines if m["metadata"]["name"] in up_to_date)
    total = Counter(_domain(m) for m in machines)
    return min(domains, key=lambda d: (fresh[d], total[d], d))


def _age_key(machine: Object) -> tuple[str, str]:
    return str(machine["metadata"].get("creationTimestamp") or ""), str(machine["metadata"]["name"])


def machine_to_scale_down(machines: Sequence[Object], outdated: set[str], unhealthy: set[str]) -> Object | None:
    """Which Machine goes first: those annotated delete-machine (outdated ones first), then outdated ones with a
    failing component, then outdated ones, then any; among them, from the failure domain with the most of them,
    the oldest."""
    def annotated(m: Object) -> bool:
        return DELETE_MACHINE_ANNOTATION in (m["metadata"].get("annotations") or {})

    def name(m: Object) -> str:
        return str(m["metadata"]["name"])

    groups = (
        [m for m in machines if annotated(m) and name(m) in outdated],
        [m for m in machines if annotated(m)],
        [m for m in machines if name(m) in outdated and name(m) in unhealthy],
        [m for m in machines if name(m) in outdated],
        list(machines),
    )
    candidates = next((group for group in groups if group), [])
    if not candidates:
        return None
    counts = Counter(_domain(m) for m in candidates)
    busiest = max(counts.values())
    domain = min(d for d, n in counts.items() if n == busiest)
    return min((m for m in candidates if _domain(m) == domain), key=_age_key)
