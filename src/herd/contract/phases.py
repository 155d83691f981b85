"""Running a reconcile's phases in order, the way upstream's controllers do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from herd.runtime import Result

S = TypeVar("S")
Phase = Callable[[S], Awaitable[Result | None]]
"""One step of a reconcile: reads and changes the scope, returns when to look again (or None)."""


def lowest_result(a: Result, b: Result) -> Result:
    """The result asking for the soonest look again (a non-zero requeue_after beats none)."""
    after = [r.requeue_after for r in (a, b) if r.requeue_after > 0]
    return Result(requeue=a.requeue or b.requeue, requeue_after=min(after, default=0.0))


async def run_phases(scope: S, phases: Sequence[Phase[S]]) -> Result:
    """Run every phase; the smallest requeue wins. Errors are collected and raised together at the end.

    A failing phase does not stop the later ones (each reports on its own part of the status), but once
    one has failed, the results of the others no longer matter: the error retries the whole reconcile.
    """
    result = Result()
    errors: list[Exception] = []
    for phase in phases:
        try:
            phase_result = await phase(scope) or Result()
        except Exception as exc:  # CancelledError is a BaseException and passes through
            errors.append(exc)
            continue
        if not errors:
            result = lowest_result(result, phase_result)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("reconcile phases failed", errors)
    return result
