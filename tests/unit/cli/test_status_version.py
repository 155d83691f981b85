"""`herd status` (up or not, endpoint, pid; exit 0 or 1) and `herd version`, as a user runs them."""

from __future__ import annotations

import base64
import http.server
import importlib.metadata
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml


def herd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herd.cli.main", *args], capture_output=True, text=True,
                          timeout=60)


def write_kubeconfig(data_dir: Path, server: str, ca: bytes | None = None) -> None:
    cluster = {"server": server, **({"certificate-authority-data": base64.b64encode(ca).decode()} if ca else {})}
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "management.kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "herd",
        "clusters": [{"name": "other", "cluster": {"server": "https://10.0.0.1:1"}},
                     {"name": "herd", "cluster": cluster}],
        "contexts": [{"name": "herd", "context": {"cluster": "herd", "user": "admin"}}],
        "users": [{"name": "admin", "user": {"token": "s3cr3t-token"}}]}))


class Readyz(http.server.BaseHTTPRequestHandler):
    answer = 200

    def do_GET(self) -> None:
        self.send_response(self.answer if self.path == "/readyz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def readyz() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), Readyz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_nothing_in_the_data_dir_is_not_up(tmp_path: Path) -> None:
    result = herd("status", "--data-dir", str(tmp_path / "none"))
    assert (result.returncode, result.stdout, result.stderr) == (
        1, f"not up in {tmp_path / 'none'}: no management.kubeconfig\n", "")


def test_a_herd_up_still_starting_is_not_up_and_says_where_to_look(tmp_path: Path) -> None:
    (tmp_path / "herd.pid").write_text(f"{os.getpid()}\n")
    result = herd("status", "--data-dir", str(tmp_path))
    assert (result.returncode, result.stdout) == (1, f"not up in {tmp_path}: no management.kubeconfig (pid "
                                                     f"{os.getpid()}); `herd up` is starting or stuck: see "
                                                     f"{tmp_path / 'logs' / 'herd.log'}\n")


def test_a_server_that_answers_readyz_is_up_with_the_pid_of_herd_up(
        tmp_path: Path, readyz: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{readyz.server_port}"
    write_kubeconfig(tmp_path, url)
    assert herd("status", "--data-dir", str(tmp_path)).stdout == f"up in {tmp_path}: {url}\n"
    (tmp_path / "herd.pid").write_text(f"{os.getpid()}\n")
    result = herd("status", "--data-dir", str(tmp_path))
    assert (result.returncode, result.stdout) == (0, f"up in {tmp_path}: {url} (pid {os.getpid()})\n")


def test_a_pid_whose_process_is_gone_is_not_shown(tmp_path: Path, readyz: http.server.HTTPServer) -> None:
    write_kubeconfig(tmp_path, f"http://127.0.0.1:{readyz.server_port}")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "herd.pid").write_text(f"{gone.pid}\n")
    url = f"http://127.0.0.1:{readyz.server_port}"
    assert herd("status", "--data-dir", str(tmp_path)).stdout == f"up in {tmp_path}: {url}\n"  # no "(pid …)"


def test_a_server_that_is_not_ready_is_not_up(tmp_path: Path, readyz: http.server.HTTPServer) -> None:
    Readyz.answer = 503
    try:
        write_kubeconfig(tmp_path, f"http://127.0.0.1:{readyz.server_port}")
        result = herd("status", "--data-dir", str(tmp_path))
    finally:
        Readyz.answer = 200
    assert result.returncode == 1
    assert result.stdout == (f"not up in {tmp_path}: http://127.0.0.1:{readyz.server_port} does not answer "
                             "/readyz (/readyz answered 503)\n")


def test_a_kubeconfig_left_by_a_killed_plane_is_not_up(tmp_path: Path, readyz: http.server.HTTPServer) -> None:
    port = readyz.server_port
    readyz.shutdown()
    readyz.server_close()
    write_kubeconfig(tmp_path, f"https://127.0.0.1:{port}", ca=b"-----BEGIN CERTIFICATE-----\n")
    result = herd("status", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith(f"not up in {tmp_path}: https://127.0.0.1:{port} does not answer /readyz (")
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""


@pytest.mark.parametrize("content", ["{{ not yaml: s3cr3t-token", "just a string s3cr3t-token", "clusters: []"])
def test_an_unreadable_kubeconfig_is_one_line_that_quotes_none_of_it(tmp_path: Path, content: str) -> None:
    (tmp_path / "management.kubeconfig").write_text(content)
    result = herd("status", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and len(result.stdout.splitlines()) == 1 and result.stderr == ""
    assert result.stdout.startswith(f"not up in {tmp_path}: ") and "s3cr3t" not in result.stdout


def test_version_names_the_package_and_the_apis_it_serves() -> None:
    result = herd("version")
    assert (result.returncode, result.stdout) == (
        0, f"herd {importlib.metadata.version('herd')} (Kubernetes API v1.32.4, Cluster API contract v1beta2)\n")
