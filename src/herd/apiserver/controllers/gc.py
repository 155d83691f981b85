"""Garbage collection through ownerReferences, with the semantics of kube-controller-manager's collector.

An in-memory graph (uid → node, owner uid → dependent uids) follows the store's watch of everything.
Work items are uids; each is decided from the object as stored now, so the work is level-triggered and
idempotent: a restart rebuilds the graph from a list and queues every object that may need attention.

- A dependent is deleted once none of its owners is *solid* (present with the referenced uid and not
  waiting for its dependents); otherwise references to absent or foreground-deleting owners are removed.
- A deleting owner with the `foregroundDeletion` finalizer has all its dependents deleted (in foreground if
  they own objects) and loses the finalizer once no dependent with `blockOwnerDeletion: true` remains.
- A deleting owner with the `orphan` finalizer has its references removed from every dependent, then
  loses the finalizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..auth import UserInfo
from ..deletion import FOREGROUND, ORPHAN, delete_object
from ..errors import StatusError
from ..objects import Objects, WriteOptions
from ..registry import Registry
from ..resources import ResourceType
from ..storage.base import WatchEvent
from .follow import ROOT, follow_with

log = logging.getLogger(__name__)

GC_USER = UserInfo("system:serviceaccount:kube-system:generic-garbage-collector", "",
                   ("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))

_ABSENT_CACHE = 4096  # uids known deleted; enough to cover the owners of one burst of cascading deletes
_MAX_BACKOFF = 5.0
_IDLE_TICK = 1.0  # how often an idle worker checks whether the served types changed

Action = Literal["delete", "orphan"]
OwnerState = Literal["solid", "dangling", "waiting", "unknown", "invalid"]


@dataclass(frozen=True)
class Node:
    """What the graph keeps of one stored object."""

    uid: str
    key: str
    namespace: str
    name: str
    owners: tuple[dict[str, Any], ...]
    deleting: bool
    finalizers: frozenset[str]

    @property
    def owner_uids(self) -> frozenset[str]:
        return frozenset(str(ref["uid"]) for ref in self.owners)

    @property
    def deleting_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers

    def blocks(self, owner_uid: str) -> bool:
        """Whether this dependent holds back the foreground deletion of `owner_uid`."""
        return any(str(r["uid"]) == owner_uid and r.get("blockOwnerDeletion") is True for r in self.owners)


def node_of(key: str, value: dict[str, Any]) -> Node | None:
    """The graph node of a stored object (None for keys that are not objects of a resource)."""
    meta = value.get("metadata") or {}
    parts = key.split("/")  # "", "registry", group, plural, namespace, name
    if not meta.get("uid") or len(parts) != 6:
        return None
    refs = tuple(r for r in meta.get("ownerReferences") or [] if isinstance(r, dict) and r.get("uid"))
    return Node(str(meta["uid"]), key, parts[4], parts[5], refs, bool(meta.get("deletionTimestamp")),
                frozenset(meta.get("finalizers") or ()))


def _set_refs(meta: dict[str, Any], refs: list[dict[str, Any]]) -> None:
    meta["ownerReferences"] = refs
    if not refs:
        del meta["ownerReferences"]  # as the API omits an empty list


def drop_owners(uids: frozenset[str]) -> Callable[[dict[str, Any]], None]:
    """A metadata change removing the references to the owners `uids`."""
    return lambda meta: _set_refs(meta, [r for r in meta.get("ownerReferences") or [] if str(r.get("uid")) not in uids])


def unblock_owners(meta: dict[str, Any]) -> None:
    """Stop holding back every owner's foreground deletion."""
    _set_refs(meta, [{**r, "blockOwnerDeletion": False} if r.get("blockOwnerDeletion") is True else r
                     for r in meta.get("ownerReferences") or []])


def drop_finalizer(finalizer: str) -> Callable[[dict[str, Any]], None]:
    """A metadata change removing one finalizer."""
    return lambda meta: meta.update(finalizers=[f for f in meta.get("finalizers") or [] if f != finalizer])


