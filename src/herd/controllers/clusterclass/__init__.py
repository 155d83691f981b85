"""The ClusterClass controller (upstream's core/reconcilers/clusterclass).

    manager.add(clusterclass.new_controller(client, manager.cache))

It makes the class the owner of every template it refers to, notes references that are not on the latest
apiVersion of their kind (RefVersionsUpToDate), and publishes the variables Clusters are checked against in
status.variables (VariablesReady). Like upstream's, it hears only of ClusterClass changes: a template created
after its class is found on the retry that follows the failed reconcile.
"""

from __future__ import annotations

from herd.api.cluster import CLUSTER_CLASS
from herd.contract.references import ContractResolver
from herd.runtime import NOT_ONLY_STATUS_CHANGED, Cache, Client, Controller

from .controller import ClusterClassReconciler
from .scope import ClusterClassScope, Services

CONTROLLER_NAME = "clusterclass"


def new_controller(client: Client, cache: Cache, *, concurrency: int = 2,
                   resolver: ContractResolver | None = None) -> Controller:
    """The ClusterClass controller, ready for `manager.add(...)`; `cache` must be that manager's cache."""
    services = Services(client=client, cache=cache, resolver=resolver or ContractResolver(client))
    return (Controller.builder(CONTROLLER_NAME).for_(CLUSTER_CLASS, NOT_ONLY_STATUS_CHANGED)
            .with_concurrency(concurrency)
            .build(ClusterClassReconciler(services)))


__all__ = ["CONTROLLER_NAME", "ClusterClassReconciler", "ClusterClassScope", "Services", "new_controller"]
