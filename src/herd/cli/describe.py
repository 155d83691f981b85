"""`herd describe cluster NAME`: clusterctl's at-a-glance tree of a Cluster and its objects (v1beta2 conditions).

The objects are read from the management plane here; `tree` builds the tree and `treeview` lays it out. Colours
(green, red, yellow by condition status) only when stdout is a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.objects import nested
from herd.contract.references import ContractResolver
from herd.runtime import Client, Kind, NotFound, Object

from .get import add_management_argument, on_management, write_stdout
from .serve import CLIError
from .tree import ClusterObjects, DescribeOptions, build_tree
from .treeview import aligned_lines, render_text, table_rows, tree_json

STYLES = {"gray": "bright_black", "green": "green", "red": "red", "yellow": "yellow", "cyan": "cyan",
          "bold": "bold", "bold white": "bold white"}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("describe", help="describe a workload cluster's objects and their state",
                                 epilog="example: herd describe cluster ha")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    cluster = kinds.add_parser(
        "cluster", help="the Cluster as a tree: its infrastructure, control plane, workers and Machines with their "
        "replica counts and conditions", epilog="example: herd describe cluster ha --show-conditions all")
    cluster.add_argument("name", metavar="NAME", help="the Cluster's name")
    cluster.add_argument("-n", "--namespace", help="the Cluster's namespace (default: the kubeconfig context's)")
    cluster.add_argument("--show-conditions", default="", metavar="all|KIND[,KIND/NAME]",
                         help="list every condition of these objects (a '+' suffix: only those not in their "
                         "normal state)")
    cluster.add_argument("--grouping", type=parse_bool, nargs="?", const=True, default=True, metavar="true|false",
                         help="fold alike healthy Machines into one 'N Machines...' row (default: true)")
    cluster.add_argument("--echo", action="store_true", help="show each Machine's infrastructure machine and "
                         "bootstrap config even when they only echo the Machine's state")
    cluster.add_argument("--show-machinesets", action="store_true",
                         help="show each MachineDeployment's MachineSets, with their Machines beneath them")
    cluster.add_argument("-c", "--color", type=parse_bool, nargs="?", const=True, metavar="true|false",
                         help="colours on or off (default: on when stdout is a terminal); $NO_COLOR turns them off")
    cluster.add_argument("-o", "--output", choices=("text", "json"), default="text",
                         help="output format (json: the same tree, every object's conditions included)")
    add_management_argument(cluster)
    cluster.set_defaults(run=run_cluster)


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"needs true or false, not {text!r}")
    return lowered == "true"


def run_cluster(args: argparse.Namespace) -> int:
    if any(entry != entry.strip() for entry in args.show_conditions.split(",")):
        raise CLIError(f"--show-conditions {args.show_conditions!r}: whitespace is not allowed")
    options = DescribeOptions(show_conditions=args.show_conditions, grouping=args.grouping, echo=args.echo,
                              show_machine_sets=args.show_machinesets)
    objects = on_management(args.kubeconfig, lambda client, default: read_cluster_objects(
        client, args.name, args.namespace or default))
    root, now = build_tree(objects, options), datetime.now(UTC)
    if args.output == "json":
        write_stdout((json.dumps(tree_json(root, now), indent=2) + "\n").encode())
    elif args.color if args.color is not None else sys.stdout.isatty():
        print_coloured(table_rows(root, now), forced=args.color is True)
    else:
        write_stdout(render_text(root, now).encode())
    return 0


def print_coloured(rows: list[list[list[tuple[str, str]]]], *, forced: bool) -> None:
    from rich.console import Console  # only colours need it
    from rich.text import Text

    # --color=true colours a pipe too; $NO_COLOR still wins, as with clusterctl (rich reads it)
    console = Console(highlight=False, soft_wrap=True, force_terminal=forced or None)
    for line in aligned_lines(rows):
        console.print(Text.assemble(*((text, STYLES.get(style, "")) for text, style in line)))


async def read_cluster_objects(client: Client, name: str, namespace: str) -> ClusterObjects:
    """The Cluster, the objects its references name, and its MachineDeployments, MachineSets and Machines with each
    Machine's infrastructure machine and bootstrap config."""
    try:
        cluster = await client.get(CLUSTER, name, namespace)
    except NotFound as exc:
        if (exc.status.get("details") or {}).get("name") == name:  # else the kind itself is unknown to the server
            raise CLIError(f"cluster {name} not found in namespace {namespace}") from None
        raise CLIError(f"the management plane at {client.server} does not serve Cluster API clusters; is it a "
                       "herd plane (`herd up`)?") from None
    resolver = ContractResolver(client)
    selector = f"{CLUSTER_NAME_LABEL}={name}"

    async def listed(kind: Kind) -> list[Object]:
        return (await client.list(kind, namespace=namespace, label_selector=selector)).items

    async def referenced(ref: Any) -> Object | None:
        if not isinstance(ref, dict) or not ref.get("name"):
            return None
        try:
            kind = (await resolver.resolve(ref)).kind
            return await client.get(kind, str(ref["name"]), namespace)
        except NotFound:  # not created yet, or no CRD serves its kind: the tree goes without it
            return None

    infrastructure, control_plane, machines, machine_sets, deployments = await asyncio.gather(
        referenced(nested(cluster, "spec", "infrastructureRef")),
        referenced(nested(cluster, "spec", "controlPlaneRef")),
        listed(MACHINE), listed(MACHINE_SET), listed(MACHINE_DEPLOYMENT))
    infra_machines = await asyncio.gather(*(referenced(nested(m, "spec", "infrastructureRef")) for m in machines))
    configs = await asyncio.gather(*(referenced(nested(m, "spec", "bootstrap", "configRef")) for m in machines))
    names = [str(m["metadata"]["name"]) for m in machines]
    return ClusterObjects(
        cluster=cluster, infrastructure=infrastructure, control_plane=control_plane, machines=machines,
        machine_sets=machine_sets, machine_deployments=deployments,
        machine_infrastructure={n: o for n, o in zip(names, infra_machines, strict=True) if o is not None},
        bootstrap_configs={n: o for n, o in zip(names, configs, strict=True) if o is not None})
