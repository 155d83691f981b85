"""Failures that only mean "a server is restarting" are one WARNING line in `herd up`'s log, not a traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import aiohttp
import pytest

from herd.runtime import setup_logging
from herd.runtime.errors import Unreachable


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging(stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("error", [
    Unreachable("ClientConnectorError: Cannot connect to host 127.0.0.1:38961 [Connect call failed]"),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 38961)"),
    aiohttp.ServerDisconnectedError(),
], ids=["unreachable", "refused", "disconnected"])
def test_a_reconcile_that_cannot_reach_a_restarting_server_logs_one_warning_line(
        captured: io.StringIO, error: Exception) -> None:
    log = logging.getLogger("herd.runtime.controller")
    try:
        raise error
    except Exception:
        log.exception("machine: reconcile of default/m-1 failed (retry 3)", extra={"controller": "machine"})
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert " WARNING herd.runtime.controller machine: reconcile of default/m-1 failed (retry 3)" in lines[0]
    assert type(error).__name__ in lines[0] and "controller=machine" in lines[0]


def test_other_failures_keep_their_traceback(captured: io.StringIO) -> None:
    try:
        raise KeyError("spec")
    except KeyError:
        logging.getLogger("herd.runtime.controller").exception("reconcile failed")
    output = captured.getvalue()
    assert " ERROR " in output and "Traceback" in output
