"""Empties terminating namespaces and then finalizes them, as kube-controller-manager's namespace controller.

A namespace with deletionTimestamp and `kubernetes` in `spec.finalizers` has every namespaced object of
every served resource deleted (Background propagation; objects with finalizers wait for them). Each pass
records what is left in the namespace's status conditions, and once nothing is left `kubernetes` is
removed from `spec.finalizers`; the API server then deletes the namespace when no finalizer remains.

Passes are level-triggered: a namespace is looked at again whenever anything in it changes, on a
periodic resync, and at start for namespaces that were already terminating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..auth import UserInfo
from ..builtins import NAMESPACES
from ..deletion import delete_object
from ..errors import StatusError
from ..objectmeta import now_rfc3339
from ..objects import Objects, WriteOptions
from ..registry import Registry
from ..storage.base import WatchEvent
from .follow import follow_with

log = logging.getLogger(__name__)

NAMESPACE_USER = UserInfo("system:serviceaccount:kube-system:namespace-controller", "",
                          ("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))
FINALIZER = "kubernetes"
_RESYNC = 2.0  # seconds between passes over a namespace that still has content, even without events

# The condition types the controller owns, in the order Kubernetes lists them, with their "all is
# well" reason and message (status False).
_CONDITIONS: tuple[tuple[str, str, str], ...] = (
    ("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered"),
    ("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
    ("NamespaceDeletionContentFailure", "ContentDeleted",
     "All content successfully deleted, may be waiting on finalization"),
    ("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed"),
    ("NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
)


@dataclass
class ContentReport:
    """What one pass over a namespace's content left behind."""

    remaining: Counter[str] = field(default_factory=Counter)  # "plural.group" → objects left
    finalizers: Counter[str] = field(default_factory=Counter)  # finalizer → objects left carrying it
    failures: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, tuple[str, str]]:
        """Condition type → (reason, message) for each condition that reports trouble (status True)."""
        out: dict[str, tuple[str, str]] = {}
        if self.failures:
            out["NamespaceDeletionContentFailure"] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(self.failures)} remaining: "
                + ", ".join(sorted(self.failures)))
        if self.remaining:
            out["NamespaceContentRemaining"] = ("SomeResourcesRemain", "Some resources are remaining: " + ", ".join(
                f"{resource} has {count} resource instances" for resource, count in sorted(self.remaining.items())))
        if self.finalizers:
            out["NamespaceFinalizersRemaining"] = (
                "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: " + ", ".join(
                    f"{name} in {count} resource instances" for name, count in sorted(self.finalizers.items())))
        return out


def updated_conditions(conditions: list[dict[str, Any]], report: ContentReport, now: str) -> list[dict[str, Any]]:
    """The namespace's conditions after a pass: owned types rewritten, others kept.

    lastTransitionTime changes only when a condition's status does, so a pass that finds the same
    situation as the previous one writes nothing.
    """
    problems = report.problems()
    out = [dict(c) for c in conditions if isinstance(c, dict)]
    for ctype, ok_reason, ok_message in _CONDITIONS:
        status, (reason, message) = ("True", problems[ctype]) if ctype in problems else ("False",
                                                                                          (ok_reason, ok_message))
        existing = next((c for c in out if c.get("type") == ctype), None)
        if existing is None:
            out.append({"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason,
                        "message": message})
            continue
        if existing.get("status") != status:
            existing["lastTransitionTime"] = now
        existing.update(status=status, reason=reason, message=message)
    return out


