"""`herd serve`: the embedded management plane's API server, on its own."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from herd.apiserver.auth import Authenticator, TokenFile
from herd.apiserver.authz.authorizer import MODES
from herd.apiserver.clientcerts import request_client_certificates
from herd.apiserver.connections import raise_open_file_limit
from herd.apiserver.controllers.event_ttl import DEFAULT_EVENT_TTL, EventExpiry
from herd.apiserver.kubeconfig import build_kubeconfig, write_kubeconfig
from herd.apiserver.pki import ensure_server_pki, server_ssl_context
from herd.apiserver.server import APIServer
from herd.apiserver.storage.memory import MemoryBackend
from herd.apiserver.storage.sqlite import SqliteBackend
from herd.apiserver.storage.store import Store
from herd.runtime.logsetup import setup_logging

log = logging.getLogger("herd")


class CLIError(Exception):
    """A problem the user can fix; printed as one line."""


@dataclass
class ServeOptions:
    data_dir: Path
    port: int
    bind: str
    token_auth_file: Path | None
    storage: str
    compaction_window: int
    kubeconfig: Path | None = None  # where the admin kubeconfig is written (default <data-dir>/management.kubeconfig)
    event_ttl: float = DEFAULT_EVENT_TTL  # seconds an Event is kept after its last write
    authorization_mode: str = "RBAC"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeOptions:
        return cls(args.data_dir.expanduser(), args.port, args.bind, args.token_auth_file, args.storage,
                   args.compaction_window, getattr(args, "kubeconfig", None),
                   getattr(args, "event_ttl", DEFAULT_EVENT_TTL), getattr(args, "authorization_mode", "RBAC"))

    @property
    def management_kubeconfig(self) -> Path:
        """The kubeconfig users are told to export."""
        return self.data_dir / "management.kubeconfig"

    @property
    def log_file(self) -> Path:
        """`herd up`'s log (its children's too), rotated."""
        return self.data_dir / "logs" / "herd.log"

    @property
    def pid_file(self) -> Path:
        """The process id of the `herd up` serving this data dir, while it runs."""
        return self.data_dir / "herd.pid"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The API server's flags, shared by `herd serve` and `herd up`."""
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".herd",
                        help="where state, certificates and the kubeconfig live (default ~/.herd)")
    parser.add_argument("--port", type=int, default=6443, help="HTTPS port; 0 picks a free one (default 6443)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--token-auth-file", type=Path, default=None,
                        help="CSV file of bearer tokens: token,user,uid,\"group1,group2\"")
    parser.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite",
                        help="storage backend (default sqlite)")
    parser.add_argument("--compaction-window", type=int, default=10_000,
                        help="revisions kept for watch resumption (default 10000)")
    parser.add_argument("--event-ttl", type=float, default=DEFAULT_EVENT_TTL,
                        help="seconds an Event is kept after it was last written (default 3600)")
    parser.add_argument("--authorization-mode", choices=MODES, default="RBAC",
                        help="RBAC (default: rbac.authorization.k8s.io roles and bindings decide; system:masters may "
                             "do anything) or AlwaysAllow (every authenticated user may do everything)")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the management plane's API server",
                                 epilog="example: herd serve --data-dir ~/.herd --port 6443")
    add_serve_arguments(parser)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    # `herd up` has its API server child write its kubeconfig elsewhere, and publishes the management
    # kubeconfig itself once the Cluster API kinds are served
    parser.add_argument("--kubeconfig", type=Path, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """`python -m herd.cli.serve`: `herd serve` as `herd up` starts its API server child, importing only what
    serving needs rather than every command (it starts about a second sooner)."""
    parser = argparse.ArgumentParser(prog="herd serve")
    add_serve_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:
        return 130
    except CLIError as exc:
        print(f"herd: {exc}", file=sys.stderr)
        return 1


def install_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is an optional speed-up
        pass


# Collections of the youngest generation every 10,000 allocations rather than CPython's 700. A request allocates
# hundreds of short-lived containers, so the default collects every few requests and, as the store grows, sweeps
# every stored object often: measured at ~63 µs of CPU per create of a 1 KiB custom resource (a fifth of the
# server's), ~13 µs with this threshold and the loaded state frozen (bench/apiserver_gc.py). Cyclic garbage
# waits a little longer; the store's own objects hold no cycles.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_garbage_collection() -> None:
    """Collect less often than CPython's default (see GC_THRESHOLDS)."""
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_loaded_state() -> None:
    """Move everything alive now (modules, the loaded store) out of the collector's sweeps for good: none of
    it is ever garbage, yet every full collection would walk all of it."""
    gc.collect()
    gc.freeze()


def run(args: argparse.Namespace) -> int:
    options = ServeOptions.from_args(args)
    setup_logging()  # to stderr; as `herd up`'s child, where `herd up` says (herd.runtime.logsetup.LogTarget)
    install_uvloop()
    tune_garbage_collection()
    raise_open_file_limit()  # every client connection is a descriptor; the soft limit is often 1024
    asyncio.run(serve(options))
    return 0


def check_numbers(options: ServeOptions) -> None:
    """CLIError for a port or compaction window out of range (checked before anything is written)."""
    if not 0 <= options.port <= 65535:
        raise CLIError(f"--port must be between 0 and 65535, got {options.port}")
    if options.compaction_window < 1:
        raise CLIError(f"--compaction-window must be at least 1, got {options.compaction_window}")
    if not options.event_ttl > 0:
        raise CLIError(f"--event-ttl must be positive, got {options.event_ttl}")


def build_server(options: ServeOptions) -> tuple[APIServer, Path]:
    """An API server for the data dir (PKI created on first use) and the kubeconfig path it writes."""
    check_numbers(options)
    token_file = None  # checked before anything is written to the data dir
    if options.token_auth_file is not None:
        try:
            token_file = TokenFile.load(options.token_auth_file)
        except OSError as exc:
            raise CLIError(f"cannot read --token-auth-file {options.token_auth_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise CLIError(f"invalid --token-auth-file: {exc}") from None
    try:
        options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if options.data_dir.stat().st_mode & 0o077:  # it holds keys and every object: owner only
            log.warning("data dir %s was accessible to other users; restricting it to its owner", options.data_dir)
            options.data_dir.chmod(0o700)
    except OSError as exc:
        raise CLIError(f"cannot use data dir {options.data_dir}: {exc.strerror}") from None
    hosts = ["localhost", "127.0.0.1"]
    if options.bind not in hosts and options.bind not in ("0.0.0.0", "::"):
        hosts.append(options.bind)
    pki = ensure_server_pki(options.data_dir, hosts)
    backend = (SqliteBackend(options.data_dir / "state.db") if options.storage == "sqlite"
               else MemoryBackend())
    store = Store(backend, window=options.compaction_window)
    context = server_ssl_context(pki)
    client_certificates = request_client_certificates(context, [pki.ca_cert.read_bytes()])
    server = APIServer(store, ssl_context=context,
                       authenticator=Authenticator(token_file, client_certificates=client_certificates),
                       host=options.bind, port=options.port, authorization_mode=options.authorization_mode)
    server.background.append(EventExpiry(store, options.event_ttl).run)
    return server, options.kubeconfig or options.management_kubeconfig


def write_admin_kubeconfig(server: APIServer, path: Path, data_dir: Path) -> None:
    pki = ensure_server_pki(data_dir, [])
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
    url = f"https://{f'[{host}]' if ':' in host else host}:{server.port}"
    config = build_kubeconfig(server=url, ca_pem=pki.ca_cert.read_bytes(), cluster_name="herd",
                              user_name="admin", client_cert_pem=pki.admin_cert.read_bytes(),
                              client_key_pem=pki.admin_key.read_bytes())
    write_kubeconfig(path, config)


async def serve(options: ServeOptions) -> None:
    server, kubeconfig = build_server(options)
    try:
        port = await server.start()
    except OSError as exc:
        await server.store.close()
        raise CLIError(f"cannot listen on {options.bind}:{options.port}: {exc.strerror}; stop what uses it "
                       "(`herd status` tells whether it is herd) or choose another --port (0 picks a free one)"
                       ) from None
    write_admin_kubeconfig(server, kubeconfig, options.data_dir)
    freeze_loaded_state()
    print(f"herd API server listening on {server.url} (port {port})", flush=True)
    print(f"export KUBECONFIG={kubeconfig}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("herd API server stopping")
    await server.stop()


if __name__ == "__main__":
    sys.exit(main())
