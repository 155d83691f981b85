"""`herd init --kubeconfig FILE`: install herd into an existing Kubernetes API server and run its manager."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from herd.apiserver.pki import CertificateAuthority, ensure_private_dir, write_file_atomic
from herd.runtime import Client, Unreachable, setup_logging

from .management import SetupError, run_management
from .serve import CLIError, install_uvloop
from .up import add_manager_arguments, manager_options


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("init", help="install the Cluster API CRDs into an existing API server and run "
                                 "the controllers against it",
                                 epilog="example: herd init --kubeconfig ~/.kube/config")
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig of the management cluster")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: the current one)")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".herd" / "init",
                        help="where the webhook server's CA and certificates are kept (default ~/.herd/init)")
    add_manager_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.kubeconfig.is_file():
        raise CLIError(f"--kubeconfig {args.kubeconfig}: no such file")
    options = manager_options(args)
    setup_logging(json_format=args.log_format == "json")
    install_uvloop()
    asyncio.run(init(args.kubeconfig, args.context, args.data_dir.expanduser(), options))
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


async def init(kubeconfig: Path, context: str | None, data_dir: Path, options: Any) -> None:
    try:
        client = Client.from_kubeconfig(kubeconfig, context=context)
    except Exception as exc:  # lightkube raises several kinds for a bad kubeconfig; the user needs one line
        raise CLIError(f"cannot use --kubeconfig {kubeconfig}: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"installing herd into {client.server}", flush=True)
        await run_management(client, webhook_ca(data_dir), data_dir, options, stop)
    except SetupError as exc:
        raise CLIError(str(exc)) from None
    except Unreachable as exc:
        raise CLIError(f"cannot reach the API server at {client.server}: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            await client.close()
