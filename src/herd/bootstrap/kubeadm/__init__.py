"""The kubeadm bootstrap provider: KubeadmConfig → cluster certificates, admin kubeconfig, bootstrap token and
cloud-init bootstrap data, following Cluster API's bootstrap contract (v1beta2).

    manager = Manager(client)
    manager.add(new_controller(client, manager.cache))
    await manager.run()

Workload clusters (for bootstrap tokens) are reached with the `<cluster>-kubeconfig` Secret unless a
`workload_clients` function is given.
"""

from __future__ import annotations

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import CLUSTER, MACHINE
from herd.contract.kubeconfig import KubeconfigWorkloadClients, WorkloadClients
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller

from .controller import CLUSTER_CHANGED, MACHINE_CHANGED, KubeadmConfigReconciler
from .locking import InitLock
from .tokens import DEFAULT_TOKEN_TTL

CONTROLLER_NAME = "kubeadmconfig"


def new_controller(client: Client, cache: Cache, *, workload_clients: WorkloadClients | None = None,
                   token_ttl: float = DEFAULT_TOKEN_TTL, max_concurrent_reconciles: int = 10,
                   name: str = CONTROLLER_NAME) -> Controller:
    """The KubeadmConfig controller, ready for `manager.add(...)`.

    `client` talks to the management cluster and `cache` is the manager's cache (the controller reads
    KubeadmConfigs, Machines and Clusters from it). `workload_clients(cluster)` returns a client to the
    cluster's own API server, used to create and extend bootstrap tokens; by default one built from the
    `<cluster>-kubeconfig` Secret. `token_ttl` is the bootstrap token lifetime in seconds (15 minutes).
    """
    reconciler = KubeadmConfigReconciler(client, cache, workload_clients=workload_clients
                                         or KubeconfigWorkloadClients(client), token_ttl=token_ttl)
    return (Controller.builder(name)
            .for_(KUBEADM_CONFIG, NOT_ONLY_STATUS_CHANGED, skip_own_writes=True)  # each reconcile finishes its work
            .watches(MACHINE, reconciler.machine_to_config, MACHINE_CHANGED)
            .watches(CLUSTER, reconciler.cluster_to_configs, CLUSTER_CHANGED)
            .with_concurrency(max_concurrent_reconciles)
            .build(reconciler))


__all__ = [
    "DEFAULT_TOKEN_TTL", "InitLock", "KubeadmConfigReconciler",
    "KubeconfigWorkloadClients", "WorkloadClients", "new_controller",
]
