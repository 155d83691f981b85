"""`herd rollout restart|pause|resume|undo|status TYPE/NAME`: clusterctl's `alpha rollout` for MachineDeployments and
KubeadmControlPlanes — restart sets spec.rollout.after to now, pause/resume toggle a MachineDeployment's
spec.paused (a KubeadmControlPlane's cluster.x-k8s.io/paused annotation), undo puts a MachineDeployment's template
back to an earlier MachineSet's, status follows a rollout until every replica is up to date and available."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from herd.api.cluster import MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster.labels import PAUSED_ANNOTATION
from herd.api.objects import parse_time
from herd.runtime import Client, Conflict, Object

from .get import add_management_argument, on_management
from .progress import Display, State, add_timeout_argument, follow, format_duration, get_or_none
from .rollout_state import (
    Target,
    check_undo,
    machine_template,
    owned_machine_sets,
    parse_target,
    revision,
    rollout_progress,
    undo_source,
)
from .serve import CLIError

Action = Callable[[Client, Target, str, argparse.Namespace], Awaitable[str]]
UPDATE_ATTEMPTS = 5  # an undo replaces the template; a controller writing the object in between means try again
# the controller deletes a MachineDeployment's old MachineSets once a rollout finishes, so the history undo reads
# from only exists while a rollout is under way; the help says so before a user finds out from the error
UNDO_DESCRIPTION = ("Put a MachineDeployment's template back to an earlier revision's. Only a rollout still under "
                    "way (a stalled one, typically) has earlier revisions: once every replica is up to date and "
                    "available, the old MachineSets are deleted and there is nothing to go back to; edit "
                    "spec.template back instead.")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("rollout", help="restart, pause, resume, undo or follow the rollout of a "
                                 "MachineDeployment or KubeadmControlPlane",
                                 epilog="example: herd rollout restart kubeadmcontrolplane/ha-control-plane")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, run, help_text, example in (
            ("restart", restart, "replace every Machine (sets spec.rollout.after to now)", "md/fleet-md-0"),
            ("pause", pause, "stop the rollout of template changes", "md/fleet-md-0"),
            ("resume", resume, "let a paused rollout go on", "kcp/ha-control-plane"),
            ("undo", undo, "put a MachineDeployment's template back to an earlier revision's (only while a "
             "rollout is under way)", "md/fleet-md-0 --to-revision 1"),
            ("status", None, "follow the rollout until every replica is up to date and available",
             "kcp/ha-control-plane --timeout 5m")):
        action = actions.add_parser(name, help=help_text, epilog=f"example: herd rollout {name} {example}",
                                    description=UNDO_DESCRIPTION if name == "undo" else None)
        action.add_argument("target", metavar="TYPE/NAME", help="machinedeployment/NAME (md/NAME) or "
                            "kubeadmcontrolplane/NAME (kcp/NAME)")
        action.add_argument("-n", "--namespace", help="the object's namespace (default: the kubeconfig context's)")
        if name == "undo":
            action.add_argument("--to-revision", type=int, default=0, metavar="N",
                                help="the revision to go back to (default: the one before the current)")
        if name == "status":
            add_timeout_argument(action)
        add_management_argument(action)
        action.set_defaults(run=run_status if run is None else changing(run))


def changing(action: Action) -> Callable[[argparse.Namespace], int]:
    """The command running `action` on the parsed target and printing what it did."""
    def run(args: argparse.Namespace) -> int:
        target = parse_target(args.target)
        if args.action == "undo":
            check_undo(target, args.to_revision)
        done = on_management(args.kubeconfig, lambda client, default: action(
            client, target, args.namespace or default, args))
        print(f"{target.type_name} {done}")
        return 0
    return run


async def get_target(client: Client, target: Target, namespace: str) -> Object:
    found = await get_or_none(client, target.kind, target.name, namespace)
    if found is None:
        raise CLIError(f"{target.short} not found in namespace {namespace}")
    return found


def is_paused(target: Target, obj: Object) -> bool:
    if target.kind == MACHINE_DEPLOYMENT:
        return bool((obj.get("spec") or {}).get("paused"))
    return PAUSED_ANNOTATION in (obj["metadata"].get("annotations") or {})


def resume_hint(target: Target) -> str:
    return f"run `herd rollout resume {target.short}` first"


async def restart(client: Client, target: Target, namespace: str, args: argparse.Namespace) -> str:
    obj = await get_target(client, target, namespace)
    if is_paused(target, obj):
        raise CLIError(f"cannot restart the paused {target.short}: {resume_hint(target)}")
    now = datetime.now(UTC).replace(microsecond=0)
    after = parse_time(((obj.get("spec") or {}).get("rollout") or {}).get("after"))
    if after is not None and after > now:
        raise CLIError(f"{target.short} has spec.rollout.after in the future ({after.isoformat()}): remove it first")
    patch = {"spec": {"rollout": {"after": now.strftime("%Y-%m-%dT%H:%M:%SZ")}}}
    await client.patch(target.kind, target.name, patch, namespace=namespace)
    return "restarted"


async def pause(client: Client, target: Target, namespace: str, args: argparse.Namespace) -> str:
    return await set_paused(client, target, namespace, True)


async def resume(client: Client, target: Target, namespace: str, args: argparse.Namespace) -> str:
    return await set_paused(client, target, namespace, False)


async def set_paused(client: Client, target: Target, namespace: str, paused: bool) -> str:
    obj = await get_target(client, target, namespace)
    if is_paused(target, obj) == paused:
        raise CLIError(f"{target.short} is {'already' if paused else 'not'} paused")
    if target.kind == MACHINE_DEPLOYMENT:
        patch: dict[str, Any] = {"spec": {"paused": paused}}
    else:  # a merge patch's null removes the annotation
        patch = {"metadata": {"annotations": {PAUSED_ANNOTATION: "true" if paused else None}}}
    await client.patch(target.kind, target.name, patch, namespace=namespace)
    return "paused" if paused else "resumed"


async def undo(client: Client, target: Target, namespace: str, args: argparse.Namespace) -> str:
    for _ in range(UPDATE_ATTEMPTS):
        deployment = await get_target(client, target, namespace)
        if is_paused(target, deployment):
            raise CLIError(f"cannot undo the paused {target.short}: {resume_hint(target)}")
        machine_sets = owned_machine_sets(deployment, (await client.list(MACHINE_SET, namespace=namespace)).items)
        source = undo_source(target, machine_sets, args.to_revision)
        number = revision(source)
        template = machine_template(source)
        if template == deployment["spec"].get("template"):
            return f"skipped rollback (the current template already matches revision {number})"
        deployment["spec"]["template"] = template
        try:
            await client.update(deployment, kind=MACHINE_DEPLOYMENT)
        except Conflict:
            continue
        return f"rolled back to revision {number}"
    raise CLIError(f"{target.short} kept changing while its template was put back; try again")


def run_status(args: argparse.Namespace) -> int:
    target = parse_target(args.target)

    async def following(client: Client, default: str) -> int:
        namespace = args.namespace or default

        async def look() -> State:
            return rollout_progress(target, await get_target(client, target, namespace))
        with Display() as display:
            state = await follow(look, args.timeout, display)
        if not state.done:
            raise CLIError(f"timed out after {format_duration(args.timeout)}: {state.line}")
        return 0
    return on_management(args.kubeconfig, following)
