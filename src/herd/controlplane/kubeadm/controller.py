"""The KubeadmControlPlane controller's reconcile: the shared skeleton, with the control plane's scope, phases
and status."""

from __future__ import annotations

import logging

from herd.api.cluster import MACHINE
from herd.api.controlplane import KUBEADM_CONTROL_PLANE
from herd.api.controlplane.kubeadmcontrolplane import KUBEADM_CONTROL_PLANE_FINALIZER
from herd.api.objects import nested
from herd.contract.indexes import controlled_by
from herd.contract.objects import owner_cluster_name
from herd.contract.phases import lowest_result
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Object, Result

from . import phases, scale, status
from .deletion import reconcile_delete
from .etcd import EtcdError
from .remediation import reconcile_unhealthy_machines
from .scope import ControlPlaneScope, Services


class KubeadmControlPlaneReconciler(ObjectReconciler[Services, ControlPlaneScope]):
    """Reconciles KubeadmControlPlanes: certificates, Machines, etcd, scaling, rollout, remediation, deletion."""

    kind = KUBEADM_CONTROL_PLANE
    finalizer = KUBEADM_CONTROL_PLANE_FINALIZER
    log = logging.getLogger("herd.controlplane.kubeadm")
    cluster_wait = 0.0  # the Cluster's event (it sets itself as owner) wakes the control plane

    def cluster_name(self, obj: Object) -> str:
        """The owner Cluster (set by the Cluster controller through controlPlaneRef)."""
        return owner_cluster_name(obj) or ""

    async def load_scope(self, obj: Object, cluster: Object | None) -> ControlPlaneScope:
        machines = controlled_by(self.services.cache, MACHINE, obj)
        machines.sort(key=lambda m: (str(m["metadata"].get("creationTimestamp") or ""), m["metadata"]["name"]))
        domains = [str(d.get("name")) for d in nested(cluster or {}, "status", "failureDomains") or []
                   if d.get("controlPlane") and d.get("name")]
        return ControlPlaneScope(kcp=obj, cluster=cluster, machines=machines, failure_domains=sorted(domains),
                                 services=self.services)

    async def reconcile_normal(self, scope: ControlPlaneScope) -> Result | None:
        io = scope.io
        waiting = phases.infrastructure_waiting(scope)
        if waiting:
            scope.scale_up_blockers = [waiting]
            return None  # the Cluster's events wake us
        await phases.reconcile_certificates(scope)
        await phases.adopt_machines(scope)
        await phases.remove_orphan_clones(scope)
        await phases.load_infrastructure(scope)
        await phases.sync_machines(scope)
        await phases.inspect_workload(scope)
        await phases.mark_initialized(scope)
        await phases.record_certificate_expiries(scope)
        try:
            await phases.reconcile_pre_terminate_hooks(scope)
            await phases.remove_stray_etcd_members(scope)
            remediation = await reconcile_unhealthy_machines(scope)
            if remediation is not None:
                return remediation
            result = await scale.reconcile_replicas(scope) or Result()
        except EtcdError as exc:
            # etcd refuses membership changes for a while after one (e.g. "unhealthy cluster" until its members
            # have been connected for 5 s): an expected wait, not a failure
            self.log.info("kubeadmcontrolplane %s: etcd: %s; trying again", scope.key, exc)
            return Result(requeue_after=io.poll)
        steady = not scope.outdated and len(scope.machines) == scope.replicas and not scope.remediating and all(
            scope.node_name(m) for m in scope.machines) and status.etcd_problems(scope) == []
        return lowest_result(result, Result(requeue_after=io.resync if steady else io.poll))

    async def reconcile_delete(self, scope: ControlPlaneScope) -> Result | None:
        return await reconcile_delete(scope)

    def update_status(self, scope: ControlPlaneScope) -> None:
        status.update_status(scope)
