"""Waiting with a deadline, the way the runtime's `wait_*` methods report it: True when it happened, False when
the time ran out."""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until the event is set; False if `timeout` seconds (None: no limit) pass first."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
