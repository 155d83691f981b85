"""`herd delete cluster NAME [--wait]`: delete a Cluster — a plain delete, as the Cluster's finalizer makes its
controller take the workers, the control plane and the infrastructure down first — and, with --wait, follow what is
left of it (Machines, MachineDeployments, MachineSets, control plane, infrastructure) and what the deletion waits
for (the Deleting condition) until the Cluster is gone."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass
from typing import Any

from herd.api.cluster import CLUSTER, MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster import cluster as api
from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL
from herd.contract.references import ContractResolver
from herd.runtime import Client, Kind, NotFound, Object

from .get import add_management_argument, on_management
from .progress import (
    Display,
    State,
    add_timeout_argument,
    condition,
    describe_condition,
    follow,
    format_duration,
    plural,
)
from .serve import CLIError
from .wait import get_cluster


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("delete", help="delete a Cluster (and, with --wait, follow it down)",
                                 epilog="example: herd delete cluster ha --wait --timeout 5m")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    cluster = kinds.add_parser("cluster", help="delete a Cluster: its workers, control plane and infrastructure go "
                               "first", epilog="example: herd delete cluster fleet --wait --timeout 5m")
    cluster.add_argument("name", metavar="NAME", help="the Cluster's name")
    cluster.add_argument("-n", "--namespace", help="the Cluster's namespace (default: the kubeconfig context's)")
    cluster.add_argument("--wait", action="store_true", help="follow the deletion until the Cluster is gone")
    add_timeout_argument(cluster)
    add_management_argument(cluster)
    cluster.set_defaults(run=run_delete_cluster)


@dataclass(frozen=True)
class Leftovers:
    """What still exists of a Cluster being deleted."""

    machines: int = 0
    control_plane_machines: int = 0
    machine_deployments: int = 0
    machine_sets: int = 0
    control_plane: str = ""  # "Kind name" of the control plane object while it exists
    infrastructure: str = ""  # "Kind name" of the infrastructure cluster while it exists

    def summary(self) -> str:
        parts = []
        if self.machines:
            parts.append(plural(self.machines, "Machine") + (f" ({self.control_plane_machines} control plane)"
                                                             if self.control_plane_machines else ""))
        if self.machine_deployments:
            parts.append(plural(self.machine_deployments, "MachineDeployment"))
        if self.machine_sets:
            parts.append(plural(self.machine_sets, "MachineSet"))
        parts += [part for part in (self.control_plane, self.infrastructure) if part]
        return ", ".join(parts) or "nothing but the Cluster"


def deletion_state(name: str, cluster: Object | None, left: Leftovers) -> State:
    if cluster is None:
        return State(True, f"cluster {name} is deleted")
    return State(False, f"cluster {name} deleting; left: {left.summary()}; {deletion_blocker(cluster)}")


def deletion_blocker(cluster: Object) -> str:
    """The Deleting condition's reason and message, once the Cluster's controller has seen the deletion."""
    found = condition(cluster, api.DELETING)
    if found is None or found.get("status") != "True":
        return "waiting for the Cluster's controller to start the deletion"
    return describe_condition(cluster, api.DELETING)


def run_delete_cluster(args: argparse.Namespace) -> int:
    async def deleting(client: Client, default: str) -> int:
        namespace = args.namespace or default
        if await get_cluster(client, args.name, namespace) is None:
            raise CLIError(f"cluster {args.name} not found in namespace {namespace}")
        with contextlib.suppress(NotFound):  # gone between the two requests: what the user asked for
            await client.delete(CLUSTER, args.name, namespace)
        print(f"cluster {args.name} marked for deletion", flush=True)
        if not args.wait:
            return 0
        survey = Survey(client, args.name, namespace)
        with Display() as display:
            state = await follow(survey.look, args.timeout, display)
        if not state.done:
            raise CLIError(f"timed out after {format_duration(args.timeout)} deleting cluster {args.name}; still "
                           f"there: {survey.last.summary()}; {survey.blocker}")
        return 0
    return on_management(args.kubeconfig, deleting)


class Survey:
    """Looks at what is left of one Cluster (its kinds resolved once)."""

    def __init__(self, client: Client, name: str, namespace: str) -> None:
        self.client, self.name, self.namespace = client, name, namespace
        self.resolver = ContractResolver(client)
        self.last = Leftovers()
        self.blocker = ""

    async def look(self) -> State:
        cluster = await get_cluster(self.client, self.name, self.namespace)
        if cluster is not None:
            self.last = await self.leftovers(cluster)
            self.blocker = deletion_blocker(cluster)
        return deletion_state(self.name, cluster, self.last)

    async def leftovers(self, cluster: Object) -> Leftovers:
        machines = await self.of_cluster(MACHINE)
        spec = cluster.get("spec") or {}
        return Leftovers(
            machines=len(machines),
            control_plane_machines=sum(MACHINE_CONTROL_PLANE_LABEL in (m["metadata"].get("labels") or {})
                                       for m in machines),
            machine_deployments=len(await self.of_cluster(MACHINE_DEPLOYMENT)),
            machine_sets=len(await self.of_cluster(MACHINE_SET)),
            control_plane=await self.referenced(spec.get("controlPlaneRef")),
            infrastructure=await self.referenced(spec.get("infrastructureRef")))

    async def of_cluster(self, kind: Kind) -> list[Object]:
        listed = await self.client.list(kind, namespace=self.namespace)
        return [obj for obj in listed.items if (obj.get("spec") or {}).get("clusterName") == self.name]

    async def referenced(self, ref: dict[str, Any] | None) -> str:
        """"Kind name" while the referenced object exists, else ""."""
        if not ref or not ref.get("name"):
            return ""
        try:
            kind = (await self.resolver.resolve(ref)).kind
            await self.client.get(kind, str(ref["name"]), self.namespace)
        except NotFound:
            return ""
        return f"{ref.get('kind')} {ref['name']}"
