"""`herd get kubeconfig NAME` and `herd get clusters`: what a user reads from the management plane most often —
a workload cluster's admin kubeconfig, and every Cluster with its phase and machine counts."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import lightkube
import yaml
from lightkube.config.kubeconfig import SingleConfig

from herd.api.cluster import CLUSTER
from herd.apiserver.pki import write_file_atomic
from herd.runtime import SECRET, ApiError, Client, NotFound, Object, Unreachable

from .serve import CLIError

DEFAULT_MANAGEMENT_KUBECONFIG = Path("~/.herd/management.kubeconfig")
REQUEST_TIMEOUT_SECONDS = 10.0  # a plane that is up answers at once; a user should not wait 30 s to learn it is down
T = TypeVar("T")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("get", help="print a workload cluster's kubeconfig, or list the clusters",
                                 epilog="example: herd get kubeconfig ha -o ha.kubeconfig")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    kubeconfig = kinds.add_parser("kubeconfig", help="print a workload cluster's admin kubeconfig",
                                  epilog="example: herd get kubeconfig fleet -o fleet.kubeconfig")
    kubeconfig.add_argument("name", metavar="NAME", help="the Cluster's name")
    kubeconfig.add_argument("-n", "--namespace", help="the Cluster's namespace (default: the kubeconfig context's)")
    kubeconfig.add_argument("-o", "--output", type=Path, metavar="FILE",
                            help="write the kubeconfig to FILE (mode 0600) instead of stdout")
    add_management_argument(kubeconfig)
    kubeconfig.set_defaults(run=run_kubeconfig)
    clusters = kinds.add_parser("clusters", help="list the Clusters", epilog="example: herd get clusters -A")
    scope = clusters.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="list this namespace (default: the kubeconfig context's)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="list every namespace")
    add_management_argument(clusters)
    clusters.set_defaults(run=run_clusters)


def add_management_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", type=Path, metavar="MGMT", help="kubeconfig of the management plane "
                        f"(default: $KUBECONFIG, else {DEFAULT_MANAGEMENT_KUBECONFIG})")


def management_kubeconfig(given: Path | None) -> Path:
    """--kubeconfig, else the first file $KUBECONFIG lists, else the one `herd up` writes by default."""
    listed = [Path(entry) for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
    found = next((path for path in listed if path.is_file()), listed[0] if listed else DEFAULT_MANAGEMENT_KUBECONFIG)
    return (given or found).expanduser()


def load_management(given: Path | None) -> tuple[Path, SingleConfig]:
    path = management_kubeconfig(given)
    if not path.is_file():
        raise CLIError(f"no management kubeconfig at {path}: start the plane with `herd up`, or name its "
                       "kubeconfig with --kubeconfig or $KUBECONFIG")
    try:
        config = lightkube.KubeConfig.from_file(path).get()
        if config is None:
            raise ValueError("it has no current context")
    except yaml.YAMLError:  # the parser's message quotes the offending line, which may hold a credential
        raise CLIError(f"the management kubeconfig {path} is not valid YAML") from None
    except Exception as exc:  # lightkube raises several kinds for a malformed kubeconfig; the user needs one line
        raise CLIError(f"cannot use the management kubeconfig {path}: {exc}") from None
    return path, config


def on_management(given: Path | None, work: Callable[[Client, str], Awaitable[T]]) -> T:
    """Run `work(client, default namespace)` against the management plane, its failures as one-line CLIErrors."""
    path, config = load_management(given)

    async def session() -> T:
        client = Client.from_config(config, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            return await work(client, config.namespace)
        except Unreachable as exc:
            raise CLIError(f"cannot reach the management plane at {client.server} (kubeconfig {path}): "
                           f"{unreachable_reason(exc)}; is `herd up` running? Otherwise pass --kubeconfig") from None
        except ApiError as exc:
            raise CLIError(f"the management plane at {client.server} answered {exc}") from None
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    return asyncio.run(session())


def unreachable_reason(exc: Unreachable) -> str:
    """What failed (e.g. "Connect call failed"), without the HTTP library's repr of its TLS context."""
    cause = exc.__cause__
    if isinstance(cause, TimeoutError):
        return f"no answer within {REQUEST_TIMEOUT_SECONDS:g} s"
    return cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc)


