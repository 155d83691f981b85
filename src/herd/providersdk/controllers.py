"""The two controllers every SDK provider gets: one reconcile skeleton (herd.contract's: fetch, the owner Cluster,
paused, finalizer, one patch) around the provider's functions, with the contract's waits, provisioned bookkeeping,
conditions, Events and error backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pydantic

from herd.api.cluster import CLUSTER, MACHINE
from herd.api.cluster.labels import CLUSTER_NAME_LABEL
from herd.api.conditions import DELETING_REASON, INTERNAL_ERROR_REASON
from herd.api.objects import nested
from herd.contract.indexes import CLUSTER_STATE_CHANGED
from herd.contract.scope import Services
from herd.runtime import (
    NOT_ONLY_STATUS_CHANGED,
    Cache,
    Client,
    Conflict,
    Controller,
    Kind,
    Object,
    ObjectKey,
    PredicateFuncs,
    Result,
    recorder_for,
)
from herd.runtime.clustercache import ClusterCache
from herd.runtime.events import error_text
from herd.runtime.finalizers import remove_finalizer

from . import contract
from .context import BootstrapDataError, ClusterContext, MachineContext, ObjectContext
from .models import CONTRACT_STATUS_KEYS
from .outcomes import (
    Backoff,
    ClusterProvisioned,
    MachineProvisioned,
    PermanentError,
    ProviderError,
    RetryableError,
    Waiting,
)
from .reconciler import MachineReconcilerBase, ProviderReconciler

if TYPE_CHECKING:
    from .provider import InfrastructureProvider

CtxT = TypeVar("CtxT", bound=ObjectContext[Any, Any])
INVALID_SPEC_REASON = "InvalidSpec"


@dataclass
class _Run(Generic[CtxT]):
    """One reconcile: the context handed to the provider, and what came of it."""

    ctx: CtxT
    invalid: str | None = None  # the spec or status does not parse into the provider's models
    outcome: object = None
    failed: bool = False
    skipped: bool = False  # still backing off after a failure: the provider was not called, the status stays


@dataclass
class _Failures:
    """Consecutive failures per object (by uid), for the backoff; forgotten on success."""

    backoff: Backoff
    counts: dict[str, int] = field(default_factory=dict)
    not_before: dict[str, float] = field(default_factory=dict)  # monotonic time of the next attempt

    def failed(self, uid: str, error: ProviderError | None) -> float:
        self.counts[uid] = self.counts.get(uid, 0) + 1
        delay = error.retry_after if isinstance(error, RetryableError) and error.retry_after \
            else self.backoff.delay(self.counts[uid])
        self.not_before[uid] = time.monotonic() + delay
        return delay

    def wait(self, uid: str) -> float:
        """Seconds until the next attempt may run: an event arriving during the delay does not cut it short."""
        return max(0.0, self.not_before.get(uid, 0.0) - time.monotonic())

    def succeeded(self, uid: str) -> None:
        self.counts.pop(uid, None)
        self.not_before.pop(uid, None)


class _InfraReconciler(ProviderReconciler[Services, _Run[CtxT]]):
    """What the cluster and machine reconcilers share: parsing, error handling, the status write-back."""

    def __init__(self, provider: InfrastructureProvider, services: Services, extra: Any,
                 decl: Any, kind: Kind, cluster_cache: ClusterCache) -> None:
        super().__init__(services)
        self.provider = provider
        self.decl = decl
        self.kind = kind  # type: ignore[misc]  # set per instance: one class serves every provider
        self.finalizer = provider.finalizer_of(decl)  # type: ignore[misc]
        self.log = logging.getLogger(f"herd.providers.{provider.name}")  # type: ignore[misc]
        self.extra = extra
        self.cluster_cache = cluster_cache
        self.events = recorder_for(services.client, f"{provider.name}-{decl.kind.lower()}-controller")
        self.failures = _Failures(provider.backoff)

    def _parse(self, obj: Object) -> tuple[Any, Any, str | None]:
        try:
            return (self.decl.spec.model_validate(obj.get("spec") or {}),
                    self.decl.status.model_validate(obj.get("status") or {}), None)
        except pydantic.ValidationError as exc:
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            message = errors[0]["msg"] if errors else str(exc)
            return self.decl.spec.model_construct(), self.decl.status.model_construct(), \
                f"{where}: {message}" if where else message

    def _common(self, obj: Object, cluster: Object | None) -> tuple[dict[str, Any], str | None]:
        """The context's fields every kind shares, and why the object does not parse (None when it does)."""
        spec, status, invalid = self._parse(obj)
        return {"object": obj, "spec": spec, "status": status, "cluster": cluster, "kind": self.kind,
                "client": self.services.client, "cache": self.services.cache, "events": self.events,
                "services": self.extra, "log": self.log, "cluster_cache": self.cluster_cache}, invalid

    async def _call(self, run: _Run[CtxT], deleting: bool) -> Result:
        """Run the provider's function; turn its outcome or error into conditions, Events and when to look again."""
        ctx, uid = run.ctx, str(nested(run.ctx.object, "metadata", "uid") or "")
        if run.invalid is not None and not deleting:
            contract.set_not_provisioned(ctx.object, INVALID_SPEC_REASON, run.invalid)
            return Result()
        if wait := self.failures.wait(uid):
            run.skipped = True
            return Result(requeue_after=wait)
        try:
            outcome = await (self.decl.delete(ctx) if deleting else self._reconcile(run))
        except Conflict:
            raise
        except PermanentError as exc:
            run.failed = True
            await self._report(ctx, exc.reason, exc.message)
            return Result()
        except Exception as exc:
            run.failed = True
            error = exc if isinstance(exc, ProviderError) else None
            if error is None:
                self.log.exception("%s %s/%s: reconcile failed", self.kind.kind, ctx.namespace, ctx.name)
            delay = self.failures.failed(uid, error)
            await self._report(ctx, error.reason if error else INTERNAL_ERROR_REASON,
                               f"{error.message if error else error_text(exc)} (attempt {self.failures.counts[uid]};"
                               f" next in {delay:g}s)")
            return Result(requeue_after=delay)
        self.failures.succeeded(uid)
        run.outcome = outcome
        if deleting:
            if outcome is None:
                remove_finalizer(ctx.object, self.finalizer)
                return Result()
            assert isinstance(outcome, Waiting)
            contract.set_not_provisioned(ctx.object, DELETING_REASON, outcome.message or outcome.reason)
            return Result(requeue_after=outcome.retry_after or 0.0)
        return await self._apply(ctx, outcome)

    async def _report(self, ctx: ObjectContext[Any, Any], reason: str, message: str) -> None:
        contract.set_not_provisioned(ctx.object, reason, message)
        self.log.info("%s %s/%s: %s: %s", self.kind.kind, ctx.namespace, ctx.name, reason, message)
        await ctx.warning(reason, message)

    async def _reconcile(self, run: _Run[CtxT]) -> object:
        raise NotImplementedError

    async def _apply(self, ctx: CtxT, outcome: object) -> Result:
        raise NotImplementedError

    @staticmethod
    def _waiting(ctx: ObjectContext[Any, Any], outcome: Waiting) -> Result:
        contract.set_not_provisioned(ctx.object, outcome.reason, outcome.message)
        return Result(requeue_after=outcome.retry_after or 0.0)

    async def reconcile_normal(self, scope: _Run[CtxT]) -> Result:
        return await self._call(scope, deleting=False)

    async def reconcile_delete(self, scope: _Run[CtxT]) -> Result:
        return await self._call(scope, deleting=True)

    def update_status(self, scope: _Run[CtxT]) -> None:
        obj, typed = scope.ctx.object, scope.ctx.status
        if scope.skipped:
            return
        if scope.invalid is None:  # the provider's own status fields, even after a failure (IDs of what it made)
            raw = obj.setdefault("status", {})
            for key in [k for k in raw if k not in CONTRACT_STATUS_KEYS]:
                del raw[key]
            for key, value in typed.to_dict().items():
                if key not in CONTRACT_STATUS_KEYS:
                    raw[key] = value
        contract.set_ready(obj, deleting=scope.ctx.deleting)


