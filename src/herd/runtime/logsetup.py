"""Structured logging for controllers: readable text by default, one JSON object per line on request.

Fields passed as `extra=` (controller, key, …) appear as `key=value` in text and as members in JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import aiohttp

from .errors import Unreachable

# a server that is restarting (a workload cluster's API server, the management plane): expected, retried
_UNREACHABLE = (Unreachable, ConnectionError, aiohttp.ClientConnectionError)

# attributes every LogRecord has: anything else was passed through `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TextFormatter(logging.Formatter):
    """`2025-01-01T00:00:00.000000Z INFO logger message key=value …`"""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line += " " + fields
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extras, and error (a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                                 "msg": record.getMessage(), **_extras(record)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class UnreachableIsOneLine(logging.Filter):
    """A failure only because a server cannot be reached is logged as one WARNING line, with no traceback.

    Controllers retry such failures; while a workload cluster's API server restarts, a traceback for each
    reconcile and watch that hit it would bury everything else in the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, _UNREACHABLE):
            record.exc_info = None
            record.exc_text = None
            record.error = f"{type(error).__name__}: {error}"
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def setup_logging(level: int | str = "INFO", *, json_format: bool = False, stream: TextIO | None = None) -> None:
    """Send the root logger's records to `stream` (stderr) as text or JSON lines, replacing other handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if json_format else TextFormatter())
    handler.addFilter(UnreachableIsOneLine())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for chatty in ("httpx2", "httpcore2", "httpx", "httpcore"):  # one INFO line per request would drown the rest
        logging.getLogger(chatty).setLevel(logging.WARNING)