def write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`), which is not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet


def run_kubeconfig(args: argparse.Namespace) -> int:
    data = on_management(args.kubeconfig, lambda client, default: read_kubeconfig(
        client, args.name, args.namespace or default))
    if args.output is None:
        write_stdout(data)
        return 0
    try:
        write_file_atomic(args.output, data, mode=0o600)
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


async def read_kubeconfig(client: Client, name: str, namespace: str) -> bytes:
    """The `value` key of Secret `<name>-kubeconfig`, once the Cluster is known to exist."""
    try:
        await client.get(CLUSTER, name, namespace)
    except NotFound as exc:
        if (exc.status.get("details") or {}).get("name") == name:  # else the kind itself is unknown to the server
            raise CLIError(f"cluster {name} not found in namespace {namespace}") from None
        raise CLIError(f"the management plane at {client.server} does not serve Cluster API clusters; is it a "
                       "herd plane (`herd up`)?") from None
    secret_name = f"{name}-kubeconfig"
    try:
        secret = await client.get(SECRET, secret_name, namespace)
    except NotFound:
        raise CLIError(f"cluster {name} in namespace {namespace} has no kubeconfig yet (Secret {secret_name} not "
                       "found); it is written once the control plane is initialized") from None
    try:
        return base64.b64decode(secret["data"]["value"], validate=True)
    except (KeyError, TypeError, binascii.Error):  # the message must not quote the value: it is a credential
        raise CLIError(f"Secret {namespace}/{secret_name} holds no valid kubeconfig under its `value` key") from None


COLUMNS = ("NAMESPACE", "NAME", "PHASE", "CP", "WORKERS", "AGE")


def run_clusters(args: argparse.Namespace) -> int:
    async def listing(client: Client, default: str) -> tuple[list[Object], str | None]:
        namespace = None if args.all_namespaces else args.namespace or default
        return (await client.list(CLUSTER, namespace=namespace)).items, namespace
    clusters, namespace = on_management(args.kubeconfig, listing)
    if not clusters:
        print(f"No clusters found in {f'namespace {namespace}' if namespace else 'any namespace'}.", file=sys.stderr)
        return 0
    now, by_name = datetime.now(UTC), lambda c: (c["metadata"].get("namespace", ""), c["metadata"]["name"])
    rows = [cluster_row(cluster, now) for cluster in sorted(clusters, key=by_name)]
    columns = COLUMNS if args.all_namespaces else COLUMNS[1:]
    write_stdout(render_table([columns, *(row[-len(columns):] for row in rows)]).encode())
    return 0


def cluster_row(cluster: Object, now: datetime) -> tuple[str, ...]:
    metadata, status = cluster["metadata"], cluster.get("status") or {}
    created = metadata.get("creationTimestamp")
    age = human_age((now - datetime.fromisoformat(created)).total_seconds()) if created else "-"
    return (metadata.get("namespace", ""), metadata["name"], status.get("phase") or "-",
            replica_counts(status.get("controlPlane")), replica_counts(status.get("workers")), age)


def replica_counts(summary: dict[str, Any] | None) -> str:
    """available/desired; "-" until the Cluster reports the group at all."""
    return f"{summary.get('availableReplicas', 0)}/{summary.get('desiredReplicas', 0)}" if summary else "-"


def render_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
                   for row in rows)


# kubectl's steps: below each limit, the age in that unit (and the next smaller unit, where one is named)
AGE_STEPS = ((120, 1, "s", 0, ""), (600, 60, "m", 1, "s"), (3 * 3600, 60, "m", 0, ""), (8 * 3600, 3600, "h", 60, "m"),
             (48 * 3600, 3600, "h", 0, ""), (8 * 86400, 86400, "d", 3600, "h"), (730 * 86400, 86400, "d", 0, ""),
             (2920 * 86400, 365 * 86400, "y", 86400, "d"))


def human_age(seconds: float) -> str:
    """An age as kubectl prints one: precise while young, coarser with time (95s, 3m20s, 45m, 3h20m, 30h, 3d5h)."""
    s = max(int(seconds), 0)
    for limit, unit, name, smaller, smaller_name in AGE_STEPS:
        if s < limit:
            rest = s % unit // smaller if smaller else 0
            return f"{s // unit}{name}{rest}{smaller_name}" if rest else f"{s // unit}{name}"
    return f"{s // (365 * 86400)}y"