class ClusterReconciler(_InfraReconciler[ClusterContext[Any, Any]]):
    """The provider's cluster kind: its Cluster is its owner."""

    async def load_scope(self, obj: Object, cluster: Object | None) -> _Run[ClusterContext[Any, Any]]:
        common, invalid = self._common(obj, cluster)
        return _Run(ClusterContext(**common, machine_kind=self.provider.machine_kind), invalid)

    async def _reconcile(self, run: _Run[ClusterContext[Any, Any]]) -> object:
        return await self.decl.reconcile(run.ctx)

    async def _apply(self, ctx: ClusterContext[Any, Any], outcome: object) -> Result:
        if isinstance(outcome, Waiting):
            return self._waiting(ctx, outcome)
        assert isinstance(outcome, ClusterProvisioned), f"reconcile returned {outcome!r}"
        if outcome.endpoint is not None and outcome.endpoint.host and outcome.endpoint.port:
            contract.set_endpoint(ctx.object, outcome.endpoint.host, outcome.endpoint.port)
        contract.set_failure_domains(ctx.object, list(outcome.failure_domains))
        if contract.set_provisioned(ctx.object):
            await ctx.event("Provisioned", "The cluster infrastructure is provisioned")
        return Result(requeue_after=outcome.recheck_after or 0.0)


