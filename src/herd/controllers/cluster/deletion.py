"""Deleting a Cluster, outside in: workers, then the control plane, then the infrastructure, then the finalizer."""

from __future__ import annotations

import contextlib
import logging

from herd.api.cluster import MACHINE, MACHINE_DEPLOYMENT, MACHINE_SET
from herd.api.cluster import cluster as api
from herd.api.cluster.labels import CLUSTER_FINALIZER
from herd.runtime import Kind, NotFound, Object, ObjectKey, Result, controller_owner
from herd.runtime.finalizers import remove_finalizer

from .scope import ClusterScope, owned_by

log = logging.getLogger("herd.controllers.cluster")


def _names(objects: list[Object]) -> str:
    names = sorted(str(o["metadata"]["name"]) for o in objects)
    shown = ", ".join(names[:5])
    return shown + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")


def pending_message(groups: list[tuple[str, list[Object]]]) -> str:
    """`* MachineDeployments: md1, md2` lines for what deletion still waits for."""
    return "\n".join(f"* {title}: {_names(objects)}" for title, objects in groups if objects)


def _deletable(obj: Object, cluster: Object) -> bool:
    """Objects the Cluster deletes itself: owned by it, or owned by nothing that would delete them in turn."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    owner = controller_owner(obj)
    return owner is None or owned_by(obj, cluster)


async def _delete_all(scope: ClusterScope, kind: Kind, objects: list[Object]) -> None:
    client = scope.io.client
    for obj in objects:
        if _deletable(obj, scope.cluster):
            log.info("cluster %s: deleting %s %s", ObjectKey.of(scope.cluster), kind.kind, obj["metadata"]["name"])
            with contextlib.suppress(NotFound):
                await client.delete(kind, obj["metadata"]["name"], obj["metadata"]["namespace"])


async def _delete_provider_object(scope: ClusterScope, obj: Object | None, kind: Kind | None) -> bool:
    """Ask for the deletion of a provider object; True while it still exists."""
    if obj is None or kind is None:
        return False
    if not (obj.get("metadata") or {}).get("deletionTimestamp"):
        try:
            await scope.io.client.delete(kind, obj["metadata"]["name"], obj["metadata"].get("namespace"))
        except NotFound:
            return False
    return True


async def reconcile_delete(scope: ClusterScope) -> Result:
    """One step of deletion; sets the Deleting reason and message for what it waits for."""
    workers = [("MachineDeployments", scope.machine_deployments), ("MachineSets", scope.machine_sets),
               ("Worker Machines", scope.worker_machines)]
    if any(objects for _, objects in workers):
        await _delete_all(scope, MACHINE_DEPLOYMENT, scope.machine_deployments)
        await _delete_all(scope, MACHINE_SET, scope.machine_sets)
        await _delete_all(scope, MACHINE, scope.worker_machines)
        scope.deleting_reason = api.DELETING_WAITING_FOR_WORKERS_DELETION_REASON
        scope.deleting_message = pending_message(workers)
        return Result(requeue_after=scope.io.delete_requeue_after)

    cp_ref = scope.spec.get("controlPlaneRef")
    if cp_ref:
        if await _delete_provider_object(scope, scope.control_plane,
                                         scope.control_plane_kind.kind if scope.control_plane_kind else None):
            scope.deleting_reason = api.DELETING_WAITING_FOR_CONTROL_PLANE_DELETION_REASON
            scope.deleting_message = f"Waiting for {cp_ref.get('kind')} to be deleted"
            return Result(requeue_after=scope.io.delete_requeue_after)
    elif scope.control_plane_machines:  # a control plane of stand-alone Machines goes after the workers
        await _delete_all(scope, MACHINE, scope.control_plane_machines)
        scope.deleting_reason = api.DELETING_WAITING_FOR_CONTROL_PLANE_DELETION_REASON
        scope.deleting_message = pending_message([("Control plane Machines", scope.control_plane_machines)])
        return Result(requeue_after=scope.io.delete_requeue_after)

    infra_ref = scope.spec.get("infrastructureRef")
    if infra_ref and await _delete_provider_object(scope, scope.infra_cluster,
                                                   scope.infra_kind.kind if scope.infra_kind else None):
        scope.deleting_reason = api.DELETING_WAITING_FOR_INFRASTRUCTURE_DELETION_REASON
        scope.deleting_message = f"Waiting for {infra_ref.get('kind')} to be deleted"
        return Result(requeue_after=scope.io.delete_requeue_after)

    scope.deleting_reason = api.DELETING_DELETION_COMPLETED_REASON
    scope.deleting_message = "Deletion completed"
    if remove_finalizer(scope.cluster, CLUSTER_FINALIZER):
        log.info("cluster %s: deletion completed", ObjectKey.of(scope.cluster))
    return Result()
