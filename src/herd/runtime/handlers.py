"""Event handlers that turn informer notifications into work queue keys, and predicates that filter them.

- EnqueueForObject: the object's own key (`For`);
- EnqueueForOwner: the key of its controller owner of a given kind (`Owns`);
- EnqueueMapped: whatever keys a function maps the object to (`Watches`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .informer import EventHandler
from .objects import Kind, Object, ObjectKey, group_of
from .workqueue import WorkQueue

MapFunc = Callable[[Object], Iterable[ObjectKey]]
"""Maps a watched object to the keys to reconcile."""


class Predicate(Protocol):
    """Decides whether a notification should enqueue anything."""

    def create(self, obj: Object) -> bool: ...

    def update(self, old: Object, new: Object) -> bool: ...

    def delete(self, obj: Object) -> bool: ...


@dataclass(frozen=True)
class PredicateFuncs:
    """A Predicate from optional callables; a missing callable lets the event through."""

    on_create: Callable[[Object], bool] | None = None
    on_update: Callable[[Object, Object], bool] | None = None
    on_delete: Callable[[Object], bool] | None = None

    def create(self, obj: Object) -> bool:
        return self.on_create is None or self.on_create(obj)

    def update(self, old: Object, new: Object) -> bool:
        return self.on_update is None or self.on_update(old, new)

    def delete(self, obj: Object) -> bool:
        return self.on_delete is None or self.on_delete(obj)


def _generation(obj: Object) -> object:
    return (obj.get("metadata") or {}).get("generation")


GENERATION_CHANGED = PredicateFuncs(on_update=lambda old, new: _generation(old) != _generation(new))
"""Let updates through only when metadata.generation changed (spec changes, not status)."""

_VOLATILE_METADATA = ("resourceVersion", "managedFields")


def lasting_metadata(obj: Object) -> dict[str, object]:
    """The object's metadata without what changes on every write (resourceVersion, managedFields): for
    predicates that compare what a controller reads of an object before and after an update."""
    return {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}


def _all_but_status(obj: Object) -> tuple[object, ...]:
    return lasting_metadata(obj), {k: v for k, v in obj.items() if k not in ("metadata", "status")}


NOT_ONLY_STATUS_CHANGED = PredicateFuncs(on_update=lambda old, new: _all_but_status(old) != _all_but_status(new))
"""Let updates through unless only the status changed: for a controller's own kind when it alone writes that
status, so its status writes do not each bring another reconcile (its children's events do, as they should)."""


class _KeyHandler:
    """Enqueues keys computed from objects, filtered by predicates."""

    def __init__(self, queue: WorkQueue[ObjectKey], predicates: Sequence[Predicate] = (), *,
                 delay: float = 0.0) -> None:
        self.queue = queue
        self.predicates = tuple(predicates)
        self.delay = delay

    def keys(self, obj: Object) -> Iterable[ObjectKey]:
        raise NotImplementedError

    def enqueue(self, key: ObjectKey) -> None:
        """Queue now, or after `delay` (longer for a key whose reconciles are slow: see `WorkQueue.add_paced`):
        events arriving meanwhile join that one pending reconcile."""
        if self.delay > 0:
            self.queue.add_paced(key, self.delay)
        else:
            self.queue.add(key)

    def on_add(self, obj: Object) -> None:
        if all(p.create(obj) for p in self.predicates):
            for key in self.keys(obj):
                self.enqueue(key)

    def on_update(self, old: Object, new: Object) -> None:
        if all(p.update(old, new) for p in self.predicates):
            # both: an owner or mapping may have changed, and the former one must hear of it
            for key in dict.fromkeys([*self.keys(old), *self.keys(new)]):
                self.enqueue(key)

    def on_delete(self, obj: Object) -> None:
        if all(p.delete(obj) for p in self.predicates):
            for key in self.keys(obj):
                self.enqueue(key)


class EnqueueForObject(_KeyHandler):
    """Enqueue the object's own key."""

    def keys(self, obj: Object) -> Iterable[ObjectKey]:
        return (ObjectKey.of(obj),)

    def on_update(self, old: Object, new: Object) -> None:
        if all(p.update(old, new) for p in self.predicates):
            self.queue.add(ObjectKey.of(new))


class EnqueueForOwner(_KeyHandler):
    """Enqueue the owner of the object whose group and kind match `owner` (controller owners only by default)."""

    def __init__(self, queue: WorkQueue[ObjectKey], owner: Kind, predicates: Sequence[Predicate] = (), *,
                 only_controller: bool = True, delay: float = 0.0) -> None:
        super().__init__(queue, predicates, delay=delay)
        self.owner = owner
        self.only_controller = only_controller

    def keys(self, obj: Object) -> Iterable[ObjectKey]:
        meta = obj.get("metadata") or {}
        namespace = (meta.get("namespace") or "") if self.owner.namespaced else ""
        keys = []
        for ref in meta.get("ownerReferences") or []:
            if self.only_controller and not ref.get("controller"):
                continue
            if ref.get("kind") == self.owner.kind and group_of(ref.get("apiVersion", "")) == self.owner.group:
                keys.append(ObjectKey(namespace, ref.get("name", "")))
        return keys


class EnqueueMapped(_KeyHandler):
    """Enqueue the keys a function maps the object to."""

    def __init__(self, queue: WorkQueue[ObjectKey], map_fn: MapFunc, predicates: Sequence[Predicate] = (), *,
                 delay: float = 0.0) -> None:
        super().__init__(queue, predicates, delay=delay)
        self.map_fn = map_fn

    def keys(self, obj: Object) -> Iterable[ObjectKey]:
        return list(self.map_fn(obj))


HandlerFactory = Callable[[WorkQueue[ObjectKey]], EventHandler]
