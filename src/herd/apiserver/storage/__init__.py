"""Storage for the embedded API server: a watch cache in front of a durable (or in-memory) row log."""

from herd.apiserver.storage.base import (
    Backend,
    CompactedError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    LoadedState,
    Record,
    RevisionConflictError,
    Row,
    StorageError,
    Watch,
    WatchEvent,
)
from herd.apiserver.storage.memory import MemoryBackend
from herd.apiserver.storage.sqlite import SqliteBackend
from herd.apiserver.storage.store import Store, StoreWatch

__all__ = [
    "Backend",
    "CompactedError",
    "EventType",
    "KeyExistsError",
    "KeyNotFoundError",
    "LoadedState",
    "MemoryBackend",
    "Record",
    "RevisionConflictError",
    "Row",
    "SqliteBackend",
    "StorageError",
    "Store",
    "StoreWatch",
    "Watch",
    "WatchEvent",
]
