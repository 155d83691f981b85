"""The MachineHealthCheck controller: fetch the check and its Cluster, run the phases, patch the check once."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.cluster import API_VERSION
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.controllers import conditions as cond
from herd.controllers.kinds import CLUSTER
from herd.controllers.runner import run_phases
from herd.runtime import Conflict, Kind, Object, ObjectKey, Result, patch_helper

from .phases import PHASES
from .scope import HealthCheckScope, Services

MACHINE_HEALTH_CHECK = Kind(API_VERSION, "MachineHealthCheck", "machinehealthchecks")

log = logging.getLogger("herd.controllers.machinehealthcheck")


class MachineHealthCheckReconciler:
    """Reconciles MachineHealthChecks: judges their Machines and marks the unhealthy ones for remediation."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, key: ObjectKey) -> Result:
        """Check the Machines of the MachineHealthCheck with this key; returns when a pending check falls due."""
        try:
            return await self._reconcile(key)
        except Conflict as exc:  # someone wrote an object we were writing too: look again, quietly
            log.info("machinehealthcheck %s: %s; trying again", key, exc)
            return Result(requeue=True)

    async def _reconcile(self, key: ObjectKey) -> Result:
        io = self.services
        mhc = io.cache.get(MACHINE_HEALTH_CHECK, key.namespace, key.name)
        if mhc is None or mhc["metadata"].get("deletionTimestamp"):
            return Result()
        cluster_name = str((mhc.get("spec") or {}).get("clusterName") or "")
        cluster = io.cache.get(CLUSTER, key.namespace, cluster_name)
        if cluster is None:  # the Cluster's creation wakes us through the Cluster watch
            log.info("machinehealthcheck %s: waiting for Cluster %s", key, cluster_name)
            return Result()
        if cond.is_paused(cluster, mhc):
            async with patch_helper(io.client, mhc, kind=MACHINE_HEALTH_CHECK, observed_generation=False) as paused:
                cond.apply(paused, cond.paused_condition(cluster, paused))
            return Result()
        async with patch_helper(io.client, mhc, kind=MACHINE_HEALTH_CHECK) as obj:
            obj["metadata"].setdefault("labels", {})[CLUSTER_NAME_LABEL] = cluster_name
            _ensure_owned_by(obj, cluster)
            cond.apply(obj, cond.paused_condition(cluster, obj))
            scope = HealthCheckScope(mhc=obj, cluster=cluster, services=io)
            return await run_phases(scope, PHASES)


def _ensure_owned_by(mhc: Object, cluster: Object) -> None:
    """The Cluster owns its MachineHealthChecks (not as controller), so they go when it goes."""
    refs: list[dict[str, Any]] = mhc["metadata"].setdefault("ownerReferences", [])
    uid = cluster["metadata"]["uid"]
    if any(ref.get("kind") == "Cluster" and ref.get("uid") == uid for ref in refs):
        return
    refs.append({"apiVersion": cluster["apiVersion"], "kind": "Cluster", "name": cluster["metadata"]["name"],
                 "uid": uid})
