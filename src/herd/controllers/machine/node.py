"""What the Machine controller keeps in sync on its Node: labels, annotations and taints. Pure: no I/O.

Only labels Cluster API owns are synced from the Machine (`node-role.kubernetes.io/*`, and the
`node-restriction.kubernetes.io` and `node.cluster.x-k8s.io` domains with their subdomains); the keys
synced last time are remembered in an annotation on the Node, so a label removed from the Machine is
removed from the Node too, while labels others set are left alone. Annotations of the
`node.cluster.x-k8s.io` domain and `spec.taints` are synced the same way.
"""

from __future__ import annotations

from typing import Any

from herd.api.cluster import labels as well_known
from herd.runtime import Object, controller_owner

NODE_INFO_FIELDS = ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
                    "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture")


def _in_domain(key: str, domain: str) -> bool:
    prefix = key.partition("/")[0] if "/" in key else ""
    return prefix == domain or prefix.endswith("." + domain)


def is_managed_label(key: str) -> bool:
    """Whether Cluster API syncs this Machine label to the Node."""
    return (key.startswith(well_known.NODE_ROLE_LABEL_PREFIX + "/")
            or _in_domain(key, well_known.NODE_RESTRICTION_LABEL_DOMAIN)
            or _in_domain(key, well_known.MANAGED_NODE_LABEL_DOMAIN))


def is_managed_annotation(key: str) -> bool:
    """Whether Cluster API syncs this Machine annotation to the Node."""
    return _in_domain(key, well_known.MANAGED_NODE_ANNOTATION_DOMAIN)


def _listed(value: str | None) -> set[str]:
    return {item for item in (value or "").split(",") if item}


def _taint_key(taint: dict[str, Any]) -> str:
    return f"{taint.get('key')}:{taint.get('effect')}"


def _desired_taints(machine: Object, node: Object, annotations: dict[str, str]) -> list[dict[str, Any]] | None:
    """The Node's taints after the sync, or None when they stay as they are."""
    current: list[dict[str, Any]] = list((node.get("spec") or {}).get("taints") or [])
    uninitialized = f"{well_known.NODE_UNINITIALIZED_TAINT_KEY}:{well_known.NODE_UNINITIALIZED_TAINT_EFFECT}"
    initializing = any(_taint_key(t) == uninitialized for t in current)
    wanted = [t for t in (machine.get("spec") or {}).get("taints") or []
              if t.get("propagation") == "Always" or (initializing and t.get("propagation") == "OnInitialization")]
    always = {_taint_key(t) for t in wanted if t.get("propagation") == "Always"}
    previous = _listed(annotations.get(well_known.TAINTS_FROM_MACHINE_ANNOTATION))
    # drop what we put there before and no longer want, and the uninitialized taint: labels are synced now
    kept = [t for t in current if _taint_key(t) != uninitialized
            and not (_taint_key(t) in previous and _taint_key(t) not in always)]
    present = {_taint_key(t) for t in kept}
    for taint in wanted:
        if _taint_key(taint) not in present:
            entry = {"key": taint["key"], "effect": taint["effect"]}
            if taint.get("value"):
                entry["value"] = taint["value"]
            kept.append(entry)
    if always:
        annotations[well_known.TAINTS_FROM_MACHINE_ANNOTATION] = ",".join(sorted(always))
    else:
        annotations.pop(well_known.TAINTS_FROM_MACHINE_ANNOTATION, None)
    return None if kept == current else kept


def node_patch(machine: Object, node: Object, *, interruptible: bool = False) -> dict[str, Any] | None:
    """The merge patch that brings the Node's labels, annotations and taints in line with the Machine."""
    machine_meta, node_meta = machine.get("metadata") or {}, node.get("metadata") or {}
    node_labels: dict[str, str] = dict(node_meta.get("labels") or {})
    node_annotations: dict[str, str] = dict(node_meta.get("annotations") or {})
    machine_labels = {k: v for k, v in (machine_meta.get("labels") or {}).items() if is_managed_label(k)}
    if interruptible:
        machine_labels[well_known.INTERRUPTIBLE_LABEL] = ""
    machine_annotations = {k: v for k, v in (machine_meta.get("annotations") or {}).items()
                           if is_managed_annotation(k)}

    labels = {k: v for k, v in node_labels.items()
              if k not in _listed(node_annotations.get(well_known.LABELS_FROM_MACHINE_ANNOTATION))
              or k in machine_labels}
    labels.update(machine_labels)
    annotations = {k: v for k, v in node_annotations.items()
                   if k not in _listed(node_annotations.get(well_known.ANNOTATIONS_FROM_MACHINE_ANNOTATION))
                   or k in machine_annotations}
    annotations.update(machine_annotations)
    annotations.update({
        well_known.CLUSTER_NAME_ANNOTATION: str((machine.get("spec") or {}).get("clusterName", "")),
        well_known.CLUSTER_NAMESPACE_ANNOTATION: str(machine_meta.get("namespace", "")),
        well_known.MACHINE_ANNOTATION: str(machine_meta.get("name", "")),
        well_known.LABELS_FROM_MACHINE_ANNOTATION: ",".join(sorted(machine_labels)),
    })
    if machine_annotations:
        annotations[well_known.ANNOTATIONS_FROM_MACHINE_ANNOTATION] = ",".join(sorted(machine_annotations))
    else:
        annotations.pop(well_known.ANNOTATIONS_FROM_MACHINE_ANNOTATION, None)
    owner = controller_owner(machine)
    if owner is not None:
        annotations[well_known.OWNER_KIND_ANNOTATION] = str(owner.get("kind"))
        annotations[well_known.OWNER_NAME_ANNOTATION] = str(owner.get("name"))
    taints = _desired_taints(machine, node, annotations)

    patch: dict[str, Any] = {}
    meta_patch: dict[str, Any] = {}
    if labels != node_labels:
        meta_patch["labels"] = {**{k: None for k in node_labels if k not in labels}, **labels}
    if annotations != node_annotations:
        meta_patch["annotations"] = {**{k: None for k in node_annotations if k not in annotations}, **annotations}
    if meta_patch:
        patch["metadata"] = meta_patch
    if taints is not None:
        patch["spec"] = {"taints": taints}
    return patch or None


def node_info(node: Object) -> dict[str, Any] | None:
    """The Node's `status.nodeInfo` when complete enough for the Machine's schema, else None."""
    info = (node.get("status") or {}).get("nodeInfo")
    if not isinstance(info, dict) or any(not isinstance(info.get(f), str) for f in NODE_INFO_FIELDS):
        return None
    return dict(info)
