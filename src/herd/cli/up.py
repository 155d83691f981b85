"""`herd up`: the whole management plane from one command — API server (a child process of its own), CRDs,
webhooks, controllers.

It talks like a tool: one line on stdout per step as it begins, then `ready: export KUBECONFIG=…`; its log (and
its children's) goes to <data-dir>/logs/herd.log, and to stderr as well with -v (or as JSON lines with
--log-format json, to stderr only). An error is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from herd.api.webhookutil import DEFAULT_GATES, FeatureGates
from herd.apiserver.pki import CertificateAuthority, ensure_server_pki, write_file_atomic
from herd.providersdk import ProviderLoadError, providers_from
from herd.runtime import Client, setup_logging
from herd.runtime.logsetup import LogTarget

from .apiserver_process import APIServerProcess
from .management import ManagerOptions, SetupError, run_management
from .manager_rbac import controller_client
from .serve import (
    CLIError,
    ServeOptions,
    add_server_arguments,
    check_numbers,
    install_uvloop,
    tune_garbage_collection,
)

log = logging.getLogger("herd.cli")
READY = "ready: export KUBECONFIG="  # what a script waits for (or for the file itself)


def add_manager_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leader-elect", action="store_true",
                        help="elect one active manager through a coordination.k8s.io Lease")
    parser.add_argument("--health-port", type=int, default=0,
                        help="port of the manager's /healthz, /readyz and /metrics (default: a free port)")
    parser.add_argument("--webhook-port", type=int, default=0,
                        help="port of the admission webhook server (default: a free port)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log format (herd up: text to <data-dir>/logs/herd.log, json lines to stderr)")
    parser.add_argument("--feature-gates", default="", metavar="GATE=BOOL[,…]",
                        help="Cluster API feature gates, e.g. ClusterTopology=true (CLUSTER_TOPOLOGY=true in the "
                             "environment turns that one on too, as with clusterctl)")
    parser.add_argument("--provider", action="append", default=[], metavar="MODULE:ATTR",
                        help="also run this infrastructure provider written on herd's provider SDK, e.g. "
                             "herd.providers.example:provider (repeatable; installed packages' `herd.providers` "
                             "entry points are always run)")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "up", help="run the embedded management plane: API server, CRDs and controllers",
        epilog="example: herd up --data-dir ~/.herd --port 6443   (its log: ~/.herd/logs/herd.log)")
    add_server_arguments(parser)
    add_manager_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="echo the log to stderr too (it always goes to <data-dir>/logs/herd.log)")
    parser.set_defaults(run=run)


def manager_options(args: argparse.Namespace) -> ManagerOptions:
    for flag in ("health_port", "webhook_port"):
        if not 0 <= getattr(args, flag) <= 65535:
            raise CLIError(f"--{flag.replace('_', '-')} must be between 0 and 65535")
    try:
        gates = parse_feature_gates(args.feature_gates, os.environ)
    except ValueError as exc:
        raise CLIError(f"--feature-gates: {exc}") from None
    try:
        providers = tuple(providers_from(args.provider))
    except ProviderLoadError as exc:
        raise CLIError(str(exc)) from None
    return ManagerOptions(leader_elect=args.leader_elect, health_port=args.health_port,
                          webhook_port=args.webhook_port, gates=gates, providers=providers)


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


def log_target(options: ServeOptions, json_format: bool, verbose: bool) -> LogTarget:
    """Text logs go to the data dir's log file (echoed with -v); JSON logs to stderr, as a log collector expects."""
    if json_format:
        return LogTarget(json_format=True)
    return LogTarget(file=options.log_file, echo=verbose)


def run(args: argparse.Namespace) -> int:
    options = ServeOptions.from_args(args)
    check_numbers(options)  # a mistyped flag leaves nothing behind, not even a log
    manager = manager_options(args)
    target = log_target(options, args.log_format == "json", args.verbose)
    try:
        options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        setup_logging(target=target)
    except OSError as exc:
        raise CLIError(f"cannot write the log in {options.data_dir}: {exc.strerror}; choose a data dir you own "
                       "with --data-dir") from None
    os.environ.update(target.environment())  # the API server and workload host children log there too
    install_uvloop()
    tune_garbage_collection()  # the controllers' caches hold every object they watch, as the store does
    try:
        asyncio.run(up(options, manager, target))
    except (CLIError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug: the traceback goes to the log, the user gets one line
        log.exception("herd up stopped on an unexpected error")
        raise CLIError(f"stopped on an unexpected error ({type(exc).__name__}: {exc}); the details are "
                       f"{where_logged(target)}") from None
    return 0


def where_logged(target: LogTarget) -> str:
    return f"in {target.file}" if target.file else "in the log above"


def say(step: str) -> None:
    """One line of what `herd up` is doing, for the user (stdout)."""
    print(step, flush=True)


async def up(options: ServeOptions, manager: ManagerOptions, target: LogTarget) -> None:
    # The management kubeconfig exists only while the plane serves the Cluster API kinds and their webhooks, so a
    # script that waits for the file can apply a Cluster at once: it is published once they are, and removed at
    # start (a stale one) and at stop. The API server child writes the kubeconfig this process uses next to the keys.
    published = options.management_kubeconfig
    with contextlib.suppress(FileNotFoundError):
        published.unlink()
    write_file_atomic(options.pid_file, f"{os.getpid()}\n".encode(), mode=0o644)
    log.info("herd up (pid %d) starting in %s", os.getpid(), options.data_dir)
    server = None
    try:
        server = await APIServerProcess.start(replace(options, kubeconfig=options.data_dir / "pki" / "up.kubeconfig"),
                                              echo=target.echo)
        say(f"API server listening on {server.url}")
        await manage(server, options, manager, target)
    except SetupError as exc:
        raise CLIError(str(exc)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            published.unlink()
        if server is not None:
            await server.stop()
        with contextlib.suppress(FileNotFoundError):
            options.pid_file.unlink()


async def manage(server: APIServerProcess, options: ServeOptions, manager: ManagerOptions, target: LogTarget) -> None:
    """Run the controllers against the API server until a signal or the server's exit; publish the kubeconfig
    once they are ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signalled = False

    def on_signal() -> None:
        nonlocal signalled
        if not signalled:
            say("stopping")
        signalled = True
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    server_exit = asyncio.ensure_future(server.wait())
    server_exit.add_done_callback(lambda _: stop.set())  # without its API server the manager has nothing to do
    pki = ensure_server_pki(options.data_dir, [])
    ca = CertificateAuthority.load(pki.ca_cert, pki.ca_key)
    client = Client.from_kubeconfig(server.kubeconfig)  # the admin's (system:masters): installs what the plane needs
    controllers: Client | None = None
    try:
        # the controllers run as their own user, bound to herd-manager-role only (not in system:masters)
        controllers = await controller_client(client, ca, server.kubeconfig, options.data_dir / "pki")
        ready = asyncio.Event()
        management = asyncio.ensure_future(
            run_management(client, ca, options.data_dir / "pki", manager, stop, ready, announce=say,
                           controller_client=controllers))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({management, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if ready.is_set():
            write_file_atomic(options.management_kubeconfig, server.kubeconfig.read_bytes(), mode=0o600)
            say(f"{READY}{options.management_kubeconfig}")
        await management
        if server_exit.done() and not signalled:  # stopping, the server may go first (a signal to each process)
            raise CLIError(f"the API server exited unexpectedly (code {server_exit.result()}); its last words are "
                           f"{where_logged(target)}")
    finally:
        server_exit.cancel()
        for each in (controllers, client):
            if each is not None:
                with contextlib.suppress(Exception):
                    await each.close()
