"""The KubeadmConfig controller: watches and `reconcile` (fetch from the cache, pause, run the phases, patch once).

Watches, as upstream: KubeadmConfigs themselves; Machines, mapped to the config their
`spec.bootstrap.configRef` names; Clusters, mapped to their configs (by the cluster-name label on the configs,
and through their Machines' configRefs) when something the configs wait for changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import CLUSTER, MACHINE
from herd.api.cluster.labels import CLUSTER_NAME_LABEL, PAUSED_ANNOTATION
from herd.contract.kubeconfig import WorkloadClients
from herd.contract.reconciler import ObjectReconciler
from herd.runtime import Cache, Client, NotSynced, Object, ObjectKey, PredicateFuncs, Result
from herd.runtime.conditions import get_condition

from . import kinds, status
from .locking import InitLock
from .phases import Scope, reconcile_bootstrap


@dataclass
class Services:
    """What the kubeadm bootstrap phases talk to."""

    client: Client
    cache: Cache
    workload_clients: WorkloadClients
    token_ttl: float
    init_lock: InitLock
    token_checks: dict[str, float] = field(default_factory=dict)  # bootstrap token → when last looked at


class KubeadmConfigReconciler(ObjectReconciler[Services, Scope]):
    """Turns a KubeadmConfig into its machine's bootstrap data Secret.

    Its Cluster is that of the Machine owning it; until the Machine controller sets that owner (or while the
    Cluster does not exist) the config waits for their events. No finalizer: the data Secret is owned by the
    config and goes with it."""

    kind = KUBEADM_CONFIG
    log = logging.getLogger("herd.bootstrap.kubeadm")
    cluster_wait = 0.0

    def __init__(self, client: Client, cache: Cache, *, workload_clients: WorkloadClients, token_ttl: float,
                 init_lock: InitLock | None = None) -> None:
        super().__init__(Services(client=client, cache=cache, workload_clients=workload_clients,
                                  token_ttl=token_ttl, init_lock=init_lock or InitLock(client, MACHINE)))

    def machine_of(self, config: Object) -> Object | None:
        """The Machine owning the config (the cache's copy: read only)."""
        name = kinds.owner_machine_name(config)
        namespace = str((config.get("metadata") or {}).get("namespace") or "")
        return self.services.cache.get(MACHINE, namespace, name, copy=False) if name else None

    def cluster_name(self, obj: Object) -> str:
        return str(((self.machine_of(obj) or {}).get("spec") or {}).get("clusterName") or "")

    async def load_scope(self, obj: Object, cluster: Object | None) -> Scope:
        io = self.services
        machine = self.machine_of(obj)
        assert machine is not None and cluster is not None, "a config is reconciled once its Cluster is known"
        # list items may come without type information; owner references need it
        for item, kind in ((obj, KUBEADM_CONFIG), (machine, MACHINE), (cluster, CLUSTER)):
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
        return Scope(client=io.client, config=obj, machine=machine, cluster=cluster, init_lock=io.init_lock,
                     workload_clients=io.workload_clients, token_ttl=io.token_ttl, token_checks=io.token_checks)

    async def reconcile_normal(self, scope: Scope) -> Result:
        return await reconcile_bootstrap(scope)

    def update_status(self, scope: Scope) -> None:
        status.set_ready_condition(scope.config)

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
        cache = self.services.cache
        try:
            for config in cache.list(KUBEADM_CONFIG, namespace=namespace, label_selector=selector, copy=False):
                keys[ObjectKey.of(config)] = None
            for machine in cache.list(MACHINE, namespace=namespace, label_selector=selector, copy=False):
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
