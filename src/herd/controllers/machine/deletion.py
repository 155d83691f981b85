"""Deleting a Machine: pre-drain hooks → drain → pre-terminate hooks → infrastructure → bootstrap → Node → finalizer.

Each call does what it can and records, in the Deleting condition's reason and message, the step it
waits for; the next event or requeue moves it on.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from herd.api.cluster import MACHINE
from herd.api.cluster import machine as api
from herd.api.cluster.labels import (
    EXCLUDE_NODE_DRAINING_ANNOTATION,
    MACHINE_CONTROL_PLANE_LABEL,
    MACHINE_FINALIZER,
    PRE_DRAIN_DELETE_HOOK_ANNOTATION_PREFIX,
    PRE_TERMINATE_DELETE_HOOK_ANNOTATION_PREFIX,
)
from herd.api.objects import parse_time, rfc3339
from herd.contract.indexes import by_cluster
from herd.runtime import ClientError, Kind, NotFound, Object, ObjectKey, Result, recorder_for
from herd.runtime.conditions import get_condition
from herd.runtime.events import error_text
from herd.runtime.finalizers import remove_finalizer

from .drain import drain_node
from .scope import MachineScope

log = logging.getLogger("herd.controllers.machine")
EVENT_SOURCE = "machine-controller"  # upstream's recorder name, shown by kubectl describe as From


def _hooks(scope: MachineScope, prefix: str) -> list[str]:
    return sorted(k for k in (scope.meta.get("annotations") or {}) if k.startswith(prefix))


def _deletion_status(scope: MachineScope, field: str) -> datetime:
    """When a deletion step began (recorded the first time it is reached)."""
    deletion = scope.status.setdefault("deletion", {})
    started = parse_time(deletion.get(field))
    if started is None:
        started = scope.now
        deletion[field] = rfc3339(started)
    return started


async def node_deletion_blocker(scope: MachineScope) -> str:
    """Why the Node must be neither drained nor deleted ("" when it may be)."""
    if scope.cluster is None or (scope.cluster.get("metadata") or {}).get("deletionTimestamp"):
        return "cluster is being deleted"  # the whole workload cluster goes: no point in draining it
    if not scope.node_ref_name and scope.provider_id:
        with contextlib.suppress(ClientError):  # a Node whose Machine never saw it still has to go
            node = await scope.io.cluster_cache.get_node_by_provider_id(scope.cluster_key, scope.provider_id)
            if node is not None:
                scope.status["nodeRef"] = {"name": node["metadata"]["name"]}
    if not scope.node_ref_name:
        return "no node"
    control_plane = any(MACHINE_CONTROL_PLANE_LABEL in (m["metadata"].get("labels") or {})
                        and not m["metadata"].get("deletionTimestamp")
                        for m in by_cluster(scope.io.cache, MACHINE, scope.cluster_key, copy=False))
    if not control_plane and (scope.is_control_plane or not (scope.cluster.get("spec") or {}).get("controlPlaneRef")):
        return "last control plane member"  # its API server is the one we would talk to
    return ""


def _drain_timed_out(scope: MachineScope) -> bool:
    timeout = (scope.spec.get("deletion") or {}).get("nodeDrainTimeoutSeconds") or 0
    started = parse_time((scope.status.get("deletion") or {}).get("nodeDrainStartTime"))
    return bool(timeout) and started is not None and (scope.now - started).total_seconds() > timeout


async def _delete_external(scope: MachineScope, obj: Object | None, kind: Kind | None) -> bool:
    """Ask for a provider object's deletion; True while it still exists."""
    if obj is None or kind is None:
        return False
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp"):
        try:
            await scope.io.client.delete(kind, meta["name"], meta.get("namespace"))
        except NotFound:
            return False
    return True


def _wait(scope: MachineScope, reason: str, message: str) -> None:
    scope.deleting_reason, scope.deleting_message = reason, message


