"""Structured logging for controllers: readable text by default, one JSON object per line on request.

Fields passed as `extra=` (controller, key, …) appear as `key=value` in text and as members in JSON.
Records go to stderr, to a rotated log file, or both (`LogTarget`). `herd up` keeps its log in a file and hands
the file to its children through the environment (`LogTarget.environment`): they append to the same file and
reopen it when `herd up` rotates it, so one file holds the whole plane's log in order.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
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


LOG_FILE_BYTES = 10 * 1024 * 1024  # rotated at 10 MiB, three old files kept: at most 40 MiB of log
LOG_FILE_BACKUPS = 3
# Logs never hold secrets (a rule for every message), but they do name clusters, addresses and objects: like
# everything else in the data dir they are the owner's only.
LOG_FILE_MODE = 0o600
FILE_ENV, VERBOSE_ENV, FORMAT_ENV = "HERD_LOG_FILE", "HERD_LOG_VERBOSE", "HERD_LOG_FORMAT"


@dataclass(frozen=True)
class LogTarget:
    """Where a process's log records go: a log file and/or the stream (stderr), as text or JSON lines."""

    json_format: bool = False
    file: Path | None = None
    echo: bool = True  # the records also go to the stream
    shared: bool = False  # another process writes and rotates the file too: append, reopen it when it moves

    def environment(self) -> dict[str, str]:
        """Environment entries that make a child process's `setup_logging()` log like this one, into the same
        file (which this process rotates)."""
        entries = {FORMAT_ENV: "json" if self.json_format else "text", VERBOSE_ENV: "1" if self.echo else ""}
        if self.file is not None:
            entries[FILE_ENV] = str(self.file)
        return entries

    @classmethod
    def inherited(cls, environ: Mapping[str, str]) -> LogTarget | None:
        """The target a parent process set with `environment()`, if any."""
        if FORMAT_ENV not in environ:
            return None
        file = environ.get(FILE_ENV)
        return cls(json_format=environ[FORMAT_ENV] == "json", file=Path(file) if file else None,
                   echo=not file or environ.get(VERBOSE_ENV) == "1", shared=bool(file))


def _open_owner_only(path: str, encoding: str | None, errors: str | None) -> io.TextIOWrapper:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_FILE_MODE)
    with contextlib.suppress(OSError):
        os.fchmod(fd, LOG_FILE_MODE)  # a file left by an older version may be readable by others
    return open(fd, "a", encoding=encoding, errors=errors)


class RotatingLogFile(logging.handlers.RotatingFileHandler):
    """The log file of the process that rotates it, created with LOG_FILE_MODE."""

    def _open(self) -> io.TextIOWrapper:
        return _open_owner_only(self.baseFilename, self.encoding, self.errors)


class SharedLogFile(logging.handlers.WatchedFileHandler):
    """A log file another process rotates: reopened by name when it has been moved away."""

    def _open(self) -> io.TextIOWrapper:
        return _open_owner_only(self.baseFilename, self.encoding, self.errors)


def _file_handler(target: LogTarget) -> logging.Handler:
    assert target.file is not None
    target.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if target.shared:
        return SharedLogFile(target.file, encoding="utf-8")
    return RotatingLogFile(target.file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8")


def setup_logging(level: int | str = "INFO", *, json_format: bool = False, stream: TextIO | None = None,
                  target: LogTarget | None = None) -> None:
    """Send the root logger's records where `target` says (default: `stream`, stderr, as text or JSON lines),
    replacing other handlers. Without a target, a child of `herd up` logs where `herd up` told it to
    (`LogTarget.inherited`). OSError if the log file cannot be opened."""
    target = target or LogTarget.inherited(os.environ) or LogTarget(json_format=json_format)
    handlers: list[logging.Handler] = []
    if target.file is not None:
        handlers.append(_file_handler(target))
    if target.echo:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    for handler in handlers:
        handler.setFormatter(JSONFormatter() if target.json_format else TextFormatter())
        handler.addFilter(UnreachableIsOneLine())
        root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for chatty in ("httpx2", "httpcore2", "httpx", "httpcore"):  # one INFO line per request would drown the rest
        logging.getLogger(chatty).setLevel(logging.WARNING)
