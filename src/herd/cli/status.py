"""`herd status`: whether a management plane is up in a data dir — its kubeconfig is there and its API server
answers /readyz — with its endpoint and, for `herd up`, its process id. Exit 0 when up, 1 when not."""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .serve import ServeOptions

READYZ_TIMEOUT_SECONDS = 3.0  # a plane that is up answers at once


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("status", help="tell whether a management plane is up in a data dir",
                                 epilog="example: herd status --data-dir ~/.herd")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".herd",
                        help="the data dir of `herd up` or `herd serve` (default ~/.herd)")
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Endpoint:
    """Where a kubeconfig's current context points, and the CA its server certificate is checked against."""

    server: str
    ca_pem: bytes | None


def endpoint_of(kubeconfig: Path) -> Endpoint:
    """ValueError when the kubeconfig cannot be read as one (its content never goes into the message)."""
    try:
        config = yaml.safe_load(kubeconfig.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        raise ValueError(f"{kubeconfig} cannot be read as a kubeconfig") from None
    if not isinstance(config, dict):
        raise ValueError(f"{kubeconfig} is not a kubeconfig")
    contexts = {entry.get("name"): entry.get("context") or {} for entry in config.get("contexts") or []}
    clusters = {entry.get("name"): entry.get("cluster") or {} for entry in config.get("clusters") or []}
    cluster_name = contexts.get(config.get("current-context"), {}).get("cluster")
    cluster = clusters.get(cluster_name) or next(iter(clusters.values()), {})
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise ValueError(f"{kubeconfig} names no server")
    try:
        ca = base64.b64decode(cluster["certificate-authority-data"]) if cluster.get(
            "certificate-authority-data") else None
    except (binascii.Error, TypeError):
        raise ValueError(f"{kubeconfig} has an unreadable certificate-authority-data") from None
    return Endpoint(server.rstrip("/"), ca)


def ready_problem(endpoint: Endpoint) -> str | None:
    """None when the server answers /readyz with 200, else what went wrong."""
    try:
        context = ssl.create_default_context(cadata=endpoint.ca_pem.decode()) if endpoint.ca_pem else None
        with urllib.request.urlopen(f"{endpoint.server}/readyz", timeout=READYZ_TIMEOUT_SECONDS,
                                    context=context) as answer:
            return None if answer.status == 200 else f"/readyz answered {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"/readyz answered {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        return str(getattr(reason, "strerror", None) or reason)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return str(exc) or type(exc).__name__


def running_pid(pid_file: Path) -> int | None:
    """The pid `herd up` wrote, if that process is still alive."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def status_line(data_dir: Path) -> tuple[bool, str]:
    """Whether a plane is up in `data_dir`, and the one line saying so."""
    options = ServeOptions(data_dir, 0, "", None, "", 0)
    kubeconfig = options.management_kubeconfig
    pid = running_pid(options.pid_file)
    process = f" (pid {pid})" if pid is not None else ""
    if not kubeconfig.is_file():
        starting = f"; `herd up` is starting or stuck: see {options.log_file}" if pid is not None else ""
        return False, f"not up in {data_dir}: no {kubeconfig.name}{process}{starting}"
    try:
        endpoint = endpoint_of(kubeconfig)
    except ValueError as exc:
        return False, f"not up in {data_dir}: {exc}"
    problem = ready_problem(endpoint)
    if problem is not None:
        return False, f"not up in {data_dir}: {endpoint.server} does not answer /readyz ({problem}){process}"
    return True, f"up in {data_dir}: {endpoint.server}{process}"


def run(args: argparse.Namespace) -> int:
    up, line = status_line(args.data_dir.expanduser())
    print(line, flush=True)
    return 0 if up else 1
