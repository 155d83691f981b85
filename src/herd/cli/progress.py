"""What the waiting commands (`herd wait`, `herd delete --wait`, `herd rollout status`) share: a Go-style
--timeout, condition lookups, and a display of the latest state — redrawn in place on a terminal, one line per
change otherwise (so a log or a pipe reads as a history)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.live import Live
from rich.text import Text

from herd.runtime import Client, Kind, NotFound, Object

from .serve import CLIError

POLL_SECONDS = 0.5  # how often a waiting command asks again; the management plane answers a get in milliseconds
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration as kubectl's --timeout takes it ("10m", "1m30s", "500ms"); a bare number is seconds."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d*)?", value):
        return float(value)
    parts = _DURATION_PART.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: expected e.g. 30s, 10m, 1h or 1m30s")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def add_timeout_argument(parser: argparse.ArgumentParser, default: str = "10m") -> None:
    parser.add_argument("--timeout", type=parse_duration, default=parse_duration(default), metavar="DURATION",
                        help=f"give up after this long, with exit code 1 (default {default}; e.g. 30s, 1h)")


def format_duration(seconds: float) -> str:
    """A timeout as the user wrote it, roughly: 1s, 90s, 10m, 1h30m."""
    whole = int(seconds)
    if whole < 120 or whole % 60:
        return f"{seconds:g}s"
    hours, minutes = divmod(whole // 60, 60)
    return f"{hours}h{minutes}m" if hours and minutes else f"{hours}h" if hours else f"{minutes}m"


async def get_or_none(client: Client, kind: Kind, name: str, namespace: str) -> Object | None:
    """The object, or None when it does not exist; a plane that does not serve the kind at all is an error."""
    try:
        return await client.get(kind, name, namespace)
    except NotFound as exc:
        if (exc.status.get("details") or {}).get("name") == name:
            return None
        raise CLIError(f"the management plane at {client.server} does not serve {kind.plural}; is it a herd plane "
                       "(`herd up`)?") from None


def condition(obj: Object, type_: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def one_line(message: str) -> str:
    """A condition message's `* Group: names` lines as one line (`Group: names; Other: names`); a line ending in
    a colon heads the nested lines under it (`WorkersAvailable: MachineDeployment md-0: 0 available`)."""
    text = ""
    for line in (raw.strip().removeprefix("* ").strip() for raw in message.splitlines()):
        if line:
            text += (" " if text.endswith(":") else "; " if text else "") + line
    return text


def describe_condition(obj: Object, type_: str) -> str:
    """`Reason: message` (or `Reason`) of the condition, or that it is not reported yet."""
    found = condition(obj, type_)
    if found is None:
        return f"no {type_} condition reported yet"
    reason, message = str(found.get("reason") or found.get("status") or "?"), one_line(str(found.get("message") or ""))
    return f"{reason}: {message}" if message else reason


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class State:
    """One look at what is being waited for: whether it is over, what to show about it, and (when not over) what
    it waits for, for a timeout's message."""

    done: bool
    line: str
    blocker: str = ""


class Display:
    """The latest state line: a live line on a terminal, else each new line printed once."""

    def __init__(self, *, live: bool | None = None) -> None:
        self.live_mode = sys.stdout.isatty() if live is None else live
        self.last: str | None = None
        self._live: Live | None = None

    def __enter__(self) -> Self:
        if self.live_mode:
            self._live = Live(Text(""), console=Console(), auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()

    def show(self, line: str) -> None:
        if line == self.last:
            return
        self.last = line
        if self._live is not None:
            self._live.update(Text(line), refresh=True)
        else:
            print(line, flush=True)


async def follow(look: Callable[[], Awaitable[State]], timeout: float, display: Display) -> State:
    """Look every POLL_SECONDS, showing each state, until one is done or `timeout` seconds have passed; the last
    state (done or not)."""
    deadline = time.monotonic() + timeout
    while True:
        state = await look()
        display.show(state.line)
        remaining = deadline - time.monotonic()
        if state.done or remaining <= 0:
            return state
        await asyncio.sleep(min(POLL_SECONDS, remaining))
