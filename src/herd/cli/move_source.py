"""What `herd move` does on one management plane: find the kinds and objects that move, pause and resume
Clusters, wait until the objects are ready to move, and delete them for the move."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from herd.api.cluster.labels import PAUSED_ANNOTATION
from herd.runtime import CONFIGMAP, CRD, NAMESPACE, SECRET, Client, Forbidden, Kind, NotFound, Object

from .objectgraph import (
    CLUSTER_GROUP,
    DELETE_FOR_MOVE_ANNOTATION,
    MOVE_HIERARCHY_LABEL,
    MOVE_LABEL,
    Inventory,
    MoveNode,
    blocked,
    build_move_plan,
    not_paused,
    uid_of,
)
from .serve import CLIError

PAUSE_TIMEOUT_SECONDS = 60.0  # controllers report Paused within a reconcile; a minute means one is not running
BLOCK_MOVE_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.5
PROVIDER_LABEL = "cluster.x-k8s.io/provider"


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def is_cluster_api_crd(crd: Object) -> bool:
    """A CRD of Cluster API or of one of its providers: its group, the provider label, a contract label
    (`cluster.x-k8s.io/v1beta2`) or a clusterctl move label."""
    group, labels = crd["spec"]["group"], (crd["metadata"].get("labels") or {})
    return group == CLUSTER_GROUP or group.endswith("." + CLUSTER_GROUP) or any(
        key == PROVIDER_LABEL or key.startswith(CLUSTER_GROUP + "/v1") or key.startswith("clusterctl.cluster.x-k8s.io")
        for key in labels)


def kind_of_crd(crd: Object) -> Kind | None:
    """The Kind at the CRD's storage version (None for cluster-scoped kinds: nothing of a namespace)."""
    spec = crd["spec"]
    if spec.get("scope") != "Namespaced":
        return None
    versions = spec.get("versions") or []
    version = next((v for v in versions if v.get("storage")), versions[0] if versions else None)
    if version is None:
        return None
    return Kind(f"{spec['group']}/{version['name']}", spec["names"]["kind"], spec["names"]["plural"],
                status_subresource="status" in (version.get("subresources") or {}))


class NotReadyToMove(Exception):
    """The source holds the move: its controllers do not report Paused, a provider blocks it, or something is still
    provisioning; the message says which objects."""


async def plane_identity(client: Client) -> str:
    """What tells a management plane apart whatever URL reaches it: the UID of its kube-system namespace (as
    on any Kubernetes cluster), else its URL."""
    try:
        return f"kube-system/{uid_of(await client.get(NAMESPACE, 'kube-system'))}"
    except (NotFound, Forbidden):
        return client.server


class MoveSource:
    """A management plane seen by `herd move` (the source; the target for resuming)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def inventory(self, namespace: str) -> Inventory:
        kinds, move_kinds, hierarchy_kinds = [SECRET, CONFIGMAP], set(), set()
        for crd in (await self.client.list(CRD)).items:
            kind = kind_of_crd(crd) if is_cluster_api_crd(crd) else None
            if kind is None:
                continue
            kinds.append(kind)
            labels = crd["metadata"].get("labels") or {}
            if MOVE_LABEL in labels:
                move_kinds.add(kind.group_kind)
            if MOVE_HIERARCHY_LABEL in labels:
                hierarchy_kinds.add(kind.group_kind)
        objects = [(kind, obj) for kind in kinds for obj in (await self.client.list(kind, namespace=namespace)).items]
        for kind, obj in objects:  # lists leave them out
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
        return Inventory(objects, frozenset(move_kinds), frozenset(hierarchy_kinds))

    async def move_plan(self, namespace: str) -> tuple[list[MoveNode], list[Object]]:
        """What moves, in order, and those objects as they are now."""
        inventory = await self.inventory(namespace)
        nodes = [node for group in build_move_plan(inventory) for node in group]
        by_uid = {uid_of(obj): obj for _, obj in inventory.objects}
        return nodes, [by_uid[node.uid] for node in nodes]

    async def current(self, node: MoveNode) -> Object | None:
        """The node's object as it is now; None when it is gone (or another object took its name)."""
        try:
            obj = await self.client.get(node.kind, node.name, node.namespace)
        except NotFound:
            return None
        return obj if uid_of(obj) == node.uid else None

    async def is_paused(self, node: MoveNode) -> bool:
        obj = await self.current(node)
        return bool(((obj or {}).get("spec") or {}).get("paused"))

    async def set_paused(self, node: MoveNode, *, paused: bool) -> None:
        """Pause or resume a Cluster (`spec.paused`) or a ClusterClass (the paused annotation). The object is found
        by name: on the target it has a new UID."""
        patch: dict[str, Any] = {"spec": {"paused": paused}} if node.kind.kind == "Cluster" else \
            {"metadata": {"annotations": {PAUSED_ANNOTATION: "" if paused else None}}}
        await self.client.patch(node.kind, node.name, patch, namespace=node.namespace)

    async def wait_ready_for_move(self, nodes: list[MoveNode]) -> None:
        """Until every object reporting a Paused condition has it True, and none carries block-move; raises
        NotReadyToMove saying which objects held the move."""
        start = time.monotonic()
        while True:
            objects = [obj for node in nodes if (obj := await self.current(node)) is not None]
            waiting, blocking = not_paused(objects), blocked(objects)
            elapsed = time.monotonic() - start
            if not waiting and not blocking:
                return
            if waiting and elapsed > PAUSE_TIMEOUT_SECONDS:
                raise NotReadyToMove(f"{', '.join(waiting[:3])} did not report Paused=True within "
                                   f"{PAUSE_TIMEOUT_SECONDS:.0f} s: is the source's manager running?")
            if blocking and elapsed > BLOCK_MOVE_TIMEOUT_SECONDS:
                raise NotReadyToMove(f"{', '.join(blocking[:3])} still carries clusterctl.cluster.x-k8s.io/block-move "
                                   f"after {BLOCK_MOVE_TIMEOUT_SECONDS:.0f} s: its provider is busy with it")
            await asyncio.sleep(POLL_SECONDS)

    async def delete_for_move(self, node: MoveNode) -> None:
        """Mark the object `delete-for-move`, drop its finalizers (no controller cleans up what now belongs to the
        target) and delete it; an object already gone is fine."""
        for _ in range(3):  # a finalizer put back in between is taken off again
            if await self.current(node) is None:
                return
            patch = {"metadata": {"annotations": {DELETE_FOR_MOVE_ANNOTATION: ""},
                                  "finalizers": None}}
            try:
                await self.client.patch(node.kind, node.name, patch, namespace=node.namespace)
                await self.client.delete(node.kind, node.name, node.namespace)
            except NotFound:
                return
        if await self.current(node) is not None:
            raise CLIError(f"{node.label} keeps getting finalizers back in the source: stop its controllers there "
                           "and run the same command again")
