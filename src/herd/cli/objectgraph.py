"""Which objects `herd move` moves, and in which order: a pure graph over the objects of one namespace.

An object moves when it belongs to a Cluster (or ClusterClass) of the namespace: owned by it through
ownerReferences, referenced from the spec of something that moves (`infrastructureRef`, `configRef`, templates,
`dataSecretName`), labelled with its `cluster.x-k8s.io/cluster-name`, or a Secret named after it
(`<cluster>-kubeconfig`, `-ca`, `-etcd`, `-proxy`, `-sa`). Objects labelled `clusterctl.cluster.x-k8s.io/move`,
every object of a kind whose CRD carries that label, and objects of a `move-hierarchy` kind with all they own move
as well. Owners come before what they own (ownerReferences and the Cluster an object is labelled with), so every
owner already has its new UID when an owned object is created in the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.runtime import Kind, Object

MOVE_LABEL = "clusterctl.cluster.x-k8s.io/move"
MOVE_HIERARCHY_LABEL = "clusterctl.cluster.x-k8s.io/move-hierarchy"
BLOCK_MOVE_ANNOTATION = "clusterctl.cluster.x-k8s.io/block-move"
DELETE_FOR_MOVE_ANNOTATION = "clusterctl.cluster.x-k8s.io/delete-for-move"
# the source UID a target object was made from, so that a run after a crash adopts it; removed once the move ends
MOVED_FROM_ANNOTATION = "herd.dev/moved-from-uid"
CLUSTER_GROUP = "cluster.x-k8s.io"
ROOT_KINDS = frozenset({(CLUSTER_GROUP, "Cluster"), (CLUSTER_GROUP, "ClusterClass")})
CLUSTER_SECRET_SUFFIXES = ("kubeconfig", "ca", "etcd", "proxy", "sa")
# server-written metadata a new object cannot carry
SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True)
class MoveNode:
    """One object to move, as the journal keeps it: where it lives, its source UID and the UIDs of its owners
    that move too (never its data)."""

    kind: Kind
    namespace: str
    name: str
    uid: str
    owners: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind.kind}/{self.name}"

    def to_record(self) -> dict[str, Any]:
        k = self.kind
        return {"apiVersion": k.api_version, "kind": k.kind, "plural": k.plural, "namespaced": k.namespaced,
                "status": k.status_subresource, "namespace": self.namespace, "name": self.name, "uid": self.uid,
                "owners": list(self.owners)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MoveNode:
        kind = Kind(record["apiVersion"], record["kind"], record["plural"], namespaced=record["namespaced"],
                    status_subresource=record["status"])
        return cls(kind, record["namespace"], record["name"], record["uid"], tuple(record["owners"]))


@dataclass
class Inventory:
    """The namespace's objects of every kind discovered, and which kinds their CRDs mark for moving."""

    objects: list[tuple[Kind, Object]]
    move_kinds: frozenset[tuple[str, str]] = frozenset()  # CRD labelled clusterctl.cluster.x-k8s.io/move
    hierarchy_kinds: frozenset[tuple[str, str]] = frozenset()  # CRD labelled …/move-hierarchy
    _by_uid: dict[str, tuple[Kind, Object]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._by_uid = {uid_of(obj): (kind, obj) for kind, obj in self.objects}


def uid_of(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def meta_of(obj: Object) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def references(value: Any) -> Iterator[tuple[str, str]]:
    """(kind, name) of every object reference in a spec: `{kind, name, apiGroup|apiVersion}` dicts anywhere, and
    `dataSecretName` strings (a Secret)."""
    if isinstance(value, dict):
        if isinstance(value.get("kind"), str) and isinstance(value.get("name"), str) and \
                ("apiGroup" in value or "apiVersion" in value):
            yield value["kind"], value["name"]
        for key, item in value.items():
            if key == "dataSecretName" and isinstance(item, str) and item:
                yield "Secret", item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def cluster_named_by(obj: Object) -> str | None:
    """The Cluster an object names: its cluster-name label, or for a Secret `<cluster>-kubeconfig|ca|etcd|…`."""
    meta = meta_of(obj)
    labelled = (meta.get("labels") or {}).get(CLUSTER_NAME_LABEL)
    if labelled:
        return str(labelled)
    if obj.get("kind") == "Secret":
        prefix, _, suffix = str(meta.get("name") or "").rpartition("-")
        if suffix in CLUSTER_SECRET_SUFFIXES and prefix:
            return prefix
    return None


def build_move_plan(inventory: Inventory) -> list[list[MoveNode]]:
    """The objects that move, in groups: each group's owners are all in earlier groups."""
    objects = inventory.objects
    by_kind_name = {(kind.kind, meta_of(obj).get("name")): obj for kind, obj in objects}
    clusters = {meta_of(obj).get("name"): obj for kind, obj in objects if kind.group_kind == (CLUSTER_GROUP, "Cluster")}
    owned: dict[str, list[str]] = {}
    for _, obj in objects:
        for ref in meta_of(obj).get("ownerReferences") or []:
            owned.setdefault(str(ref.get("uid")), []).append(uid_of(obj))

    def belongs(obj: Object) -> Iterable[str]:
        """Objects that move because `obj` does."""
        yield from owned.get(uid_of(obj), ())
        for ref_kind, ref_name in references(obj.get("spec")):
            found = by_kind_name.get((ref_kind, ref_name))
            if found is not None:
                yield uid_of(found)
        if obj.get("kind") == "Cluster":
            yield from (uid_of(other) for _, other in objects if cluster_named_by(other) == meta_of(obj).get("name"))

    expanding = [uid_of(obj) for kind, obj in objects
                 if kind.group_kind in ROOT_KINDS or kind.group_kind in inventory.hierarchy_kinds]
    moving = set(expanding)
    while expanding:
        uid = expanding.pop()
        for found in belongs(inventory._by_uid[uid][1]):
            if found not in moving:
                moving.add(found)
                expanding.append(found)
    moving |= {uid_of(obj) for kind, obj in objects if kind.group_kind in inventory.move_kinds
               or MOVE_LABEL in (meta_of(obj).get("labels") or {})}

    def owners_of(obj: Object) -> tuple[str, ...]:
        listed = [str(ref.get("uid")) for ref in meta_of(obj).get("ownerReferences") or []]
        cluster = clusters.get(cluster_named_by(obj))
        if cluster is not None and cluster is not obj:  # created after its Cluster, as upstream's soft ownership
            listed.append(uid_of(cluster))
        return tuple(dict.fromkeys(uid for uid in listed if uid in moving and uid != uid_of(obj)))

    nodes = {uid: MoveNode(kind, meta_of(obj).get("namespace") or "", meta_of(obj)["name"], uid, owners_of(obj))
             for uid in moving for kind, obj in [inventory._by_uid[uid]]}
    return order_groups(list(nodes.values()))


def order_groups(nodes: list[MoveNode]) -> list[list[MoveNode]]:
    """Layers of `nodes`: a node comes in the first group after all of its owners; an ownership cycle (which the
    API server allows) ends in one last group. Clusters first, then by kind and name, inside a group."""
    placed: set[str] = set()
    pending = sorted(nodes, key=lambda n: (n.kind.kind != "Cluster", n.kind.kind, n.name))
    groups: list[list[MoveNode]] = []
    while pending:
        ready = [node for node in pending if all(owner in placed for owner in node.owners)] or pending
        groups.append(ready)
        placed |= {node.uid for node in ready}
        pending = [node for node in pending if node.uid not in placed]
    return groups


def rewrite_owner_references(references_: list[dict[str, Any]], new_uids: dict[str, str]) -> list[dict[str, Any]]:
    """ownerReferences for the target: owners that moved get their new UID; others (and owners that vanished
    before they could be copied, mapped to "") are dropped: an owner the target does not have would make its
    garbage collector delete the object."""
    return [{**ref, "uid": new_uids[ref["uid"]]} for ref in references_ if new_uids.get(ref.get("uid", ""))]


def target_object(source: Object, new_uids: dict[str, str]) -> Object:
    """What to create in the target: the source object without server-written metadata and status (restored
    afterwards through the status subresource), owners rewritten, marked with its source UID; a Cluster stays
    paused."""
    meta = {k: v for k, v in meta_of(source).items() if k not in SERVER_METADATA}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != DELETE_FOR_MOVE_ANNOTATION}
    meta["annotations"] = {**annotations, MOVED_FROM_ANNOTATION: uid_of(source)}
    owners = rewrite_owner_references(meta.pop("ownerReferences", None) or [], new_uids)
    if owners:
        meta["ownerReferences"] = owners
    created = {k: v for k, v in source.items() if k not in ("metadata", "status")}
    created["metadata"] = meta
    if source.get("kind") == "Cluster" and source.get("apiVersion", "").startswith(CLUSTER_GROUP + "/"):
        created["spec"] = {**(source.get("spec") or {}), "paused": True}
    return created


def blocked(objects: Iterable[Object]) -> list[str]:
    """Kind/name of the objects whose provider still blocks the move."""
    return [f"{obj.get('kind')}/{meta_of(obj).get('name')}" for obj in objects
            if BLOCK_MOVE_ANNOTATION in (meta_of(obj).get("annotations") or {})]


def not_paused(objects: Iterable[Object]) -> list[str]:
    """Kind/name of the objects whose controller reports a Paused condition that is not True yet."""
    waiting = []
    for obj in objects:
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Paused" and condition.get("status") != "True":
                waiting.append(f"{obj.get('kind')}/{meta_of(obj).get('name')}")
    return waiting


def still_provisioning(objects: Iterable[Object]) -> list[str]:
    """Kind/name of the Clusters whose infrastructure is not provisioned or control plane not initialized, and
    of the Machines without a Node yet: a move in the middle of provisioning would copy half-made state."""
    found = []
    for obj in objects:
        status = obj.get("status") or {}
        initialization = status.get("initialization") or {}
        if obj.get("kind") == "Cluster" and obj.get("apiVersion", "").startswith(CLUSTER_GROUP + "/"):
            done = initialization.get("infrastructureProvisioned") and initialization.get("controlPlaneInitialized")
        elif obj.get("kind") == "Machine" and obj.get("apiVersion", "").startswith(CLUSTER_GROUP + "/"):
            done = bool(status.get("nodeRef"))
        else:
            continue
        if not done:
            found.append(f"{obj.get('kind')}/{meta_of(obj).get('name')}")
    return found