class MachineReconciler(MachineReconcilerBase[Services, _Run[MachineContext[Any, Any]]],
                        _InfraReconciler[MachineContext[Any, Any]]):
    """The provider's machine kind: its owner Machine names the Cluster."""

    async def load_scope(self, obj: Object, cluster: Object | None) -> _Run[MachineContext[Any, Any]]:
        infra_name = nested(cluster, "spec", "infrastructureRef", "name")
        infra = self.services.cache.get(self.provider.cluster_kind, str(nested(obj, "metadata", "namespace")),
                                        str(infra_name), copy=False) if infra_name else None
        common, invalid = self._common(obj, cluster)
        return _Run(MachineContext(**common, machine=self.machine_of(obj), infra_cluster=infra), invalid)

    async def _reconcile(self, run: _Run[MachineContext[Any, Any]]) -> object:
        ctx = run.ctx
        if ctx.machine is None or ctx.cluster is None:
            return Waiting("WaitingForMachine", "Waiting for the Machine controller to set the owner Machine")
        if not contract.is_provisioned(ctx.object):
            ready = nested(ctx.cluster, "status", "initialization", "infrastructureProvisioned") is True
            waiting = contract.machine_waiting_for(ctx.machine, ctx.cluster, cluster_infrastructure_ready=ready)
            if waiting is not None:
                return waiting
        try:
            return await self.decl.reconcile(ctx)
        except BootstrapDataError as exc:
            raise ProviderError(str(exc), reason="WaitingForBootstrapData") from None

    async def _apply(self, ctx: MachineContext[Any, Any], outcome: object) -> Result:
        if isinstance(outcome, Waiting):
            return self._waiting(ctx, outcome)
        assert isinstance(outcome, MachineProvisioned), f"reconcile returned {outcome!r}"
        first = contract.set_machine_provisioned(ctx.object, outcome.provider_id, outcome.addresses)
        contract.set_provisioned(ctx.object)
        if first:
            await ctx.event("Provisioned", f"The machine is provisioned: {outcome.provider_id}")
        return Result(requeue_after=outcome.recheck_after or 0.0)


def _refers_to(obj: Object, kind: Kind) -> list[ObjectKey]:
    ref = nested(obj, "spec", "infrastructureRef") or {}
    if ref.get("kind") != kind.kind or ref.get("apiGroup", kind.group) != kind.group or not ref.get("name"):
        return []
    return [ObjectKey(str(nested(obj, "metadata", "namespace") or ""), str(ref["name"]))]


def cluster_controller(provider: InfrastructureProvider, client: Client, cache: Cache, extra: Any,
                       cluster_cache: ClusterCache) -> Controller:
    """The controller of the provider's cluster kind: its objects, their Clusters, and its machines going away."""
    kind, machine_kind = provider.cluster_kind, provider.machine_kind

    def for_cluster(cluster: Object) -> Iterable[ObjectKey]:
        return _refers_to(cluster, kind)

    def for_machine(infra_machine: Object) -> Iterable[ObjectKey]:
        namespace = str(nested(infra_machine, "metadata", "namespace") or "")
        cluster_name = (nested(infra_machine, "metadata", "labels") or {}).get(CLUSTER_NAME_LABEL)
        cluster = cache.get(CLUSTER, namespace, cluster_name, copy=False) if cluster_name else None
        return _refers_to(cluster, kind) if cluster is not None else []

    reconciler = ClusterReconciler(provider, Services(client, cache), extra, provider.cluster, kind, cluster_cache)
    return (Controller.builder(f"{provider.name}-{kind.kind.lower()}")
            .for_(kind, NOT_ONLY_STATUS_CHANGED)
            .watches(CLUSTER, for_cluster, CLUSTER_STATE_CHANGED)
            .watches(machine_kind, for_machine, PredicateFuncs(on_create=lambda o: False,
                                                               on_update=lambda old, new: False))
            .build(reconciler))


def machine_controller(provider: InfrastructureProvider, client: Client, cache: Cache, extra: Any,
                       cluster_cache: ClusterCache) -> Controller:
    """The controller of the provider's machine kind: its objects, their Machines (bootstrap data appears), and
    their Clusters (infrastructure provisioned, control plane initialized, paused)."""
    kind = provider.machine_kind

    def for_machine(machine: Object) -> Iterable[ObjectKey]:
        return _refers_to(machine, kind)

    def for_cluster(cluster: Object) -> Iterable[ObjectKey]:
        namespace = str(nested(cluster, "metadata", "namespace") or "")
        name = nested(cluster, "metadata", "name")
        return [ObjectKey(namespace, str(nested(m, "metadata", "name")))
                for m in cache.list(kind, namespace=namespace, copy=False)
                if (nested(m, "metadata", "labels") or {}).get(CLUSTER_NAME_LABEL) == name]

    reconciler = MachineReconciler(provider, Services(client, cache), extra, provider.machine, kind, cluster_cache)
    return (Controller.builder(f"{provider.name}-{kind.kind.lower()}")
            .for_(kind, NOT_ONLY_STATUS_CHANGED)
            .watches(MACHINE, for_machine, NOT_ONLY_STATUS_CHANGED)
            .watches(CLUSTER, for_cluster, CLUSTER_STATE_CHANGED)
            .with_concurrency(provider.concurrency)
            .build(reconciler))
