"""Provider objects, met only through the Cluster API contract: `{apiGroup, kind, name}` references.

- `ContractResolver` turns a reference into a `Kind` and the contract version the provider speaks, from
  the `cluster.x-k8s.io/<contract>` label of the provider's CustomResourceDefinition (its value lists the
  API versions that implement that contract, separated by `_`);
- `ExternalTracker` starts watching a provider kind the first time a controller meets it, so changes
  to provider objects enqueue their owner;
- `ensure_owned` makes the owner the object's controller and labels it with the cluster name.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.objects import nested
from herd.runtime import CRD, Cache, Client, Kind, NotFound, Object, ObjectKey, TerminalError, WorkQueue
from herd.runtime.handlers import EnqueueForOwner

CONTRACTS = ("v1beta2", "v1beta1")  # newest first: the one herd speaks, then the one it still reads
CONTRACT_LABEL_PREFIX = "cluster.x-k8s.io/"
_ON_CREATE_OWNER_GROUPS = ("cluster.x-k8s.io", "controlplane.cluster.x-k8s.io")
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


@dataclass(frozen=True)
class ProviderKind:
    """Where a provider kind is served and which contract version its objects follow."""

    kind: Kind
    contract: str


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes API version order: GA above beta above alpha, then by number (v1 > v1beta2 > v1alpha3)."""
    match = _VERSION.match(version)
    if match is None:
        return (-1, -1, -1)
    stability = {"alpha": 0, "beta": 1, None: 2}[match.group(2)]
    return (stability, int(match.group(1)), int(match.group(3) or 0))


def provider_kind_from_crd(crd: Object) -> ProviderKind | None:
    """The Kind and contract of a CRD that carries a Cluster API contract label (None without one)."""
    labels = (crd.get("metadata") or {}).get("labels") or {}
    spec = crd.get("spec") or {}
    served = {v.get("name"): v for v in spec.get("versions") or [] if v.get("served")}
    for contract in CONTRACTS:
        listed = [v for v in str(labels.get(CONTRACT_LABEL_PREFIX + contract, "")).split("_") if v in served]
        if listed:
            version = max(listed, key=version_priority)
            names = spec.get("names") or {}
            kind = Kind(f"{spec['group']}/{version}", names["kind"], names["plural"],
                        namespaced=spec.get("scope") == "Namespaced",
                        status_subresource="status" in (served[version].get("subresources") or {}))
            return ProviderKind(kind, contract)
    return None


class ContractResolver:
    """Resolves provider references to Kinds by reading CustomResourceDefinitions (cached)."""

    def __init__(self, client: Client, *, relist_seconds: float = 5.0) -> None:
        self.client = client
        self.relist_seconds = relist_seconds  # a miss lists CRDs again at most this often (a CRD may come later)
        self._kinds: dict[tuple[str, str], ProviderKind] = {}
        self._listed_at = float("-inf")
        self._lock = asyncio.Lock()

    def register(self, api_group: str, kind: str, provider_kind: ProviderKind) -> None:
        """Make a kind known without asking the server."""
        self._kinds[(api_group, kind)] = provider_kind

    async def resolve(self, ref: dict[str, Any]) -> ProviderKind:
        """The ProviderKind for a `{apiGroup, kind, name}` reference; raises NotFound when no CRD serves it."""
        key = (str(ref.get("apiGroup", "")), str(ref.get("kind", "")))
        found = self._kinds.get(key)
        if found is not None:
            return found
        async with self._lock:
            found = self._kinds.get(key)
            if found is None and time.monotonic() - self._listed_at >= self.relist_seconds:
                await self._list()
                found = self._kinds.get(key)
        if found is None:
            raise NotFound(404, "NotFound", f"no CustomResourceDefinition with a Cluster API contract label "
                           f"serves {key[1]}.{key[0]}")
        return found

    async def _list(self) -> None:
        self._listed_at = time.monotonic()
        for crd in (await self.client.list(CRD)).items:
            provider_kind = provider_kind_from_crd(crd)
            if provider_kind is not None:
                self._kinds[(provider_kind.kind.group, provider_kind.kind.kind)] = provider_kind


PROVIDER_EVENT_DELAY = 0.05  # seconds from a provider object's event to its owner's reconcile (events coalesce)