class GarbageCollector:
    """Deletes dependents whose owners are gone and carries out Foreground and Orphan propagation."""

    def __init__(self, objects: Objects, registry: Registry) -> None:
        self.objects = objects
        self.store = objects.store
        self.registry = registry
        self._nodes: dict[str, Node] = {}
        self._dependents: dict[str, set[str]] = {}  # owner uid (present or not) → dependent uids
        # uids seen deleted: a uid is never reused, so a reference to one is dangling whatever else it names,
        # even when the owner's kind is no longer served (its CRD was just removed)
        self._absent: OrderedDict[str, None] = OrderedDict()
        self._queue: dict[tuple[Action, str], None] = {}  # an ordered set: each item once, FIFO
        self._wake = asyncio.Event()
        self._failures: dict[tuple[Action, str], int] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._parked: set[str] = set()  # waiting for an owner's kind to be served
        self._registry_generation = registry.generation
        self._busy = False
        self.seen_revision = 0

    # ---- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """List, then follow the watch until cancelled; relist when the watch can no longer resume."""
        try:
            await follow_with(self._work(), self.store, self._relist, self._observe)
        finally:
            for timer in self._timers:
                timer.cancel()

    def idle(self, revision: int) -> bool:
        """Whether every change up to `revision` has been seen and no work is queued or running."""
        return self.seen_revision >= revision and not self._queue and not self._busy and not self._timers

    # ---- the graph -------------------------------------------------------------------------------
    def _relist(self) -> int:
        """Rebuild the graph from the store and queue everything that may need work; returns the revision."""
        records, revision = self.store.list(ROOT)
        previous = self._nodes
        self._nodes, self._dependents = {}, {}
        for rec in records:
            node = node_of(rec.key, rec.value)
            if node is not None:
                self._link(node)
        for uid in previous.keys() - self._nodes.keys():
            self._remember_absent(uid)  # deleted while the watch could not follow
        for node in self._nodes.values():
            if node.owners or node.deleting_dependents:
                self._enqueue("delete", node.uid)
            if node.deleting_dependents:
                self._enqueue_all("delete", self._dependents.get(node.uid, ()))
            if node.orphaning:
                self._enqueue("orphan", node.uid)
        self.seen_revision = revision
        return revision

    def _link(self, node: Node) -> None:
        self._nodes[node.uid] = node
        for owner in node.owner_uids:
            self._dependents.setdefault(owner, set()).add(node.uid)

    def _unlink(self, node: Node) -> None:
        self._nodes.pop(node.uid, None)
        for owner in node.owner_uids:
            deps = self._dependents.get(owner, set())
            deps.discard(node.uid)
            if not deps:
                self._dependents.pop(owner, None)

    def _remember_absent(self, uid: str) -> None:
        self._absent[uid] = None
        if len(self._absent) > _ABSENT_CACHE:
            self._absent.popitem(last=False)  # the oldest: its dependents were handled long ago

    def _observe(self, event: WatchEvent) -> None:
        """Apply one change to the graph and queue the work it may have made necessary."""
        self.seen_revision = event.revision
        node = node_of(event.key, event.value)
        if node is None:
            return
        old = self._nodes.get(node.uid)
        if old is not None:
            self._unlink(old)
        if event.type == "DELETED":
            self._remember_absent(node.uid)
            self._enqueue_all("delete", self._dependents.get(node.uid, ()))  # they may have lost their last owner
            self._wake_waiting_owners(node.owner_uids)
            return
        self._link(node)
        if node.deleting_dependents and (old is None or not old.deleting_dependents):
            self._enqueue("delete", node.uid)
            self._enqueue_all("delete", self._dependents.get(node.uid, ()))
        if node.orphaning:
            self._enqueue("orphan", node.uid)
        if old is None or old.owners != node.owners:
            if node.owners:
                self._enqueue("delete", node.uid)  # a new reference may name an owner that does not exist
            if old is not None:
                self._wake_waiting_owners(old.owner_uids)  # a reference that blocked an owner may be gone

    def _wake_waiting_owners(self, owner_uids: Iterable[str]) -> None:
        for uid in owner_uids:
            owner = self._nodes.get(uid)
            if owner is not None and owner.deleting_dependents:
                self._enqueue("delete", uid)

    # ---- the work queue --------------------------------------------------------------------------
    def _enqueue(self, action: Action, uid: str) -> None:
        self._queue[(action, uid)] = None
        self._wake.set()

    def _enqueue_all(self, action: Action, uids: Iterable[str]) -> None:
        self._queue.update(dict.fromkeys([(action, uid) for uid in uids]))
        self._wake.set()

    def _retry_later(self, item: tuple[Action, str]) -> None:
        failures = self._failures[item] = self._failures.get(item, 0) + 1
        delay = min(0.05 * 2 ** min(failures, 10), _MAX_BACKOFF)

        def fire() -> None:
            self._timers.discard(timer)
            self._enqueue(*item)

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)

    async def _work(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_IDLE_TICK):
                        await self._wake.wait()
                self._unpark_on_new_types()
                continue
            item = next(iter(self._queue))
            del self._queue[item]
            self._busy = True  # for idle(): the item is off the queue but its writes are not done
            try:
                await (self._orphan(item[1]) if item[0] == "orphan" else self._attempt_delete(item[1]))
                self._failures.pop(item, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # conflicts, validation, storage trouble: try again with backoff
                log.log(logging.DEBUG if isinstance(exc, StatusError) and exc.code == 409 else logging.WARNING,
                        "garbage collection of %s failed, will retry: %s", item, exc)
                self._retry_later(item)
            finally:
                self._busy = False

    def _unpark_on_new_types(self) -> None:
        """Dependents whose owner kind was not served get another look whenever the served set changes."""
        if self.registry.generation != self._registry_generation:
            self._registry_generation = self.registry.generation
            parked, self._parked = self._parked, set()
            self._enqueue_all("delete", parked)

    # ---- deciding --------------------------------------------------------------------------------
    def _fresh(self, uid: str) -> Node | None:
        """The node as stored now (not the graph's copy), or None if gone or replaced by a namesake."""
        node = self._nodes.get(uid)
        rec = self.store.get(node.key) if node is not None else None
        if rec is None or rec.value.get("metadata", {}).get("uid") != uid:
            return None  # gone: its DELETED event queued (or will queue) whatever depended on it
        return node_of(rec.key, rec.value)

    def _type_of(self, node: Node) -> ResourceType | None:
        """The served type storing `node` (None once its CRD is gone: then nothing can be done to it)."""
        prefix = node.key[: node.key.rindex("/", 0, node.key.rindex("/")) + 1]
        return self.registry.storage_prefixes().get(prefix)

    def _owner_state(self, ref: dict[str, Any], namespace: str) -> OwnerState:
        """Look the owner up as the reference names it: by apiVersion/kind/name, then compare uid."""
        uid = str(ref["uid"])
        if uid in self._absent:
            return "dangling"
        group, _, version = str(ref.get("apiVersion") or "").rpartition("/")
        rtype = self.registry.by_kind(group, version, str(ref.get("kind") or ""))
        if rtype is None:
            return "unknown"
        if rtype.namespaced and not namespace:
            return "invalid"  # a cluster-scoped object cannot be owned by a namespaced one
        # a namespaced owner is looked for in the dependent's namespace: cross-namespace owners are absent
        rec = self.store.get(rtype.key(namespace if rtype.namespaced else "", str(ref.get("name") or "")))
        meta = rec.value.get("metadata", {}) if rec is not None else {}
        if rec is None or meta.get("uid") != uid:
            return "dangling"
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or ()):
            return "waiting"
        return "solid"

    async def _attempt_delete(self, uid: str) -> None:
        node = self._fresh(uid)
        if node is None:
            return
        if node.deleting_dependents:
            await self._finish_foreground(node)
            return
        if node.deleting or not node.owners:
            return  # already on its way out (its finalizers decide when), or owned by nobody
        states: dict[str, list[dict[str, Any]]] = {"solid": [], "dangling": [], "waiting": []}
        for ref in node.owners:
            state = self._owner_state(ref, node.namespace)
            if state == "unknown":
                self._parked.add(uid)
                return
            if state == "invalid":
                return  # unresolvable: the dependent is never collected, as in Kubernetes
            states[state].append(ref)
        if states["solid"]:
            stale = frozenset(str(r["uid"]) for r in states["dangling"] + states["waiting"])
            if stale:
                await self._update(node, drop_owners(stale))
            return
        if states["waiting"] and self._dependents.get(uid):
            if any(self._nodes[d].deleting_dependents for d in self._dependents[uid] if d in self._nodes):
                # a dependent of ours waits for its own dependents: unblock our owners so a cycle cannot stall
                await self._update(node, unblock_owners)
            await self._delete(node, "Foreground")
            return
        policy = "Orphan" if ORPHAN in node.finalizers else "Foreground" if FOREGROUND in node.finalizers \
            else "Background"
        await self._delete(node, policy)

    async def _finish_foreground(self, owner: Node) -> None:
        """Delete what the owner owns; drop `foregroundDeletion` once nothing blocking is left."""
        dependents = [self._nodes[d] for d in self._dependents.get(owner.uid, ()) if d in self._nodes]
        blocking = [d for d in dependents if d.blocks(owner.uid)]
        if not blocking:
            await self._update(owner, drop_finalizer(FOREGROUND))
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self._enqueue("delete", dep.uid)

    async def _orphan(self, uid: str) -> None:
        """Remove references to the owner from all its dependents, then the owner's `orphan` finalizer."""
        owner = self._fresh(uid)
        if owner is None or not owner.orphaning:
            return
        for dep_uid in list(self._dependents.get(uid, ())):
            dep = self._nodes.get(dep_uid)
            if dep is not None:
                await self._update(dep, drop_owners(frozenset({uid})))
        await self._update(owner, drop_finalizer(ORPHAN))

    # ---- writing ---------------------------------------------------------------------------------
    async def _delete(self, node: Node, policy: str) -> None:
        rtype = self._type_of(node)
        if rtype is None:
            return
        options = {"propagationPolicy": policy, "preconditions": {"uid": node.uid}}
        try:
            await delete_object(self.objects, rtype, node.namespace, node.name, options, WriteOptions(user=GC_USER))
        except StatusError as exc:
            if exc.code == 404 or (exc.code == 409 and self._fresh(node.uid) is None):
                return  # gone, or replaced by a new object of the same name that is not ours to delete
            raise

    async def _update(self, node: Node, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the object's metadata through the normal write path, only while it is still `node`."""
        rtype = self._type_of(node)
        if rtype is None:
            return

        def compute(obj: dict[str, Any]) -> dict[str, Any]:
            if obj["metadata"].get("uid") != node.uid:  # recreated under the same name: not ours to change
                raise StatusError(404, "NotFound", f"{node.key} was replaced")
            change(obj["metadata"])
            return obj

        try:
            await self.objects.guaranteed_update(rtype, node.namespace, node.name, compute,
                                                 WriteOptions(user=GC_USER))
        except StatusError as exc:
            if exc.code != 404:
                raise
