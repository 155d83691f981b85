"""Draining a Node before its Machine goes: cordon it, then evict its Pods, round after round.

Each round evicts what can be evicted and reports what it still waits for; the Machine controller
calls it again until nothing is left. DaemonSet Pods, mirror (static) Pods and Pods labelled
`cluster.x-k8s.io/drain: skip` stay; Pods already terminating are waited for, unless the Node is
unreachable (their kubelet will never confirm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from herd.api.cluster.labels import POD_DRAIN_LABEL, POD_DRAIN_LABEL_SKIP
from herd.runtime import ApiError, NotFound, Object, ObjectKey, TooManyRequests, controller_owner
from herd.runtime.clustercache import ClusterCache

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
PDB_VIOLATION = "cannot evict pod as it would violate the pod's disruption budget."
STILL_TERMINATING = "deletionTimestamp set, but still not removed from the Node"


@dataclass
class DrainResult:
    """What a drain round left: Pods by the reason they are still there."""

    waiting: dict[str, list[str]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not self.waiting

    def add(self, reason: str, pod: Object) -> None:
        meta = pod.get("metadata") or {}
        self.waiting.setdefault(reason, []).append(f"{meta.get('namespace')}/{meta.get('name')}")

    def message(self) -> str:
        """`* Pods ns/a, ns/b: reason` lines, most Pods first."""
        lines = []
        for reason, pods in sorted(self.waiting.items(), key=lambda item: (-len(item[1]), item[0])):
            names = sorted(pods)
            shown = ", ".join(names[:3]) + (f", ... ({len(names) - 3} more)" if len(names) > 3 else "")
            lines.append(f"* Pod{'s' if len(names) > 1 else ''} {shown}: {reason}")
        return "\n".join(lines)


def _unreachable(node: Object) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "Unknown")
    return False


def skip_pod(pod: Object) -> bool:
    """Pods a drain leaves alone: DaemonSet Pods, mirror Pods, and Pods labelled to be skipped."""
    meta = pod.get("metadata") or {}
    owner = controller_owner(pod)
    if owner is not None and owner.get("kind") == "DaemonSet":
        return True
    if MIRROR_POD_ANNOTATION in (meta.get("annotations") or {}):
        return True
    return (meta.get("labels") or {}).get(POD_DRAIN_LABEL) == POD_DRAIN_LABEL_SKIP


async def drain_node(cluster_cache: ClusterCache, cluster: ObjectKey, node_name: str, now: datetime) -> DrainResult:
    """One drain round: cordon the Node and ask for the eviction of every Pod that has to go."""
    result = DrainResult()
    node = await cluster_cache.get_node(cluster, node_name)
    if node is None:
        return result  # nothing left to drain
    if not (node.get("spec") or {}).get("unschedulable"):
        node = await cluster_cache.patch_node(cluster, node_name, {"spec": {"unschedulable": True}})
    unreachable = _unreachable(node)
    for pod in await cluster_cache.list_pods_on_node(cluster, node_name):
        if skip_pod(pod):
            continue
        meta = pod.get("metadata") or {}
        deleted_at = meta.get("deletionTimestamp")
        if deleted_at:
            started = datetime.fromisoformat(str(deleted_at).replace("Z", "+00:00"))
            if unreachable and (now - started).total_seconds() > 1:
                continue  # the kubelet that would confirm the deletion is gone
            result.add(STILL_TERMINATING, pod)
            continue
        try:
            await cluster_cache.evict_pod(cluster, str(meta.get("namespace")), str(meta.get("name")))
        except NotFound:
            continue
        except TooManyRequests as exc:
            result.add(f"{PDB_VIOLATION} {exc.message}".strip(), pod)
            continue
        except ApiError as exc:
            result.add(f"failed to evict Pod, {exc.message}", pod)
            continue
        result.add(STILL_TERMINATING, pod)  # evicted: its deletion has only begun
    return result
