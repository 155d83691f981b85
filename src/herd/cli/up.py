"""`herd up`: the whole management plane from one command — API server (a child process of its own), CRDs,
webhooks, controllers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from herd.api.webhookutil import DEFAULT_GATES, FeatureGates
from herd.apiserver.pki import CertificateAuthority, ensure_server_pki, write_file_atomic
from herd.runtime import Client, setup_logging

from .apiserver_process import APIServerProcess
from .management import ManagerOptions, SetupError, run_management
from .serve import CLIError, ServeOptions, add_server_arguments, install_uvloop


def add_manager_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leader-elect", action="store_true",
                        help="elect one active manager through a coordination.k8s.io Lease")
    parser.add_argument("--health-port", type=int, default=0,
                        help="port of the manager's /healthz, /readyz and /metrics (default: a free port)")
    parser.add_argument("--webhook-port", type=int, default=0,
                        help="port of the admission webhook server (default: a free port)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="log format")
    parser.add_argument("--feature-gates", default="", metavar="GATE=BOOL[,…]",
                        help="Cluster API feature gates, e.g. ClusterTopology=true (CLUSTER_TOPOLOGY=true in the "
                             "environment turns that one on too, as with clusterctl)")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("up", help="run the embedded management plane: API server, CRDs and controllers")
    add_server_arguments(parser)
    add_manager_arguments(parser)
    parser.set_defaults(run=run)


def manager_options(args: argparse.Namespace) -> ManagerOptions:
    for flag in ("health_port", "webhook_port"):
        if not 0 <= getattr(args, flag) <= 65535:
            raise CLIError(f"--{flag.replace('_', '-')} must be between 0 and 65535")
    try:
        gates = parse_feature_gates(args.feature_gates, os.environ)
    except ValueError as exc:
        raise CLIError(f"--feature-gates: {exc}") from None
    return ManagerOptions(leader_elect=args.leader_elect, health_port=args.health_port,
                          webhook_port=args.webhook_port, gates=gates)


GATE_FIELDS = {"ClusterTopology": "cluster_topology",
               "KubeadmBootstrapFormatIgnition": "kubeadm_bootstrap_format_ignition",
               "MachineSetPreflightChecks": "machine_set_preflight_checks",
               "MachineTaintPropagation": "machine_taint_propagation"}


def parse_feature_gates(text: str, environ: Mapping[str, str]) -> FeatureGates:
    """Upstream's `--feature-gates` syntax (`Name=true,Other=false`) over upstream's defaults; clusterctl's
    CLUSTER_TOPOLOGY=true environment variable turns ClusterTopology on."""
    values: dict[str, bool] = {}
    if environ.get("CLUSTER_TOPOLOGY", "").lower() == "true":
        values["cluster_topology"] = True
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        field = GATE_FIELDS.get(name.strip())
        if field is None:
            raise ValueError(f"unknown feature gate {name.strip()!r} (known: {', '.join(GATE_FIELDS)})")
        if value.strip().lower() not in ("true", "false"):
            raise ValueError(f"{name.strip()} needs =true or =false, not {value.strip()!r}")
        values[field] = value.strip().lower() == "true"
    return replace(DEFAULT_GATES, **values)


def run(args: argparse.Namespace) -> int:
    options = ServeOptions.from_args(args)
    setup_logging(json_format=args.log_format == "json")
    install_uvloop()
    asyncio.run(up(options, manager_options(args)))
    return 0


async def up(options: ServeOptions, manager: ManagerOptions) -> None:
    # The management kubeconfig exists only while the plane serves the Cluster API kinds and their webhooks, so a
    # script that waits for the file can apply a Cluster at once: it is published once they are, and removed at
    # start (a stale one) and at stop. The API server child writes the kubeconfig this process uses next to the keys.
    published = options.management_kubeconfig
    with contextlib.suppress(FileNotFoundError):
        published.unlink()
    server = await APIServerProcess.start(replace(options, kubeconfig=options.data_dir / "pki" / "up.kubeconfig"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = None
    server_exit = asyncio.ensure_future(server.wait())
    server_exit.add_done_callback(lambda _: stop.set())  # without its API server the manager has nothing to do
    try:
        print(f"herd API server listening on {server.url} (port {server.port})", flush=True)
        pki = ensure_server_pki(options.data_dir, [])
        ca = CertificateAuthority.load(pki.ca_cert, pki.ca_key)
        client = Client.from_kubeconfig(server.kubeconfig)
        ready = asyncio.Event()
        management = asyncio.ensure_future(
            run_management(client, ca, options.data_dir / "pki", manager, stop, ready))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({management, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if ready.is_set():
            write_file_atomic(published, server.kubeconfig.read_bytes(), mode=0o600)
            print(f"export KUBECONFIG={published}", flush=True)
        await management
        if server_exit.done():
            raise CLIError(f"the API server exited unexpectedly (code {server_exit.result()})")
    except SetupError as exc:
        raise CLIError(str(exc)) from None
    finally:
        print("herd stopping", file=sys.stderr, flush=True)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        with contextlib.suppress(FileNotFoundError):
            published.unlink()
        await server.stop()
        server_exit.cancel()
