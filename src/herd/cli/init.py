"""`herd init --kubeconfig FILE`: install herd into an existing Kubernetes API server and run its manager there,
under a least-privilege identity of its own (controller_identity.py) unless told to keep the kubeconfig's."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import lightkube

from herd.apiserver.pki import CertificateAuthority, ensure_private_dir, write_file_atomic
from herd.runtime import ApiError, Client, Unreachable, setup_logging

from .controller_identity import ControllerCredentials, who_am_i
from .management import SetupError, run_management
from .serve import CLIError, install_uvloop, tune_garbage_collection
from .up import add_manager_arguments, manager_options


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("init", help="install the Cluster API CRDs into an existing API server and run "
                                 "the controllers against it",
                                 epilog="example: herd init --kubeconfig ~/.kube/config")
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig of the management cluster")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: the current one)")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".herd" / "init",
                        help="where the webhook server's CA and certificates are kept (default ~/.herd/init)")
    parser.add_argument("--controller-identity", choices=("service-account", "kubeconfig"),
                        default="service-account",
                        help="who the controllers run as: the ServiceAccount herd-system/herd-controller-manager "
                             "bound to their ClusterRole (default), or the --kubeconfig's own user")
    add_manager_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.kubeconfig.is_file():
        raise CLIError(f"--kubeconfig {args.kubeconfig}: no such file")
    options = manager_options(args)
    setup_logging(json_format=args.log_format == "json")
    install_uvloop()
    tune_garbage_collection()  # the controllers' caches hold every object they watch, as the store does
    asyncio.run(init(args.kubeconfig, args.context, args.data_dir.expanduser(), options,
                     own_identity=args.controller_identity == "service-account"))
    return 0


def webhook_ca(directory: Path) -> CertificateAuthority:
    """The CA that signs the webhook server's certificate: created once, then reused."""
    ensure_private_dir(directory)
    cert, key = directory / "webhook-ca.crt", directory / "webhook-ca.key"
    if cert.exists() and key.exists():
        return CertificateAuthority.load(cert, key)
    ca = CertificateAuthority.generate("herd-webhook-ca")
    write_file_atomic(key, ca.key_pem, mode=0o600)
    write_file_atomic(cert, ca.cert_pem, mode=0o644)
    return ca


async def init(kubeconfig: Path, context: str | None, data_dir: Path, options: Any, *,
               own_identity: bool = True) -> None:
    try:
        config = lightkube.KubeConfig.from_file(kubeconfig).get(context)
        if config is None:
            raise ValueError("it names no context to use")
        client = Client.from_config(config)
    except Exception as exc:  # lightkube raises several kinds for a bad kubeconfig; the user needs one line
        raise CLIError(f"cannot use --kubeconfig {kubeconfig}: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    credentials = ControllerCredentials(client, config, data_dir / "controller-manager.token")
    controllers: Client | None = None
    try:
        print(f"installing herd into {client.server}", flush=True)
        ca = webhook_ca(data_dir)
        if own_identity:
            controllers = await credentials.start()
        print(f"controllers run as {(await who_am_i(controllers or client)).describe()}", flush=True)
        await run_management(client, ca, data_dir, options, stop, controller_client=controllers)
    except SetupError as exc:
        raise CLIError(str(exc)) from None
    except Unreachable as exc:
        raise CLIError(f"cannot reach the API server at {client.server}: {exc}") from None
    except ApiError as exc:
        raise CLIError(f"installing into {client.server} failed: {exc}") from None
    finally:
        await credentials.stop()
        for each in (controllers, client):
            if each is not None:
                with contextlib.suppress(Exception):
                    await each.close()
