"""Logs carry controller fields, as text by default or as one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from herd.runtime.logsetup import setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
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
