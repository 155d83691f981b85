"""The control plane init lock: only one machine of a cluster may run `kubeadm init`.

As upstream, the lock is a ConfigMap `<cluster>-lock` in the cluster's namespace, owned by the Cluster,
whose `lock-information` holds `{"machineName": ...}`. Creating it is the atomic step (the API server
refuses a second create). It is released once the control plane is initialized or when init failed before
the bootstrap data was written; another machine takes it over when the machine holding it no longer exists.
"""

from __future__ import annotations

import contextlib
import json
import logging

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.runtime import CONFIGMAP, AlreadyExists, Client, Conflict, Kind, NotFound, Object, owner_reference

log = logging.getLogger("herd.bootstrap.kubeadm")

LOCK_INFORMATION_KEY = "lock-information"


def lock_name(cluster_name: str) -> str:
    return f"{cluster_name}-lock"


def lock_configmap(cluster: Object, machine_name: str) -> Object:
    """The ConfigMap that records `machine_name` as the machine initializing the cluster."""
    meta = cluster["metadata"]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": lock_name(meta["name"]), "namespace": meta["namespace"],
                         "labels": {CLUSTER_NAME_LABEL: meta["name"]},
                         "ownerReferences": [owner_reference(cluster, controller=False)]},
            "data": {LOCK_INFORMATION_KEY: json.dumps({"machineName": machine_name})}}


def holder(configmap: Object) -> str | None:
    """The machine name recorded in a lock ConfigMap, or None if unreadable."""
    try:
        info = json.loads((configmap.get("data") or {}).get(LOCK_INFORMATION_KEY) or "")
    except json.JSONDecodeError:
        return None
    name = info.get("machineName") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name else None


class InitLock:
    """Lock/unlock around kubeadm init, through the API server (never a cache: the lock must be exact)."""

    def __init__(self, client: Client, machine_kind: Kind) -> None:
        self.client = client
        self.machine_kind = machine_kind
        self._released: set[str] = set()  # uids of Clusters whose lock is known gone (unlock needs no request)

    async def lock(self, cluster: Object, machine: Object) -> bool:
        """Whether `machine` holds the lock now (it may have held it already)."""
        meta = cluster["metadata"]
        machine_name = machine["metadata"]["name"]
        self._released.discard(str(meta.get("uid")))  # the lock may exist again from here on
        try:
            existing = await self.client.get(CONFIGMAP, lock_name(meta["name"]), meta["namespace"])
        except NotFound:
            try:
                await self.client.create(lock_configmap(cluster, machine_name), kind=CONFIGMAP)
            except AlreadyExists:
                return False  # another machine won the race
            log.info("machine %s/%s acquired the init lock of cluster %s", meta["namespace"], machine_name,
                     meta["name"])
            return True
        owner = holder(existing)
        if owner == machine_name:
            return True
        if owner is not None and await self._machine_exists(meta["namespace"], owner):
            return False
        # take over a lock whose machine is gone; the resourceVersion read guards against a concurrent taker
        existing["data"] = lock_configmap(cluster, machine_name)["data"]
        try:
            await self.client.update(existing, kind=CONFIGMAP)
        except (Conflict, NotFound):
            return False
        log.info("machine %s/%s took over the init lock of cluster %s from machine %s, which is gone",
                 meta["namespace"], machine_name, meta["name"], owner)
        return True

    async def unlock(self, cluster: Object) -> None:
        """Release the lock (nothing to do when it is not there)."""
        meta = cluster["metadata"]
        uid = str(meta.get("uid"))
        if uid in self._released:
            return
        with contextlib.suppress(NotFound):
            await self.client.delete(CONFIGMAP, lock_name(meta["name"]), meta["namespace"])
        self._released.add(uid)

    async def _machine_exists(self, namespace: str, name: str) -> bool:
        try:
            machine = await self.client.get(self.machine_kind, name, namespace)
        except NotFound:
            return False
        return not (machine.get("metadata") or {}).get("deletionTimestamp")