async def reconcile_delete(scope: MachineScope) -> Result:
    """One step of deletion; the Deleting condition says which."""
    scope.reconcile_delete_executed = True
    io = scope.io
    blocker = await node_deletion_blocker(scope) if scope.cluster is not None else "cluster not found"
    if blocker:
        log.info("machine %s: leaving its Node alone: %s", ObjectKey.of(scope.machine), blocker)
    else:
        hooks = _hooks(scope, PRE_DRAIN_DELETE_HOOK_ANNOTATION_PREFIX)
        if hooks:
            _deletion_status(scope, "waitForPreDrainHookStartTime")
            _wait(scope, api.DELETING_WAITING_FOR_PRE_DRAIN_HOOK_REASON,
                  f"Waiting for pre-drain hooks to succeed (hooks: {', '.join(hooks)})")
            return Result()  # removing the annotation is an update that wakes us
        excluded = EXCLUDE_NODE_DRAINING_ANNOTATION in (scope.meta.get("annotations") or {})
        if not excluded and not _drain_timed_out(scope):
            # this reconcile started the drain, or the last one was waiting for it: so a done drain is news
            draining = "nodeDrainStartTime" not in (scope.status.get("deletion") or {}) or (
                get_condition(scope.machine, api.DELETING) or {}).get("reason") == api.DELETING_DRAINING_NODE_REASON
            started = _deletion_status(scope, "nodeDrainStartTime")
            try:
                drained = await drain_node(io.cluster_cache, scope.cluster_key, scope.node_ref_name, scope.now)
            except ClientError as exc:
                await recorder_for(io.client, EVENT_SOURCE).warning(
                    scope.machine, "FailedDrainNode",
                    f'error draining Machine\'s node "{scope.node_ref_name}": {error_text(exc)}')
                _wait(scope, api.DELETING_DRAINING_NODE_REASON, f"Drain not completed yet (started at "
                      f"{rfc3339(started)}):\n* {exc}")
                return Result(requeue_after=io.drain_requeue_after)
            if not drained.done:
                _wait(scope, api.DELETING_DRAINING_NODE_REASON,
                      f"Drain not completed yet (started at {rfc3339(started)}):\n{drained.message()}")
                return Result(requeue_after=io.drain_requeue_after)
            if draining:
                await recorder_for(io.client, EVENT_SOURCE).normal(
                    scope.machine, "SuccessfulDrainNode", f'success draining Machine\'s node "{scope.node_ref_name}"')

    hooks = _hooks(scope, PRE_TERMINATE_DELETE_HOOK_ANNOTATION_PREFIX)
    if hooks:
        _deletion_status(scope, "waitForPreTerminateHookStartTime")
        _wait(scope, api.DELETING_WAITING_FOR_PRE_TERMINATE_HOOK_REASON,
              f"Waiting for pre-terminate hooks to succeed (hooks: {', '.join(hooks)})")
        return Result()

    infra_kind = scope.infra_kind.kind if scope.infra_kind else None
    if await _delete_external(scope, scope.infra_machine, infra_kind):
        kind = (scope.spec.get("infrastructureRef") or {}).get("kind")
        _wait(scope, api.DELETING_WAITING_FOR_INFRASTRUCTURE_DELETION_REASON, f"Waiting for {kind} to be deleted")
        return Result(requeue_after=io.external_ready_wait)  # its deletion also wakes us (we own it)
    bootstrap_kind = scope.bootstrap_kind.kind if scope.bootstrap_kind else None
    if await _delete_external(scope, scope.bootstrap_config, bootstrap_kind):
        kind = ((scope.spec.get("bootstrap") or {}).get("configRef") or {}).get("kind")
        _wait(scope, api.DELETING_WAITING_FOR_BOOTSTRAP_DELETION_REASON, f"Waiting for {kind} to be deleted")
        return Result(requeue_after=io.external_ready_wait)

    if not blocker:  # only once the machine is gone, or its kubelet would register the Node again
        try:
            await io.cluster_cache.delete_node(scope.cluster_key, scope.node_ref_name)
        except ClientError as exc:
            await recorder_for(io.client, EVENT_SOURCE).warning(scope.machine, "FailedDeleteNode",
                                                                f"error deleting Machine's node: {error_text(exc)}")
            timeout = (scope.spec.get("deletion") or {}).get("nodeDeletionTimeoutSeconds")
            timeout = api.DEFAULT_NODE_DELETION_TIMEOUT_SECONDS if timeout is None else timeout
            since = parse_time(scope.meta.get("deletionTimestamp")) or scope.now
            if timeout == 0 or (scope.now - since).total_seconds() < timeout:
                log.info("machine %s: deleting Node %s failed: %s", ObjectKey.of(scope.machine),
                         scope.node_ref_name, exc)
                _wait(scope, api.DELETING_DELETING_NODE_REASON,
                      f"Error deleting Node {scope.node_ref_name}, please check controller logs")
                return Result(requeue_after=io.drain_requeue_after)
            log.warning("machine %s: giving up deleting Node %s: %s", ObjectKey.of(scope.machine),
                        scope.node_ref_name, exc)

    _wait(scope, api.DELETING_DELETION_COMPLETED_REASON, "Deletion completed")
    remove_finalizer(scope.machine, MACHINE_FINALIZER)
    log.info("machine %s: deletion completed", ObjectKey.of(scope.machine))
    return Result()
