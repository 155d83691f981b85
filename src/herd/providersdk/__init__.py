"""herd's provider SDK: what an infrastructure provider builds on.

A provider is a pydantic spec and status per kind and four async functions:

    from herd.providersdk import (ClusterContext, ClusterKind, ClusterProvisioned, ClusterSpec, ClusterStatus,
                                  InfrastructureProvider, MachineContext, MachineKind, MachineProvisioned,
                                  MachineSpec, MachineStatus, RetryableError, Waiting)

    async def reconcile_cluster(ctx: ClusterContext[MySpec, ClusterStatus]) -> ClusterProvisioned | Waiting: ...
    async def delete_cluster(ctx: ClusterContext[MySpec, ClusterStatus]) -> Waiting | None: ...
    async def reconcile_machine(ctx: MachineContext[MyMachineSpec, MachineStatus]) -> MachineProvisioned | Waiting: ...
    async def delete_machine(ctx: MachineContext[MyMachineSpec, MachineStatus]) -> Waiting | None: ...

    provider = InfrastructureProvider(
        name="my",
        cluster=ClusterKind("MyCluster", MySpec, ClusterStatus, reconcile=reconcile_cluster, delete=delete_cluster),
        machine=MachineKind("MyMachine", MyMachineSpec, MachineStatus, reconcile=reconcile_machine,
                            delete=delete_machine),
    )

The SDK carries the contract: CRDs for the kinds and their templates (contract label `cluster.x-k8s.io/v1beta2`),
finalizers, paused (the Cluster's `spec.paused` or the paused annotation: only the Paused condition is written),
waiting for the owner Cluster and Machine, the cluster infrastructure and the bootstrap data,
`status.initialization.provisioned`, `spec.providerID`, `status.addresses`, `spec.controlPlaneEndpoint`,
`status.failureDomains`, the Provisioned and Ready conditions (Ready summarizes Provisioned and the provider's own
conditions), errors as conditions with retries and exponential backoff, Events, and `find_or_create` for
creating cloud resources exactly once. `docs/providers.md` walks through a complete provider.

Layers: herd.providers.* import this package; it imports herd.contract, herd.api and herd.runtime only.
"""

from .context import BootstrapDataError, ClusterContext, MachineContext, ObjectContext
from .contract import PROVISIONED_CONDITION, machine_waiting_for
from .idempotency import find_or_create, owned_tags
from .loading import ENTRY_POINT_GROUP, ProviderLoadError, load_provider, providers_from
from .models import (
    APIEndpoint,
    ClusterSpec,
    ClusterStatus,
    FailureDomain,
    Initialization,
    MachineAddress,
    MachineSpec,
    MachineStatus,
)
from .outcomes import (
    Backoff,
    ClusterProvisioned,
    MachineProvisioned,
    PermanentError,
    ProviderError,
    RetryableError,
    Waiting,
)
from .provider import INFRASTRUCTURE_GROUP, ClusterKind, InfrastructureProvider, MachineKind

__all__ = [
    "ENTRY_POINT_GROUP", "INFRASTRUCTURE_GROUP", "PROVISIONED_CONDITION", "APIEndpoint", "Backoff",
    "BootstrapDataError", "ClusterContext", "ClusterKind", "ClusterProvisioned", "ClusterSpec", "ClusterStatus",
    "FailureDomain", "InfrastructureProvider", "Initialization", "MachineAddress", "MachineContext", "MachineKind",
    "MachineProvisioned", "MachineSpec", "MachineStatus", "ObjectContext", "PermanentError", "ProviderError",
    "ProviderLoadError", "RetryableError", "Waiting", "find_or_create", "load_provider", "machine_waiting_for",
    "owned_tags", "providers_from",
]
