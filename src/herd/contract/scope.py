"""What every controller's Scope shares: its services, and the parts of the object it reconciles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from herd.runtime import Cache, Client, Object, ObjectKey
from herd.runtime.clustercache import ClusterCache

from .references import ContractResolver, ExternalTracker

ServicesT = TypeVar("ServicesT")


@dataclass
class Services:
    """What every controller's phases talk to: the management cluster and the manager's cache of it. A controller's
    own services extend it with what only it needs (waits, clients to workload clusters, simulators)."""

    client: Client
    cache: Cache


@dataclass
class ClusterServices(Services):
    """Services of a controller that follows provider objects through contract references and reads its workload
    cluster (the Cluster and Machine controllers)."""

    tracker: ExternalTracker
    resolver: ContractResolver
    cluster_cache: ClusterCache
    external_ready_wait: float = 10.0  # seconds until a look again at a provider object not ready yet


class ObjectScope(Generic[ServicesT]):
    """`io`, `meta`, `spec`, `status`, `name`, `namespace`, `key`, `deleting` and `cluster_name` of the object
    named by `subject_field` (a dataclass field of the subclass).

    Status functions get scopes without services; only phases touch `io`.
    """

    subject_field: ClassVar[str]
    services: ServicesT | None

    @property
    def subject(self) -> Object:
        subject: Object = getattr(self, self.subject_field)
        return subject

    @property
    def io(self) -> ServicesT:
        """The services; only phases (never status functions) use them."""
        if self.services is None:
            raise RuntimeError("this scope has no services: phases need a client")
        return self.services

    def part(self, *path: str) -> dict[str, Any]:
        """The dict at `path` in the object, created empty where missing (phases and status functions write it)."""
        found: dict[str, Any] = self.subject
        for key in path:
            found = found.setdefault(key, {})
        return found

    @property
    def meta(self) -> dict[str, Any]:
        return self.part("metadata")

    @property
    def spec(self) -> dict[str, Any]:
        return self.part("spec")

    @property
    def status(self) -> dict[str, Any]:
        return self.part("status")

    @property
    def initialization(self) -> dict[str, Any]:
        """`status.initialization`: the contract's provisioning progress."""
        return self.part("status", "initialization")

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace") or "")

    @property
    def deleting(self) -> bool:
        return bool(self.meta.get("deletionTimestamp"))

    @property
    def cluster_name(self) -> str:
        """The Cluster the object belongs to (`spec.clusterName`; a Cluster's scope overrides it)."""
        return str(self.spec.get("clusterName") or "")

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.namespace, self.name)

    @property
    def cluster_key(self) -> ObjectKey:
        return ObjectKey(self.namespace, self.cluster_name)
