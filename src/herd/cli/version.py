"""`herd version`: the installed package's version, the Kubernetes API version its API server reports and the
Cluster API contract it follows."""

from __future__ import annotations

import argparse
import importlib.metadata
from typing import Any

from herd.api.cluster import CLUSTER
from herd.apiserver.server import KUBERNETES_VERSION


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("version", help="print herd's version and the API versions it serves",
                                 epilog="example: herd version")
    parser.set_defaults(run=run)


def version_line() -> str:
    try:
        package = importlib.metadata.version("herd")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        package = "unknown"
    return (f"herd {package} (Kubernetes API {KUBERNETES_VERSION['gitVersion']}, "
            f"Cluster API contract {CLUSTER.version})")


def run(args: argparse.Namespace) -> int:
    print(version_line(), flush=True)
    return 0
