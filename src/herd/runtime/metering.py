"""The CPU one coroutine uses, apart from the other tasks of its event loop.

    metered = Metered(reconcile(key))
    result = await metered
    metered.busy  # seconds the coroutine itself ran

An event loop runs one task at a time and switches only where a task awaits, so the thread's CPU time
across each step of a coroutine (from one resumption to its next suspension) is that coroutine's own.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Metered(Generic[T]):
    """Awaits a coroutine, adding up the thread CPU time of its steps in `busy` (seconds)."""

    __slots__ = ("_coro", "busy")

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self.busy = 0.0

    def __await__(self) -> Generator[Any, Any, T]:
        coro = self._coro
        value: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            finally:
                self.busy += time.thread_time() - started
            try:
                value, error = (yield yielded), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation and anything else thrown in goes to the coroutine
                value, error = None, exc
