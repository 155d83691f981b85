"""`herd up`'s errors are one line on stderr that says what to do; a bug's traceback goes to the log only."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herd.cli import up
from herd.cli.main import build_parser
from herd.cli.serve import CLIError


@pytest.fixture(autouse=True)
def keep_logging_and_environment() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, environ = list(root.handlers), root.level, dict(os.environ)
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    os.environ.clear()
    os.environ.update(environ)


@pytest.mark.parametrize(("flags", "line"), [
    (("--port", "70000"), "herd: --port must be between 0 and 65535, got 70000"),
    (("--compaction-window", "0"), "herd: --compaction-window must be at least 1, got 0"),
    (("--event-ttl", "0"), "herd: --event-ttl must be positive, got 0.0"),
    (("--feature-gates", "Nope=true"), "herd: --feature-gates: unknown feature gate 'Nope' (known: ClusterTopology, "
     "KubeadmBootstrapFormatIgnition, MachineSetPreflightChecks, MachineTaintPropagation)"),
])
def test_a_bad_flag_is_one_line_and_leaves_nothing_behind(tmp_path: Path, flags: tuple[str, ...], line: str) -> None:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "up", "--data-dir", str(tmp_path / "data"),
                             *flags], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", line + "\n")
    assert not (tmp_path / "data").exists()


def test_a_data_dir_that_cannot_hold_the_log_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path / "file" / "data")])
    with pytest.raises(CLIError, match=r"^cannot write the log in .*/file/data: Not a directory; choose a data dir "
                                       r"you own with --data-dir$"):
        up.run(args)


def test_a_bug_is_one_line_and_its_traceback_is_in_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("the unexpected")

    monkeypatch.setattr(up, "up", broken)
    monkeypatch.setattr(up, "install_uvloop", lambda: None)  # the event loop policy of the tests stays as it is
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path / "data")])
    log_file = tmp_path / "data" / "logs" / "herd.log"
    with pytest.raises(CLIError) as raised:
        up.run(args)
    assert str(raised.value) == (f"stopped on an unexpected error (RuntimeError: the unexpected); the details are "
                                 f"in {log_file}")
    logged = log_file.read_text()
    assert "ERROR herd.cli herd up stopped on an unexpected error" in logged and "Traceback" in logged
    assert capsys.readouterr().err == ""