class NamespaceController:
    """Deletes the content of terminating namespaces and removes their `kubernetes` finalizer."""

    def __init__(self, objects: Objects, registry: Registry, resync: float = _RESYNC) -> None:
        self.objects = objects
        self.store = objects.store
        self.registry = registry
        self.resync = resync
        self._terminating: set[str] = set()  # namespaces whose changes we care about
        self._dirty: dict[str, None] = {}  # namespaces due for a pass, in order
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Find terminating namespaces, then follow every change until cancelled."""
        await follow_with(self._work(), self.store, self._relist, self._observe)

    def _relist(self) -> int:
        records, revision = self.store.list(NAMESPACES.storage_prefix)
        for rec in records:
            if rec.value.get("metadata", {}).get("deletionTimestamp"):
                self._mark(rec.value["metadata"]["name"])
        return revision

    def _observe(self, event: WatchEvent) -> None:
        if event.key.startswith(NAMESPACES.storage_prefix):
            meta = event.value.get("metadata", {})
            name = str(meta.get("name") or "")
            if event.type == "DELETED":
                self._terminating.discard(name)
            elif meta.get("deletionTimestamp"):
                self._mark(name)
            return
        parts = event.key.split("/")  # "", "registry", group, plural, namespace, name
        if len(parts) == 6 and parts[4] in self._terminating:
            self._mark(parts[4])  # content changed: maybe the last object went, or a new finalizer showed

    def _mark(self, namespace: str) -> None:
        self._terminating.add(namespace)
        self._dirty[namespace] = None
        self._wake.set()

    async def _work(self) -> None:
        while True:
            if not self._dirty:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.resync):
                        await self._wake.wait()
                if not self._dirty:  # a quiet period: look again at every namespace still terminating
                    for namespace in list(self._terminating):
                        self._dirty[namespace] = None
                continue
            namespace = next(iter(self._dirty))
            del self._dirty[namespace]
            try:
                if await self.sync(namespace):
                    self._terminating.discard(namespace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # retried on the next change or resync
                log.warning("deleting the content of namespace %s failed, will retry: %s", namespace, exc)

    def idle(self) -> bool:
        """Whether no pass is due right now (for tests)."""
        return not self._dirty

    async def sync(self, namespace: str) -> bool:
        """One pass over a namespace; True when there is nothing (more) for this controller to do."""
        rec = self.store.get(NAMESPACES.key("", namespace))
        if rec is None:
            return True
        ns = rec.value
        uid = ns["metadata"].get("uid")
        if not ns["metadata"].get("deletionTimestamp") or FINALIZER not in (ns.get("spec") or {}).get(
                "finalizers", []):
            return True
        report = await self._delete_content(namespace)
        await self._write_status(namespace, uid, report)
        if report.remaining or report.failures:
            return False
        await self._finalize(namespace, uid)
        return True

    async def _delete_content(self, namespace: str) -> ContentReport:
        """Delete every object in the namespace (once), then count what is still there."""
        report = ContentReport()
        opts = WriteOptions(user=NAMESPACE_USER)
        types = [t for t in self.registry.storage_prefixes().values() if t.namespaced]
        for rtype in types:
            records, _ = self.store.list(rtype.list_prefix(namespace))
            for rec in records:
                meta = rec.value.get("metadata", {})
                if meta.get("deletionTimestamp"):
                    continue  # deleting already: only its finalizers can finish it
                options = {"propagationPolicy": "Background", "preconditions": {"uid": meta.get("uid")}}
                try:
                    await delete_object(self.objects, rtype, namespace, meta["name"], options, opts)
                except StatusError as exc:
                    if exc.code not in (404, 409):  # gone, or replaced: the next pass sees the newcomer
                        report.failures.append(f"{rtype.group_resource}: {exc}")
        for rtype in types:
            records, _ = self.store.list(rtype.list_prefix(namespace))
            if records:
                report.remaining[f"{rtype.plural}.{rtype.group}"] += len(records)
            for rec in records:
                report.finalizers.update(set(rec.value.get("metadata", {}).get("finalizers") or ()))
        return report

    async def _write_status(self, namespace: str, uid: str, report: ContentReport) -> None:
        now = now_rfc3339()

        def change(obj: dict[str, Any]) -> None:
            status = obj.setdefault("status", {})
            status["phase"] = "Terminating"
            status["conditions"] = updated_conditions(status.get("conditions") or [], report, now)

        await self._update(namespace, uid, change, "status")

    async def _finalize(self, namespace: str, uid: str) -> None:
        """Drop `kubernetes` from spec.finalizers; the update deletes the namespace if nothing else holds it."""

        def change(obj: dict[str, Any]) -> None:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]

        await self._update(namespace, uid, change, "finalize")

    async def _update(self, namespace: str, uid: str, change: Callable[[dict[str, Any]], None],
                      subresource: str) -> None:
        """Apply `change` to the namespace with this uid through `subresource`; a namespace gone (or deleted and
        created again meanwhile) is left alone."""

        def compute(obj: dict[str, Any]) -> dict[str, Any]:
            if obj["metadata"].get("uid") != uid:
                raise _replaced(namespace)
            change(obj)
            return obj

        try:
            await self.objects.guaranteed_update(NAMESPACES, "", namespace, compute,
                                                 WriteOptions(user=NAMESPACE_USER), subresource)
        except StatusError as exc:
            if exc.code != 404:
                raise


def _replaced(namespace: str) -> StatusError:
    """The namespace was deleted and created again while a pass ran: the pass no longer applies."""
    return StatusError(404, "NotFound", f'namespaces "{namespace}" was replaced during deletion')