class ExternalTracker:
    """Watches provider kinds as they are met; an event enqueues the object's controller owner of kind `owner`."""

    def __init__(self, client: Client, cache: Cache, owner: Kind) -> None:
        self.client = client
        self.cache = cache
        self.owner = owner
        self.queue: WorkQueue[ObjectKey] | None = None
        self._watched: set[Kind] = set()

    def bind(self, queue: WorkQueue[ObjectKey]) -> None:
        """The controller's queue: set once the controller is built."""
        self.queue = queue

    def watch(self, kind: Kind) -> None:
        """Start an informer for the kind (once) and enqueue owners on its events."""
        if kind in self._watched or self.queue is None:
            return
        self._watched.add(kind)
        # a provider writes its object's spec and then its status: one reconcile of the owner for both
        self.cache.informer(kind).add_handler(EnqueueForOwner(self.queue, self.owner, delay=PROVIDER_EVENT_DELAY))

    async def get(self, kind: Kind, namespace: str, name: str, *, copy: bool = True) -> Object | None:
        """The object (from the cache once its informer has synced, else from the server), or None;
        `copy=False` for a read-only view of the cache's copy."""
        self.watch(kind)
        if self.cache.informer(kind).has_synced:
            return self.cache.get(kind, namespace, name, copy=copy)
        try:
            return await self.client.get(kind, name, namespace)
        except NotFound:
            return None


async def fetch_reference(resolver: ContractResolver, tracker: ExternalTracker, ref: dict[str, Any],
                          namespace: str) -> tuple[ProviderKind | None, Object | None]:
    """The kind and the object (the cache's copy: read only) a contract reference names; (None, None) when no
    CRD serves the kind, (kind, None) while the object does not exist."""
    try:
        provider_kind = await resolver.resolve(ref)
    except NotFound:
        return None, None  # no CRD serves the kind: no such object can exist
    return provider_kind, await tracker.get(provider_kind.kind, namespace, str(ref["name"]), copy=False)


async def ensure_owned(client: Client, kind: Kind, obj: Object, owner: Object, cluster_name: str) -> Object:
    """Make `owner` the controller of `obj` and label `obj` with the cluster name; returns the object as stored.

    Controller references Cluster API objects put on objects at creation (a MachineSet or control plane
    before the Machine existed) give way to the new owner; any other controller is an error.
    """
    meta = obj.get("metadata") or {}
    owner_meta = owner["metadata"]
    desired = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner_meta["name"],
               "uid": owner_meta["uid"], "controller": True, "blockOwnerDeletion": True}
    refs: list[dict[str, Any]] = []
    for ref in meta.get("ownerReferences") or []:
        if ref.get("uid") == owner_meta["uid"]:
            continue
        if ref.get("controller"):
            if str(ref.get("apiVersion", "")).rpartition("/")[0] not in _ON_CREATE_OWNER_GROUPS:
                raise TerminalError(f"{obj.get('kind')} {meta.get('name')} is already controlled by "
                                    f"{ref.get('kind')} {ref.get('name')}")
            continue
        refs.append(ref)
    refs.append(desired)
    current = meta.get("ownerReferences") or []
    labelled = (meta.get("labels") or {}).get(CLUSTER_NAME_LABEL) == cluster_name
    if labelled and _same_refs(current, refs):
        return obj
    patch = {"metadata": {"ownerReferences": refs, "labels": {CLUSTER_NAME_LABEL: cluster_name},
                          "resourceVersion": meta.get("resourceVersion")}}  # a concurrent change is a Conflict
    return await client.patch(kind, meta["name"], patch, namespace=meta.get("namespace"))


def _same_refs(current: list[dict[str, Any]], desired: list[dict[str, Any]]) -> bool:
    def key(ref: dict[str, Any]) -> tuple[str, bool, bool]:
        return str(ref.get("uid")), bool(ref.get("controller")), bool(ref.get("blockOwnerDeletion"))
    return sorted(map(key, current)) == sorted(map(key, desired))


def is_provisioned(obj: Object, contract: str) -> bool:
    """InfraCluster / InfraMachine: `status.initialization.provisioned` (v1beta1: `status.ready`)."""
    path = ("status", "initialization", "provisioned") if contract != "v1beta1" else ("status", "ready")
    return nested(obj, *path) is True


def is_data_secret_created(obj: Object, contract: str) -> bool:
    """Bootstrap config: `status.initialization.dataSecretCreated` (v1beta1: `status.ready`)."""
    path = ("status", "initialization", "dataSecretCreated") if contract != "v1beta1" else ("status", "ready")
    return nested(obj, *path) is True


def is_control_plane_initialized(obj: Object, contract: str) -> bool:
    """Control plane: `status.initialization.controlPlaneInitialized` (v1beta1: `status.initialized`)."""
    path = (("status", "initialization", "controlPlaneInitialized") if contract != "v1beta1"
            else ("status", "initialized"))
    return nested(obj, *path) is True


def valid_endpoint(endpoint: Any) -> bool:
    """Whether an APIEndpoint has both a host and a port."""
    return isinstance(endpoint, dict) and bool(endpoint.get("host")) and bool(endpoint.get("port"))
