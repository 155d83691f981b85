"""Following every change in the store, the way the server's own loops (garbage collector, namespace controller)
do it: list, then watch from the list's revision; list again when the watch can no longer resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

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


async def follow_with(worker: Coroutine[Any, Any, None], store: Store, relist: Callable[[], int],
                      observe: Callable[[WatchEvent], None]) -> None:
    """`follow` while `worker` (the loop doing the work that observing queues) runs beside it; the worker is
    cancelled, and awaited, when following ends."""
    task = asyncio.ensure_future(worker)
    try:
        await follow(store, relist, observe)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
