"""Deleting a KubeadmControlPlane: wait for the worker Machines to go, then delete every control plane Machine
(no etcd work: the whole cluster goes) and let go once none is left."""

from __future__ import annotations

import logging

from herd.api.cluster import MACHINE
from herd.api.controlplane import kubeadmcontrolplane as api
from herd.contract.indexes import by_cluster
from herd.contract.objects import is_control_plane_machine
from herd.runtime import ApiError, NotFound, ObjectKey, Result, recorder_for
from herd.runtime.events import error_text
from herd.runtime.finalizers import remove_finalizer

from .phases import reconcile_pre_terminate_hooks
from .scale import EVENT_SOURCE
from .scope import ControlPlaneScope

log = logging.getLogger("herd.controlplane.kubeadm")


def _names(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


async def reconcile_delete(scope: ControlPlaneScope) -> Result | None:
    io = scope.io
    workers = [m["metadata"]["name"] for m in by_cluster(io.cache, MACHINE, ObjectKey(scope.namespace,
                                                                                     scope.cluster_name), copy=False)
               if not is_control_plane_machine(m)]
    if workers:
        scope.deleting_message = (api.KUBEADM_CONTROL_PLANE_DELETING_WAITING_FOR_WORKERS_DELETION_REASON,
                                  f"* Worker Machines: {_names(workers)}")
        return Result(requeue_after=io.poll * 2)
    failures: list[str] = []
    for machine in scope.live_machines:
        try:
            await io.client.delete(MACHINE, machine["metadata"]["name"], scope.namespace)
        except NotFound:
            continue
        except ApiError as exc:
            failures.append(f"failed to delete control plane Machine {scope.namespace}/{machine['metadata']['name']}: "
                            f"{error_text(exc)}")
            continue
        machine["metadata"]["deletionTimestamp"] = scope.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        log.info("kubeadmcontrolplane %s: deleting Machine %s (control plane deleted)", scope.key,
                 machine["metadata"]["name"])
    if failures:
        await recorder_for(io.client, EVENT_SOURCE).warning(
            scope.kcp, "FailedDelete", f"Failed to delete control plane Machines for cluster "
            f"{scope.namespace}/{scope.cluster_name} control plane: "
            + (failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]"))
        raise RuntimeError("; ".join(failures))
    await reconcile_pre_terminate_hooks(scope)
    if scope.machines:
        names = [m["metadata"]["name"] for m in scope.machines]
        scope.deleting_message = (api.KUBEADM_CONTROL_PLANE_DELETING_WAITING_FOR_MACHINE_DELETION_REASON,
                                  f"* Control plane Machines: {_names(names)}")
        return Result(requeue_after=io.poll * 2)
    scope.deleting_message = (api.KUBEADM_CONTROL_PLANE_DELETING_DELETION_COMPLETED_REASON, "Deletion completed")
    remove_finalizer(scope.kcp, api.KUBEADM_CONTROL_PLANE_FINALIZER)
    return None
