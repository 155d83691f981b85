"""`herd move --to-kubeconfig FILE`: move a namespace's Clusters, and everything that belongs to them, from one
management plane to another, crash-safe.

The steps are upstream clusterctl's: pause the Clusters in the source and wait until their objects report it;
create every object in the target (namespace first, owners before what they own, ownerReferences rewritten to
the new UIDs, status restored, Clusters still paused); delete them from the source (finalizers removed first,
marked `delete-for-move`); resume the Clusters in the target. A journal (`journal.py`) next to the source
kubeconfig records the plan and each step, so the same command run again after a crash finishes the move. At no
moment do two unpaused copies exist: the source is resumed only when a move is given up before anything was
created in the target, the target only once the source's copies are gone.

Test hook: `HERD_MOVE_CRASH_AFTER=<step>` (plan, pause, create-N, create-N-before-journal, creates, delete-N,
deletes, resume; N counts objects from 1) makes the command exit at once with code 137 after that step, as a
kill -9 would; the crash-safety tests use it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from herd.runtime import CRD, NAMESPACE, AlreadyExists, ApiError, Client, NotFound, Object, Unreachable

from .get import (
    REQUEST_TIMEOUT_SECONDS,
    add_management_argument,
    load_management,
    management_kubeconfig,
    on_management,
    unreachable_reason,
)
from .journal import Journal, JournalState
from .move_source import MoveSource, NotReadyToMove, count, plane_identity
from .objectgraph import MOVED_FROM_ANNOTATION, MoveNode, order_groups, still_provisioning, target_object
from .serve import CLIError

CRASH_ENV = "HERD_MOVE_CRASH_AFTER"  # test hook, see the module's docstring


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "move", help="move a namespace's Clusters and everything they own to another management plane",
        description="Pause the namespace's Clusters, copy them and everything that belongs to them to the target, "
                    "delete them from the source, and resume them in the target. Each step is recorded in "
                    "move-<namespace>.journal next to the source's kubeconfig: if the command is interrupted, run "
                    "it again to finish the move.",
        epilog="example: herd move --to-kubeconfig ~/other/management.kubeconfig -n default")
    parser.add_argument("--to-kubeconfig", type=Path, required=True, metavar="FILE",
                        help="kubeconfig of the target management plane")
    parser.add_argument("-n", "--namespace", help="the namespace to move (default: the kubeconfig context's)")
    parser.add_argument("--dry-run", action="store_true", help="print what would move, in order; change nothing")
    add_management_argument(parser)
    parser.set_defaults(run=run)


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        sys.stdout.flush()
        os._exit(137)


def say(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    if not args.to_kubeconfig.expanduser().is_file():
        raise CLIError(f"no target kubeconfig at {args.to_kubeconfig}: pass the kubeconfig of the management plane "
                       "to move to (herd up writes <data-dir>/management.kubeconfig)")
    _, target_config = load_management(args.to_kubeconfig)
    journal_dir = management_kubeconfig(args.kubeconfig).parent

    async def work(source: Client, default_namespace: str) -> None:
        namespace = args.namespace or default_namespace
        target = Client.from_config(target_config, timeout=REQUEST_TIMEOUT_SECONDS)
        journal = Journal(journal_dir / f"move-{namespace}.journal")
        try:
            with contextlib.nullcontext() if args.dry_run else journal.lock():
                await Mover(MoveSource(source), target, namespace, journal).run(dry_run=args.dry_run)
        finally:
            with contextlib.suppress(Exception):
                await target.close()

    on_management(args.kubeconfig, work)
    return 0


class Mover:
    """One `herd move` of one namespace, from wherever its journal says it stopped."""

    def __init__(self, source: MoveSource, target: Client, namespace: str, journal: Journal) -> None:
        self.source, self.target, self.namespace, self.journal = source, target, namespace, journal

    async def run(self, *, dry_run: bool) -> None:
        state = self.journal.read()
        source_id, target_id = await plane_identity(self.source.client), await plane_identity(self.target)
        if state.plan is not None:
            self.check_same_move(state, source_id, target_id)
            if dry_run:
                say(f"an unfinished move is recorded in {self.journal.path}; without --dry-run it resumes at the "
                    f"{state.next_step} step of:")
                print_plan(state.nodes)
                return
            say(f"continuing the move recorded in {self.journal.path}")
            await self.guarded(self.finish(state))
            return
        if source_id == target_id:
            raise CLIError("the source and the target are the same management plane: pass another --to-kubeconfig")
        nodes = await self.plan()
        if dry_run:
            say(f"would move {count(len(nodes), 'object')} of namespace {self.namespace}, in this order:")
            print_plan(nodes)
            return
        clusters = [node for node in nodes if node.kind.kind == "Cluster"]
        paused_before = [node.name for node in clusters if await self.source.is_paused(node)]
        self.journal.start(namespace=self.namespace, source=source_id, target=target_id,
                           source_server=self.source.client.server, target_server=self.target.server,
                           nodes=[node.to_record() for node in nodes], paused_before=paused_before)
        crash_point("plan")
        await self.guarded(self.finish(self.journal.read()))

    def check_same_move(self, state: JournalState, source_id: str, target_id: str) -> None:
        """The journal is this move's: the same planes (by identity, so a plane restarted on another port is
        still itself)."""
        plan = state.plan or {}
        if (plan.get("source"), plan.get("target")) != (source_id, target_id):
            raise CLIError(f"an unfinished move of namespace {self.namespace} from {plan.get('source_server')} to "
                           f"{plan.get('target_server')} is recorded in {self.journal.path}: run it again with "
                           "that source and target to finish it")

    async def guarded(self, work: Awaitable[None]) -> None:
        """Failures once the journal exists say that the same command finishes the move."""
        try:
            await work
        except (ApiError, Unreachable) as exc:
            reason = f"a plane is unreachable ({unreachable_reason(exc)})" if isinstance(exc, Unreachable) \
                else f"a plane answered {exc}"
            after = f"run the same command again to finish it (journal {self.journal.path})" \
                if self.journal.exists() else "nothing was moved"
            raise CLIError(f"the move stopped: {reason}; {after}") from None

    async def plan(self) -> list[MoveNode]:
        served = await self.target_kinds()
        nodes, objects = await self.source.move_plan(self.namespace)
        if not any(node.kind.kind == "Cluster" for node in nodes):
            raise CLIError(f"no Cluster in namespace {self.namespace} of the source: nothing to move (pick one "
                           "with -n)")
        try:
            check_provisioned(objects)
        except NotReadyToMove as exc:
            raise CLIError(str(exc)) from None
        self.check_target_serves(nodes, served)
        await self.check_target_free(nodes)
        return nodes

    async def target_kinds(self) -> dict[tuple[str, str], set[str]]:
        """The served versions of each (group, kind) the target's CRDs define; one-line errors when the target
        cannot take a move at all."""
        try:
            crds = (await self.target.list(CRD)).items
        except Unreachable as exc:
            raise CLIError(f"cannot reach the target at {self.target.server}: {unreachable_reason(exc)}; is its "
                           "plane running?") from None
        served = {(crd["spec"]["group"], crd["spec"]["names"]["kind"]): {v["name"] for v in crd["spec"]["versions"]
                                                                         if v.get("served")} for crd in crds}
        if not any(group.endswith("cluster.x-k8s.io") for group, _ in served):
            raise CLIError("the target has no Cluster API CRDs: run herd up or herd init there first")
        return served

    @staticmethod
    def check_target_serves(nodes: list[MoveNode], served: dict[tuple[str, str], set[str]]) -> None:
        for node in nodes:
            if node.kind.group and node.kind.version not in served.get(node.kind.group_kind, set()):
                raise CLIError(f"the target does not serve {node.kind.kind}.{node.kind.api_version}: install its "
                               "provider there (herd init) first")

    async def check_target_free(self, nodes: list[MoveNode]) -> None:
        for node in nodes:
            with contextlib.suppress(NotFound):
                await self.target.get(node.kind, node.name, self.namespace)
                raise CLIError(f"{node.label} already exists in namespace {self.namespace} of the target: delete "
                               "it there, or move another namespace")

    async def finish(self, state: JournalState) -> None:
        paused_before = set((state.plan or {}).get("paused_before") or ())
        if not state.paused:
            await self.pause(state)
        nodes = state.nodes
        if not state.created_all:
            await self.create(nodes, state)
        if not state.deleted_all:
            await self.delete(nodes, state)
        if not state.resumed:
            await self.resume(nodes, paused_before)
        self.journal.remove()
        say("moved")

    async def pause(self, state: JournalState) -> None:
        """Pause the Clusters, wait until nothing holds the move, and record what moves as it is now: with every
        controller paused, nothing can appear that the plan made before pausing would miss."""
        nodes = state.nodes
        roots = [node for node in nodes if node.kind.kind in ("Cluster", "ClusterClass")]
        say(f"pausing {count(sum(n.kind.kind == 'Cluster' for n in roots), 'Cluster')}")
        for node in roots:
            await self.source.set_paused(node, paused=True)
        try:
            await self.source.wait_ready_for_move(nodes)
            while True:
                now, objects = await self.source.move_plan(self.namespace)
                if {n.uid for n in now} == {n.uid for n in nodes}:
                    break
                for node in now:  # something appeared or went before the controllers paused: that set it is
                    if node.kind.kind in ("Cluster", "ClusterClass") and node not in roots:
                        roots.append(node)
                        await self.source.set_paused(node, paused=True)
                nodes = now
                await self.source.wait_ready_for_move(nodes)
            check_provisioned(objects)  # what appeared before the pause may be half made
        except NotReadyToMove as exc:
            if state.may_abandon:  # nothing exists in the target yet: give the source its Clusters back
                paused_before = set((state.plan or {}).get("paused_before") or ())
                for node in roots:
                    if node.name not in paused_before:
                        await self.source.set_paused(node, paused=False)
                self.journal.remove()
                raise CLIError(f"{exc}; nothing was moved and the Clusters run again in the source") from None
            raise CLIError(f"{exc}; run the same command again to finish the move") from None
        records = [node.to_record() for node in nodes]
        self.journal.record("paused", nodes=records)
        state.paused, (state.plan or {})["nodes"] = True, records
        crash_point("pause")

    async def create(self, nodes: list[MoveNode], state: JournalState) -> None:
        ordered = [node for group in order_groups(nodes) for node in group]
        say(f"creating {count(len(ordered), 'object')} in the target")
        with contextlib.suppress(AlreadyExists):
            await self.target.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}},
                                     kind=NAMESPACE)
        if not state.creating:
            self.journal.record("creating")
            state.creating = True
        for index, node in enumerate(ordered, 1):
            if node.uid not in state.created:
                state.created[node.uid] = new_uid = await self.create_one(node, state.created)
                crash_point(f"create-{index}-before-journal")
                self.journal.record("created", uid=node.uid, new_uid=new_uid)
            crash_point(f"create-{index}")
        self.journal.record("created-all")
        crash_point("creates")

    async def create_one(self, node: MoveNode, new_uids: dict[str, str]) -> str:
        """Create the node's object in the target (or adopt the copy an interrupted run made); its new UID, or ""
        when the object vanished from the source before it was copied."""
        source = await self.source.current(node)
        if source is None:
            return ""
        try:
            created = await self.target.create(target_object(source, new_uids), kind=node.kind)
        except AlreadyExists:
            created = await self.target.get(node.kind, node.name, self.namespace)
            if (created["metadata"].get("annotations") or {}).get(MOVED_FROM_ANNOTATION) != node.uid:
                raise CLIError(f"{node.label} appeared in namespace {self.namespace} of the target, not made by "
                               f"this move: delete it there and run the same command again (journal "
                               f"{self.journal.path})") from None
        if node.kind.status_subresource and source.get("status"):
            await self.target.patch_status(node.kind, node.name, {"status": source["status"]},
                                           namespace=self.namespace)
        return str(created["metadata"]["uid"])

    async def delete(self, nodes: list[MoveNode], state: JournalState) -> None:
        ordered = [node for group in reversed(order_groups(nodes)) for node in reversed(group)]
        say(f"deleting {count(len(ordered), 'object')} from the source")
        for index, node in enumerate(ordered, 1):
            if node.uid not in state.deleted:
                await self.source.delete_for_move(node)
                self.journal.record("deleted", uid=node.uid)
            crash_point(f"delete-{index}")
        self.journal.record("deleted-all")
        crash_point("deletes")

    async def resume(self, nodes: list[MoveNode], paused_before: set[str]) -> None:
        roots = [node for node in nodes if node.kind.kind in ("Cluster", "ClusterClass")
                 and node.name not in paused_before]
        say(f"resuming {count(sum(n.kind.kind == 'Cluster' for n in roots), 'Cluster')} in the target")
        for node in nodes:  # the adoption mark has served its purpose: the target's copies are the only ones now
            with contextlib.suppress(NotFound):
                await self.target.patch(node.kind, node.name, {"metadata": {"annotations": {
                    MOVED_FROM_ANNOTATION: None}}}, namespace=self.namespace)
        target = MoveSource(self.target)
        for node in roots:
            await target.set_paused(node, paused=False)
        self.journal.record("resumed")
        crash_point("resume")


def check_provisioned(objects: list[Object]) -> None:
    provisioning = still_provisioning(objects)
    if provisioning:
        raise NotReadyToMove(f"{', '.join(provisioning[:3])} still provisioning: move once the Clusters are "
                             "provisioned and every Machine has its Node")


def print_plan(nodes: list[MoveNode]) -> None:
    for group in order_groups(nodes):
        for node in group:
            say(f"  {node.label}")
