"""Following every change in the store, the way the server's own loops (garbage collector, namespace controller)
do it: list, then watch from the list's revision; list again when the watch can no longer resume."""

from __future__ import annotations

from collections.abc import Callable

from ..storage.base import CompactedError, StorageError, WatchEvent
from ..storage.store import Store

ROOT = "/registry/"


async def follow(store: Store, relist: Callable[[], int], observe: Callable[[WatchEvent], None]) -> None:
    """Call `relist` (which returns the revision it read at), then `observe` each change after it, until
    cancelled; returns when the store is closing or failed (nothing more can be followed)."""
    while True:
        try:
            watch = store.watch(ROOT, relist())
        except CompactedError:
            continue  # the list's revision was compacted before the watch began: list again
        except StorageError:
            return
        try:
            async for event in watch:
                observe(event)
        finally:
            watch.close()
