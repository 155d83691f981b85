"""The in-memory store behind an informer: objects by key plus named indexes (client-go's Indexer)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .labels import Selector
from .objects import Object, ObjectKey

IndexFunc = Callable[[Object], Iterable[str]]
"""Maps an object to the index values it is found under (none, one or many)."""

NAMESPACE_INDEX = "namespace"


class Indexer:
    """Objects by ObjectKey, and for each named index, keys by index value.

    Objects are stored as given and handed out as stored: callers treat them as read-only
    (the Cache hands out copies).
    """

    def __init__(self) -> None:
        self._items: dict[ObjectKey, Object] = {}
        self._funcs: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[ObjectKey]]] = {}
        self._values: dict[str, dict[ObjectKey, tuple[str, ...]]] = {}  # what each key was indexed under
        self.add_index(NAMESPACE_INDEX, lambda obj: [(obj.get("metadata") or {}).get("namespace") or ""])

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[ObjectKey]:
        """The keys (a snapshot: the store may change while iterating)."""
        return iter(list(self._items))

    def items(self) -> Iterator[tuple[ObjectKey, Object]]:
        return iter(list(self._items.items()))

    def get(self, key: ObjectKey) -> Object | None:
        """The stored object, or None."""
        return self._items.get(key)

    def upsert(self, obj: Object) -> Object | None:
        """Store the object under its key; returns the object it replaced, if any."""
        key = ObjectKey.of(obj)
        old = self._items.get(key)
        self._items[key] = obj
        for name, func in self._funcs.items():
            self._reindex(name, func, key, obj)
        return old

    def remove(self, key: ObjectKey) -> Object | None:
        """Drop the object; returns it, or None if it was not there."""
        old = self._items.pop(key, None)
        if old is not None:
            for name in self._funcs:
                self._unindex(name, key)
        return old

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Add a named index; objects already stored are indexed at once. Re-adding a name is an error."""
        if name in self._funcs:
            raise ValueError(f"index {name!r} already exists")
        self._funcs[name] = func
        self._indices[name] = {}
        self._values[name] = {}
        for key, obj in self._items.items():
            self._reindex(name, func, key, obj)

    def has_index(self, name: str) -> bool:
        return name in self._funcs

    def index_keys(self, name: str, value: str) -> set[ObjectKey]:
        """Keys of the objects found under `value` in index `name`."""
        if name not in self._funcs:
            raise KeyError(f"no index named {name!r}")
        return set(self._indices[name].get(value, ()))

    def by_index(self, name: str, value: str) -> list[Object]:
        """Objects found under `value` in index `name`, sorted by key."""
        return [self._items[key] for key in sorted(self.index_keys(name, value))]

    def list(self, namespace: str | None = None, selector: Selector | None = None) -> list[Object]:
        """Objects (in one namespace, matching a label selector), sorted by key."""
        keys = sorted(self._indices[NAMESPACE_INDEX].get(namespace, ())) if namespace is not None \
            else sorted(self._items)
        objects = [self._items[key] for key in keys]
        if selector is not None and not selector.empty:
            objects = [obj for obj in objects if selector.matches_object(obj)]
        return objects

    def _reindex(self, name: str, func: IndexFunc, key: ObjectKey, obj: Object) -> None:
        new = tuple(dict.fromkeys(func(obj)))
        old = self._values[name].get(key, ())
        if new == old:
            return
        index = self._indices[name]
        for value in old:
            if value not in new:
                _discard(index, value, key)
        for value in new:
            index.setdefault(value, set()).add(key)
        if new:
            self._values[name][key] = new
        else:
            self._values[name].pop(key, None)

    def _unindex(self, name: str, key: ObjectKey) -> None:
        index = self._indices[name]
        for value in self._values[name].pop(key, ()):
            _discard(index, value, key)


def _discard(index: dict[str, set[ObjectKey]], value: str, key: ObjectKey) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]


# ----- index functions Cluster API controllers use -----

def index_by_label(label: str) -> IndexFunc:
    """Index by the value of one label, e.g. `cluster.x-k8s.io/cluster-name`."""
    def index(obj: Object) -> list[str]:
        value = ((obj.get("metadata") or {}).get("labels") or {}).get(label)
        return [value] if value is not None else []
    return index


def index_by_controller_uid(obj: Object) -> list[str]:
    """Index by the uid of the controller owner (the ownerReference with controller=true)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid"):
            return [str(ref["uid"])]
    return []


def index_by_owner_uid(obj: Object) -> list[str]:
    """Index by the uid of every owner."""
    return [str(ref["uid"]) for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if ref.get("uid")]


def index_by_field(path: str) -> IndexFunc:
    """Index by a string field at a dotted path, e.g. `spec.providerID` for Nodes."""
    parts = path.split(".")

    def index(obj: Object) -> list[str]:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return []
            value = value.get(part)
        return [str(value)] if value not in (None, "") else []
    return index
