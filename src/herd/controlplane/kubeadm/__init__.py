"""The KubeadmControlPlane provider (upstream's controlplane/kubeadm): a highly available control plane of
Machines bootstrapped with kubeadm, kept at its size and version with etcd-safe scaling, rollout and remediation.

    manager.add(kubeadm.new_controller(client, cluster_cache, manager.cache))
"""

from __future__ import annotations

from collections.abc import Iterable

from herd.api.cluster import CLUSTER, MACHINE
from herd.api.controlplane import KUBEADM_CONTROL_PLANE
from herd.api.objects import nested
from herd.contract.indexes import CLUSTER_STATE_CHANGED, add_cluster_name_index, add_controller_index
from herd.contract.references import ContractResolver, ExternalTracker
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .controller import KubeadmControlPlaneReconciler
from .scope import ControlPlaneScope, Services

CONTROLLER_NAME = "kubeadmcontrolplane"
AGGREGATE_DELAY = 0.2  # seconds from a Machine event to the control plane's reconcile (events coalesce)


def new_controller(client: Client, cluster_cache: ClusterCache, cache: Cache, *,
                   resolver: ContractResolver | None = None, concurrency: int = 4, poll: float = 0.5,
                   resync: float = 10.0, etcd_timeout: float = 5.0) -> Controller:
    """The KubeadmControlPlane controller, ready for `manager.add(...)`; `cache` must be that manager's cache.

    It watches KubeadmControlPlanes, the Machines they control, the Clusters that reference them, and the
    infrastructure machines of their Machines; the workload cluster (Nodes, static pods, etcd) is looked at on
    every reconcile, `poll` seconds apart while anything is on its way and `resync` seconds when all is well.
    """
    add_controller_index(cache, MACHINE)
    add_cluster_name_index(cache, MACHINE)
    tracker = ExternalTracker(client, cache, KUBEADM_CONTROL_PLANE)
    services = Services(client=client, cache=cache, tracker=tracker, resolver=resolver or ContractResolver(client),
                        cluster_cache=cluster_cache, etcd_timeout=etcd_timeout, poll=poll, resync=resync)
    reconciler = KubeadmControlPlaneReconciler(services)

    def control_plane_of(cluster: Object) -> Iterable[ObjectKey]:
        ref = nested(cluster, "spec", "controlPlaneRef") or {}
        if ref.get("kind") != KUBEADM_CONTROL_PLANE.kind or ref.get("apiGroup") != KUBEADM_CONTROL_PLANE.group:
            return []
        return [ObjectKey(cluster["metadata"]["namespace"], str(ref.get("name")))]

    controller = (Controller.builder(CONTROLLER_NAME).for_(KUBEADM_CONTROL_PLANE, NOT_ONLY_STATUS_CHANGED)
                  .owns(MACHINE, delay=AGGREGATE_DELAY)
                  .watches(CLUSTER, control_plane_of, CLUSTER_STATE_CHANGED)
                  .with_concurrency(concurrency)
                  .build(reconciler))
    tracker.bind(controller.queue)
    return controller


__all__ = ["CONTROLLER_NAME", "ControlPlaneScope", "KubeadmControlPlaneReconciler", "Services", "new_controller"]
