"""Logs carry controller fields, as text by default or as one JSON object per line; `herd up`'s log file is
owner-only, rotated, shared with its children through the environment, and echoed on request."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from herd.runtime.logsetup import LogTarget, RotatingLogFile, SharedLogFile, TextFormatter, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()  # a log file a test opened
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_end_with_the_extra_fields() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    logging.getLogger("herd.test").info("reconciled %s", "ns/a", extra={"controller": "machine", "key": "ns/a"})
    line = stream.getvalue().strip()
    assert " INFO herd.test reconciled ns/a controller=machine key=ns/a" in line


def test_json_lines_have_the_fields_and_the_traceback() -> None:
    stream = io.StringIO()
    setup_logging("INFO", json_format=True, stream=stream)
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("herd.test").exception("failed", extra={"controller": "machine"})
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "ERROR" and entry["msg"] == "failed" and entry["controller"] == "machine"
    assert "ValueError: bad" in entry["error"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("target", [
    LogTarget(file=Path("/d/logs/herd.log"), echo=False),
    LogTarget(file=Path("/d/logs/herd.log"), echo=True),
    LogTarget(json_format=True),
], ids=["file", "file and stderr", "json on stderr"])
def test_a_child_logs_where_its_parent_does_and_leaves_the_rotation_to_it(target: LogTarget) -> None:
    inherited = LogTarget.inherited(target.environment())
    assert inherited == LogTarget(json_format=target.json_format, file=target.file, echo=target.echo,
                                  shared=target.file is not None)


def test_without_the_environment_of_a_parent_a_process_logs_to_its_stream() -> None:
    assert LogTarget.inherited({"PATH": "/bin"}) is None


def test_a_log_file_without_echo_gets_the_info_lines_and_the_stream_nothing(tmp_path: Path) -> None:
    stream = io.StringIO()
    log_file = tmp_path / "data" / "logs" / "herd.log"
    previous = os.umask(0)  # even where files are created world-writable by default
    try:
        setup_logging(target=LogTarget(file=log_file, echo=False), stream=stream)
        logging.getLogger("herd.test").info("controller started", extra={"controller": "cluster"})
    finally:
        os.umask(previous)
    assert stream.getvalue() == ""
    assert log_file.read_text().rstrip("\n").endswith(" INFO herd.test controller started controller=cluster")
    assert mode(log_file) == 0o600 and mode(log_file.parent) == 0o700


def test_echo_sends_the_same_lines_to_the_stream(tmp_path: Path) -> None:
    stream = io.StringIO()
    log_file = tmp_path / "herd.log"
    setup_logging(target=LogTarget(file=log_file, echo=True), stream=stream)
    logging.getLogger("herd.test").warning("watch restarted")
    assert stream.getvalue() == log_file.read_text() != ""


def test_a_log_file_left_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    log_file = tmp_path / "herd.log"
    log_file.write_text("older\n")
    log_file.chmod(0o644)
    setup_logging(target=LogTarget(file=log_file, echo=False))
    assert mode(log_file) == 0o600 and log_file.read_text() == "older\n"  # appended to, never truncated


def test_the_parent_rotates_and_a_child_writing_the_same_file_follows(tmp_path: Path) -> None:
    log_file = tmp_path / "herd.log"
    parent = RotatingLogFile(log_file, maxBytes=300, backupCount=2, encoding="utf-8")
    child = SharedLogFile(log_file, encoding="utf-8")
    for handler in (parent, child):
        handler.setFormatter(TextFormatter())

    def emit(handler: logging.Handler, message: str) -> None:
        handler.handle(logging.LogRecord("herd.test", logging.INFO, __file__, 1, message, (), None))

    try:
        for index in range(8):
            emit(parent, f"parent line {index} " + "x" * 60)
            emit(child, f"child line {index}")
    finally:
        parent.close()
        child.close()
    files = [log_file, log_file.with_name("herd.log.1"), log_file.with_name("herd.log.2")]
    assert all(path.exists() and mode(path) == 0o600 for path in files)
    assert not log_file.with_name("herd.log.3").exists()  # backupCount: older files are dropped
    assert "child line 7" in log_file.read_text() and "parent line 7" in log_file.read_text()
    assert all(path.stat().st_size < 600 for path in files)
