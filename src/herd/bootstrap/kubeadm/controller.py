"""The KubeadmConfig controller: watches and `reconcile` (fetch from the cache, pause, run the phases, patch once).

Watches, as upstream: KubeadmConfigs themselves; Machines, mapped to the config their
`spec.bootstrap.configRef` names; Clusters, mapped to their configs (by the cluster-name label on the configs,
and through their Machines' configRefs) when something the configs wait for changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from herd.api.cluster.labels import CLUSTER_NAME_LABEL, PAUSED_ANNOTATION
from herd.runtime import (
    Cache,
    Client,
    NotSynced,
    Object,
    ObjectKey,
    PredicateFuncs,
    Result,
    patch_helper,
)
from herd.runtime.conditions import get_condition

from . import kinds, status
from .kinds import CLUSTER, KUBEADM_CONFIG, MACHINE
from .kubeconfig import WorkloadClients
from .locking import InitLock
from .phases import Scope, reconcile_bootstrap

log = logging.getLogger("herd.bootstrap.kubeadm")


class KubeadmConfigReconciler:
    """Turns a KubeadmConfig into its machine's bootstrap data Secret."""

    def __init__(self, client: Client, cache: Cache, *, workload_clients: WorkloadClients, token_ttl: float,
                 init_lock: InitLock | None = None) -> None:
        self.client = client
        self.cache = cache
        self.workload_clients = workload_clients
        self.token_ttl = token_ttl
        self.init_lock = init_lock or InitLock(client, MACHINE)
        self.token_checks: dict[str, float] = {}  # bootstrap token → when its expiration was last looked at

    async def reconcile(self, key: ObjectKey) -> Result:
        config = self.cache.get(KUBEADM_CONFIG, key.namespace, key.name)
        if config is None:
            return Result()
        machine_name = kinds.owner_machine_name(config)
        if machine_name is None:
            return Result()  # the Machine controller sets the owner; its event brings us back
        machine = self.cache.get(MACHINE, key.namespace, machine_name, copy=False)  # read only
        if machine is None:
            return Result()
        cluster_name = (machine.get("spec") or {}).get("clusterName") or ""
        cluster = self.cache.get(CLUSTER, key.namespace, cluster_name, copy=False) if cluster_name else None
        if cluster is None:
            return Result()  # the Cluster's creation enqueues its configs
        # list items may come without type information; owner references need it
        for obj, kind in ((config, KUBEADM_CONFIG), (machine, MACHINE), (cluster, CLUSTER)):
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
        async with patch_helper(self.client, config, kind=KUBEADM_CONFIG) as config:
            paused = status.is_paused(cluster, config)
            status.set_paused_condition(config, paused)
            if paused or (config.get("metadata") or {}).get("deletionTimestamp"):
                return Result()
            scope = Scope(client=self.client, config=config, machine=machine, cluster=cluster,
                          init_lock=self.init_lock, workload_clients=self.workload_clients, token_ttl=self.token_ttl,
                          token_checks=self.token_checks)
            try:
                return await reconcile_bootstrap(scope)
            finally:
                status.set_ready_condition(config)

    # ----- watches -----

    def machine_to_config(self, machine: Object) -> Iterable[ObjectKey]:
        """The KubeadmConfig a Machine refers to."""
        name = kinds.config_ref_name(machine)
        return [ObjectKey(machine["metadata"].get("namespace") or "", name)] if name else []

    def cluster_to_configs(self, cluster: Object) -> Iterable[ObjectKey]:
        """Every KubeadmConfig of a Cluster: labelled with its name, or referenced by one of its Machines."""
        meta = cluster.get("metadata") or {}
        namespace, selector = meta.get("namespace") or "", {CLUSTER_NAME_LABEL: meta.get("name") or ""}
        keys: dict[ObjectKey, None] = {}
        try:
            for config in self.cache.list(KUBEADM_CONFIG, namespace=namespace, label_selector=selector, copy=False):
                keys[ObjectKey.of(config)] = None
            for machine in self.cache.list(MACHINE, namespace=namespace, label_selector=selector, copy=False):
                keys.update(dict.fromkeys(self.machine_to_config(machine)))
        except NotSynced:  # during start-up: every config is enqueued by its own informer's initial list anyway
            pass
        return list(keys)


def _cluster_wait_state(cluster: Object) -> tuple[object, ...]:
    """What KubeadmConfigs wait for on their Cluster; other changes of the Cluster do not concern them."""
    meta, spec, cluster_status = cluster.get("metadata") or {}, cluster.get("spec") or {}, cluster.get("status") or {}
    initialized = get_condition(cluster, kinds.CONTROL_PLANE_INITIALIZED_CONDITION) or {}
    return (bool(spec.get("paused")), PAUSED_ANNOTATION in (meta.get("annotations") or {}),
            spec.get("controlPlaneEndpoint"), cluster_status.get("initialization"), initialized.get("status"))


CLUSTER_CHANGED = PredicateFuncs(on_update=lambda old, new: _cluster_wait_state(old) != _cluster_wait_state(new))
"""Let Cluster updates through only when pausing, the endpoint, or initialization changed."""


def _machine_read_state(machine: Object) -> tuple[object, ...]:
    """What a KubeadmConfig reads of its Machine: its labels and annotations, whether it is deleting, its spec
    but for the providerID the infrastructure provider reports, and its nodeRef (token refresh stops). Not
    its finalizers, owners or the rest of its status, which change as it provisions."""
    meta = machine.get("metadata") or {}
    spec = {k: v for k, v in (machine.get("spec") or {}).items() if k != "providerID"}
    return (meta.get("labels"), meta.get("annotations"), meta.get("deletionTimestamp"), spec,
            (machine.get("status") or {}).get("nodeRef"))


MACHINE_CHANGED = PredicateFuncs(on_update=lambda old, new: _machine_read_state(old) != _machine_read_state(new))
"""Let Machine updates through unless only status fields a KubeadmConfig does not read changed."""
