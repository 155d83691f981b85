"""The MachineHealthCheck controller's reconcile: the shared skeleton; its phases judge the Machines and write
the check's status."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.cluster import MACHINE_HEALTH_CHECK
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.contract.phases import run_phases
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Object, Result

from .phases import PHASES
from .scope import HealthCheckScope, Services


class MachineHealthCheckReconciler(ObjectReconciler[Services, HealthCheckScope]):
    """Reconciles MachineHealthChecks: judges their Machines and marks the unhealthy ones for remediation.

    No finalizer: a deleted check has nothing to clean up. A missing Cluster is waited for through the Cluster
    watch (`cluster_wait = 0`)."""

    kind = MACHINE_HEALTH_CHECK
    log = logging.getLogger("herd.controllers.machinehealthcheck")
    cluster_wait = 0.0

    async def load_scope(self, obj: Object, cluster: Object | None) -> HealthCheckScope:
        assert cluster is not None, "the skeleton reconciles a check without a Cluster only when it is deleted"
        return HealthCheckScope(mhc=obj, cluster=cluster, services=self.services)

    def prepare(self, obj: Object, cluster: Object | None) -> None:
        obj["metadata"].setdefault("labels", {})[CLUSTER_NAME_LABEL] = self.cluster_name(obj)
        if cluster is not None:
            _ensure_owned_by(obj, cluster)

    async def reconcile_normal(self, scope: HealthCheckScope) -> Result:
        return await run_phases(scope, PHASES)


def _ensure_owned_by(mhc: Object, cluster: Object) -> None:
    """The Cluster owns its MachineHealthChecks (not as controller), so they go when it goes."""
    refs: list[dict[str, Any]] = mhc["metadata"].setdefault("ownerReferences", [])
    uid = cluster["metadata"]["uid"]
    if any(ref.get("kind") == "Cluster" and ref.get("uid") == uid for ref in refs):
        return
    refs.append({"apiVersion": cluster["apiVersion"], "kind": "Cluster", "name": cluster["metadata"]["name"],
                 "uid": uid})
