"""Startup durations of simulated components: Go-style durations, jitter, and the `ready-at` timeline.

Pure functions: the random source and the clock are passed in.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta

from herd.api.infrastructure.dev_types import CommonProvisioningSettings

# Go's time.ParseDuration units, in seconds.
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as "10s", "1m30s", "1.5h" or "300ms"; "0" is zero. ValueError otherwise."""
    value = text.strip()
    sign = -1.0 if value.startswith("-") else 1.0
    value = value.lstrip("+-")
    if value == "0":
        return 0.0
    if not value:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(value):
        match = _PART.match(value, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if sign < 0:
        raise ValueError(f"a startup duration cannot be negative: {text!r}")
    return total


def parse_jitter(text: str | None) -> float:
    """The jitter fraction ("0.2" → 0.2); empty means none. ValueError when not a non-negative number."""
    if text is None or not text.strip():
        return 0.0
    try:
        jitter = float(text)
    except ValueError:
        raise ValueError(f"invalid startupJitter {text!r}: expected a decimal fraction such as \"0.2\"") from None
    if jitter < 0 or jitter != jitter:  # NaN is not a fraction either
        raise ValueError(f"invalid startupJitter {text!r}: it cannot be negative")
    return jitter


def startup_delay(settings: CommonProvisioningSettings | None, rng: random.Random) -> float:
    """How long one start of a component takes: startupDuration plus a random share of it, up to the jitter."""
    if settings is None:
        return 0.0
    duration = parse_duration(settings.startup_duration)
    jitter = parse_jitter(settings.startup_jitter)
    return duration + rng.random() * jitter * duration if jitter > 0 else duration


def format_time(when: datetime) -> str:
    """An RFC 3339 UTC timestamp with microseconds (durations may be shorter than a second)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of `format_time`; also accepts timestamps without fractions."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_timeline(text: str | None) -> dict[str, datetime]:
    """The `ready-at` annotation's value: component → when it is up. Unreadable entries are dropped."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    timeline: dict[str, datetime] = {}
    if isinstance(raw, dict):
        for component, value in raw.items():
            try:
                timeline[str(component)] = parse_time(str(value))
            except ValueError:
                continue
    return timeline


def format_timeline(timeline: dict[str, datetime]) -> str:
    """The `ready-at` annotation's value, with a stable key order."""
    return json.dumps({key: format_time(value) for key, value in sorted(timeline.items())}, separators=(",", ":"))


def ready_at(timeline: dict[str, datetime], component: str, after: datetime, delay: float) -> datetime:
    """When `component` is up: from the timeline if already decided, else `after + delay`, recorded now."""
    found = timeline.get(component)
    if found is None:
        found = timeline[component] = after + timedelta(seconds=delay)
    return found


def seconds_until(when: datetime, now: datetime) -> float:
    """Seconds from `now` to `when` (0 when past)."""
    return max(0.0, (when - now).total_seconds())
