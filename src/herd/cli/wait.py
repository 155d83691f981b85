"""`herd wait cluster NAME --for available|deleted`: block until the Cluster is Available (or gone), showing what it
still waits for (the Available condition's reason and message, or the Deleting one's), so a script can go on at the
right moment and a person sees why it has not yet."""

from __future__ import annotations

import argparse
from typing import Any

from herd.api.cluster import CLUSTER
from herd.api.cluster import cluster as api
from herd.runtime import Client, Object

from .get import add_management_argument, on_management
from .progress import (
    Display,
    State,
    add_timeout_argument,
    condition,
    describe_condition,
    follow,
    format_duration,
    get_or_none,
)
from .serve import CLIError

AVAILABLE, DELETED = "available", "deleted"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("wait", help="wait until a Cluster is available or deleted",
                                 epilog="example: herd wait cluster ha --for available --timeout 10m")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    cluster = kinds.add_parser("cluster", help="wait until the Cluster is Available, or gone",
                               epilog="example: herd wait cluster fleet --for available --timeout 5m")
    cluster.add_argument("name", metavar="NAME", help="the Cluster's name")
    cluster.add_argument("--for", dest="wait_for", choices=(AVAILABLE, DELETED), required=True,
                         help="available: its Available condition is True; deleted: it no longer exists")
    cluster.add_argument("-n", "--namespace", help="the Cluster's namespace (default: the kubeconfig context's)")
    add_timeout_argument(cluster)
    add_management_argument(cluster)
    cluster.set_defaults(run=run_wait_cluster)


def run_wait_cluster(args: argparse.Namespace) -> int:
    async def waiting(client: Client, default: str) -> int:
        namespace = args.namespace or default
        look = look_available if args.wait_for == AVAILABLE else look_deleted
        with Display() as display:
            state = await follow(lambda: look(client, args.name, namespace), args.timeout, display)
        if not state.done:
            raise CLIError(f"timed out after {format_duration(args.timeout)} waiting for cluster {args.name} to be "
                           f"{args.wait_for}: {state.blocker or state.line}")
        return 0
    return on_management(args.kubeconfig, waiting)


async def get_cluster(client: Client, name: str, namespace: str) -> Object | None:
    """The Cluster, or None once it is gone."""
    return await get_or_none(client, CLUSTER, name, namespace)


def availability(cluster: Object) -> State:
    """Done once Available is True; else the condition's reason and message say what is missing."""
    name = cluster["metadata"]["name"]
    found = condition(cluster, api.AVAILABLE)
    if found is not None and found.get("status") == "True":
        return State(True, f"cluster {name} is available")
    if cluster["metadata"].get("deletionTimestamp"):
        blocker = f"it is being deleted: {describe_condition(cluster, api.DELETING)}"
        return State(False, f"cluster {name} is being deleted: {describe_condition(cluster, api.DELETING)}", blocker)
    blocker = describe_condition(cluster, api.AVAILABLE)
    return State(False, f"cluster {name} not available: {blocker}", blocker)


def deletion(cluster: Object | None, name: str) -> State:
    """Done once the Cluster is gone; else the Deleting condition says what it waits for."""
    if cluster is None:
        return State(True, f"cluster {name} is deleted")
    if not cluster["metadata"].get("deletionTimestamp"):
        return State(False, f"cluster {name} is not being deleted (delete it with `herd delete cluster {name}`)",
                     "it is not being deleted")
    blocker = describe_condition(cluster, api.DELETING)
    return State(False, f"cluster {name} deleting: {blocker}", blocker)


async def look_available(client: Client, name: str, namespace: str) -> State:
    cluster = await get_cluster(client, name, namespace)
    if cluster is None:
        raise CLIError(f"cluster {name} not found in namespace {namespace}")
    return availability(cluster)


async def look_deleted(client: Client, name: str, namespace: str) -> State:
    return deletion(await get_cluster(client, name, namespace), name)
