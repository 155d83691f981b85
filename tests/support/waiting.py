"""Waiting for a condition to hold, in async tests (`eventually`) and in blocking ones (`eventually_sync`).

A probe is asked again until it holds: it holds once it returns anything but False without failing an assertion.
So a probe may answer yes or no (False is "not yet"), or assert what it expects (returning None or a value).
Exceptions listed in `retry_on` also count as "not yet"; any other exception fails at once. After `timeout`
seconds the wait fails with `what` and the probe's last complaint."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar, overload

T = TypeVar("T")


class _NotYet(Exception):
    """The probe answered False."""


class _Attempts:
    """Counts down to the deadline; each `with` block is one attempt, whose "not yet" it swallows until then."""

    def __init__(self, what: str, timeout: float, retry_on: tuple[type[BaseException], ...]) -> None:
        self.what, self.timeout = what, timeout
        self.retry_on: tuple[type[BaseException], ...] = (AssertionError, _NotYet, *retry_on)
        self.deadline = time.monotonic() + timeout

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if error is None or not isinstance(error, self.retry_on):
            return False
        if time.monotonic() < self.deadline:
            return True
        detail = "" if isinstance(error, _NotYet) else f":\n{error}" if isinstance(error, AssertionError) \
            else f" (last error: {error!r})"
        raise AssertionError(f"{self.what} did not hold within {self.timeout:g}s{detail}") from None


def held(value: T) -> T:
    """`value`, unless it is False (then the attempt is not over yet)."""
    if value is False:
        raise _NotYet
    return value


@overload
async def eventually(probe: Callable[[], Awaitable[T]], what: str = ..., *, timeout: float = ..., poll: float = ...,
                     retry_on: tuple[type[BaseException], ...] = ...) -> T: ...
@overload
async def eventually(probe: Callable[[], T], what: str = ..., *, timeout: float = ..., poll: float = ...,
                     retry_on: tuple[type[BaseException], ...] = ...) -> T: ...
async def eventually(probe: Callable[[], Any], what: str = "condition", *, timeout: float = 30.0,
                     poll: float = 0.05, retry_on: tuple[type[BaseException], ...] = ()) -> Any:
    """Await until `probe()` (sync or async) holds, every `poll` seconds; its value."""
    attempts = _Attempts(what, timeout, retry_on)
    while True:
        with attempts:
            value = probe()
            return held(await value if inspect.isawaitable(value) else value)
        await asyncio.sleep(poll)


def eventually_sync(probe: Callable[[], T], what: str = "condition", *, timeout: float = 30.0, poll: float = 0.05,
                    retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """Block until `probe()` holds, every `poll` seconds; its value."""
    attempts = _Attempts(what, timeout, retry_on)
    while True:
        with attempts:
            return held(probe())
        time.sleep(poll)


def throughout(probe: Callable[[], None], *, seconds: float, poll: float) -> None:
    """`probe()` holds at every poll, every `poll` seconds for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe()
        time.sleep(poll)
