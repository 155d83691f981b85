"""Storage types shared by every backend and by the watch cache in front of them.

The model follows kine (k3s's etcd shim): one append-only log of rows; a row's id is the global
revision, which is also the `resourceVersion` of the object it stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


class StorageError(Exception):
    """Base class of the storage layer's errors."""


class KeyExistsError(StorageError):
    """A create found the key already present."""


class KeyNotFoundError(StorageError):
    """An update or delete found no such key."""


class RevisionConflictError(StorageError):
    """A compare-and-swap saw a different revision than the caller expected."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected revision {expected}, found {actual}")
        self.expected = expected
        self.actual = actual


class CompactedError(StorageError):
    """A watch asked for events from a revision older than what is retained."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class Record:
    """The current state of one key. `value` must be treated as immutable: copy before changing."""

    key: str
    revision: int
    create_revision: int
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change. For DELETED, `value` is the last state, stamped with the deletion revision."""

    type: EventType
    key: str
    revision: int
    value: dict[str, Any]
    prev_value: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One appended log row as a backend persists it."""

    revision: int
    key: str
    create_revision: int
    prev_revision: int
    created: bool
    deleted: bool
    value: bytes


@dataclass
class LoadedState:
    """What a backend hands the cache on start: the latest live row per key, recent rows, counters.

    `previous` holds the still-stored rows that recent rows replaced (their `prev_revision`) but that
    are older than the recent rows, so resumed watches know each object's state before an event.
    """

    current: list[Row]
    recent: list[Row]
    revision: int
    compacted_revision: int
    previous: list[Row] = field(default_factory=list)
    # Revisions (lost_after, lost_through] may have been shown to readers before a crash lost them; a
    # watch resuming from one of them must relist (410), since the objects it saw may never have existed.
    lost_after: int = 0
    lost_through: int = 0
    resume_floor: int = 0  # no watch resumes from before it (an earlier crash's lost range ends there)


class Backend(Protocol):
    """Durable persistence of the row log. `append` returns only once the rows are durable.

    `reserve` durably records a revision ceiling: readers may be shown any revision up to it before its
    row is durable, so after a crash `load` starts past the ceiling and reports the range it may have lost.
    `clean=True` (at a clean close, every row durable) sets the ceiling exactly, so no range is lost.
    """

    def load(self, window: int) -> LoadedState: ...

    async def append(self, rows: list[Row]) -> None: ...

    async def reserve(self, revision: int, *, clean: bool = False) -> None: ...

    async def compact(self, revision: int) -> None: ...

    async def close(self) -> None: ...


class Watch(Protocol):
    """A stream of events for one key prefix, in revision order."""

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    def close(self) -> None: ...
