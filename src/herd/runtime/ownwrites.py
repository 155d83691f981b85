"""The writes a controller's reconciles made to its own kind, so the watch events they cause can be let go.

    own = OwnWrites(DEV_MACHINE)
    client.observe_writes(own.observe)
    with own.reconciling():          # around each reconcile (the Controller does this)
        await reconcile(key)
    own.predicate                    # drops the update event of each version written above

A reconcile that writes its object's spec or metadata (a finalizer, a providerID) would otherwise be queued again
by the event of that very write, to find nothing left to do. Only the event carrying the exact resourceVersion a
write answered with is dropped: anyone else's change, before or after, still arrives as its own event. A
controller opts in only if none of its reconciles relies on its own write's event to make progress.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from .handlers import Predicate, PredicateFuncs
from .objects import Kind, Object

_RECONCILING: ContextVar[OwnWrites | None] = ContextVar("herd_own_writes", default=None)
_VERSIONS_KEPT = 8  # per object: versions whose events have not arrived yet (more means some never will)
_OBJECTS_KEPT = 100_000


class OwnWrites:
    """Versions of `kind` objects written from inside `reconciling()`, until their watch events arrive."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._versions: dict[str, set[str]] = {}
        self.predicate: Predicate = PredicateFuncs(on_update=lambda old, new: not self._consume(new))

    @contextlib.contextmanager
    def reconciling(self) -> Iterator[None]:
        """Count the writes made in this block (and in tasks it starts) as this controller's own."""
        token = _RECONCILING.set(self)
        try:
            yield
        finally:
            _RECONCILING.reset(token)

    def observe(self, kind: Kind, obj: Object) -> None:
        """A Client write observer: remember the version if one of our reconciles wrote it."""
        if _RECONCILING.get() is not self or kind != self.kind:
            return
        meta = obj.get("metadata") or {}
        uid, version = meta.get("uid"), meta.get("resourceVersion")
        if not uid or not version:
            return
        if len(self._versions) >= _OBJECTS_KEPT:
            self._versions.clear()  # mostly objects long gone; at worst a few events are not dropped
        versions = self._versions.setdefault(str(uid), set())
        if len(versions) >= _VERSIONS_KEPT:
            versions.clear()
        versions.add(str(version))

    def _consume(self, obj: Object) -> bool:
        """Whether this is the event of one of our writes (each is recognised once)."""
        meta = obj.get("metadata") or {}
        versions = self._versions.get(str(meta.get("uid")))
        version = str(meta.get("resourceVersion"))
        if not versions or version not in versions:
            return False
        versions.discard(version)
        if not versions:
            del self._versions[str(meta.get("uid"))]
        return True
