"""A controller: a rate-limited work queue of keys, N workers, and `reconcile(key) -> Result`.

Level-triggered: events only say *which* key to look at; the reconcile reads the cache and makes
the world match. Errors are retried with per-key exponential backoff, success forgets the key,
`Result(requeue_after=…)` looks again later. A 409 Conflict (someone else wrote an object the reconcile
was writing) is a quiet requeue with the same backoff: no reconciler needs to catch it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .cache import Cache
from .errors import Conflict
from .handlers import EnqueueForObject, EnqueueForOwner, EnqueueMapped, HandlerFactory, MapFunc, Predicate
from .metering import Metered
from .metrics import Metrics
from .objects import Kind, ObjectKey
from .ownwrites import OwnWrites
from .ratelimit import RateLimiter
from .workqueue import ShutDown, WorkQueue

log = logging.getLogger("herd.runtime.controller")


@dataclass(frozen=True)
class Result:
    """What the reconcile asks for: nothing (done), a rate-limited `requeue`, or a look again after N seconds."""

    requeue: bool = False
    requeue_after: float = 0.0


class Reconciler(Protocol):
    """Makes the world match the object with this key."""

    async def reconcile(self, key: ObjectKey) -> Result: ...


ReconcileFunc = Callable[[ObjectKey], Coroutine[Any, Any, Result | None]]


class TerminalError(Exception):
    """A reconcile error that retrying cannot fix: logged and counted, not requeued."""


@dataclass(frozen=True)
class Watch:
    """A kind to watch and how its events become keys."""

    kind: Kind
    handler: HandlerFactory


class Controller:
    """Work queue + workers + the watches that feed the queue."""

    def __init__(self, name: str, reconciler: Reconciler | ReconcileFunc, watches: Sequence[Watch], *,
                 max_concurrent_reconciles: int = 1, rate_limiter: RateLimiter | None = None,
                 own_writes: OwnWrites | None = None) -> None:
        if max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        self.name = name
        self.watches = tuple(watches)
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.queue: WorkQueue[ObjectKey] = WorkQueue(name, rate_limiter=rate_limiter)
        self._reconcile = _as_func(reconciler)
        self._metrics: Metrics | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.own_writes = own_writes  # see Builder.for_(skip_own_writes=True)
        self._observing_writes = False

    @staticmethod
    def builder(name: str) -> Builder:
        """Start describing a controller: `.for_(kind).owns(kind).watches(kind, fn).build(reconciler)`."""
        return Builder(name)

    @property
    def kinds(self) -> list[Kind]:
        """Every kind this controller watches (the manager's cache must sync them first)."""
        return list(dict.fromkeys(w.kind for w in self.watches))

    @property
    def started(self) -> bool:
        return bool(self._workers)

    async def start(self, cache: Cache, metrics: Metrics | None = None) -> None:
        """Hook the watches into the cache's informers and start the workers."""
        if self._workers:
            raise RuntimeError(f"controller {self.name} already started")
        self._metrics = metrics
        if metrics is not None:
            self.queue.metrics = metrics.queue_metrics(self.name)
            metrics.max_concurrent_reconciles.labels(controller=self.name).set(self.max_concurrent_reconciles)
            metrics.active_workers.labels(controller=self.name).set(0)
            for result in ("success", "error", "requeue", "requeue_after"):  # series exist from the start
                metrics.reconcile_total.labels(controller=self.name, result=result)
            metrics.reconcile_errors.labels(controller=self.name)
        if self.own_writes is not None and cache.client is not None and not self._observing_writes:
            cache.client.observe_writes(self.own_writes.observe)
            self._observing_writes = True
        for watch in self.watches:
            cache.informer(watch.kind).add_handler(watch.handler(self.queue))
        self._workers = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                         for i in range(self.max_concurrent_reconciles)]
        log.info("controller %s started %d workers", self.name, self.max_concurrent_reconciles,
                 extra={"controller": self.name})

    async def stop(self) -> None:
        """Stop the workers (a reconcile in progress is cancelled) and shut the queue down."""
        self.queue.shutdown()
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.reconcile_handler(key)
            finally:
                self.queue.done(key)

    async def reconcile_handler(self, key: ObjectKey) -> None:
        """Reconcile one key and decide, from the outcome, when it is looked at again."""
        metrics = self._metrics
        if metrics is not None:
            metrics.active_workers.labels(controller=self.name).inc()
        started = time.monotonic()
        outcome = "success"
        metered: Metered[Result | None] = Metered(self._reconcile(key))
        try:
            with self.own_writes.reconciling() if self.own_writes is not None else contextlib.nullcontext():
                result = await metered or Result()
        except asyncio.CancelledError:
            raise
        except Conflict as exc:  # someone else wrote an object this reconcile was writing: look again, quietly
            outcome = "requeue"
            self.queue.add_rate_limited(key)
            log.info("%s: %s: %s; trying again", self.name, key, exc, extra={"controller": self.name, "key": str(key)})
        except TerminalError:
            outcome = "error"
            log.exception("%s: reconcile of %s failed terminally", self.name, key,
                          extra={"controller": self.name, "key": str(key)})
        except Exception:
            outcome = "error"
            self.queue.add_rate_limited(key)
            log.exception("%s: reconcile of %s failed (retry %d)", self.name, key, self.queue.num_requeues(key),
                          extra={"controller": self.name, "key": str(key)})
        else:
            if result.requeue_after > 0:
                outcome = "requeue_after"
                self.queue.forget(key)
                self.queue.add_after(key, result.requeue_after)
            elif result.requeue:
                outcome = "requeue"
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
        finally:
            self.queue.record_busy(key, metered.busy)
            if metrics is not None:
                metrics.active_workers.labels(controller=self.name).dec()
                metrics.reconcile_time.labels(controller=self.name).observe(time.monotonic() - started)
                metrics.reconcile_cpu.labels(controller=self.name).inc(metered.busy)
        if metrics is not None:
            metrics.reconcile_total.labels(controller=self.name, result=outcome).inc()
            if outcome == "error":
                metrics.reconcile_errors.labels(controller=self.name).inc()


def _as_func(reconciler: Reconciler | ReconcileFunc) -> ReconcileFunc:
    method = getattr(reconciler, "reconcile", None)
    if method is not None and inspect.iscoroutinefunction(method):
        bound: ReconcileFunc = method
        return bound
    if callable(reconciler):
        return reconciler
    raise TypeError("a reconciler is an object with `async def reconcile(key)` or such a function")


class Builder:
    """Describes a controller the way controller-runtime's builder does."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._for: Kind | None = None
        self._own_writes: OwnWrites | None = None
        self._watches: list[Watch] = []
        self._concurrency = 1
        self._rate_limiter: RateLimiter | None = None

    def for_(self, kind: Kind, *predicates: Predicate, skip_own_writes: bool = False) -> Builder:
        """The kind this controller reconciles: its objects' own keys are enqueued.

        `skip_own_writes`: the update events of the objects' versions this controller's reconciles wrote do not
        queue them again (see `herd.runtime.ownwrites`); only for reconciles that finish their work in one pass.
        """
        if self._for is not None:
            raise ValueError("for_() may be called only once")
        self._for = kind
        if skip_own_writes:
            own = self._own_writes = OwnWrites(kind)
            predicates = (own.predicate, *predicates)
        self._watches.insert(0, Watch(kind, lambda q: EnqueueForObject(q, predicates)))
        return self

    def owns(self, kind: Kind, *predicates: Predicate, delay: float = 0.0) -> Builder:
        """A kind the reconciled objects control: an event enqueues the controller owner's key.

        With `delay` (seconds) the owner is reconciled that long after the first event, once for every event
        in between: for owners that aggregate many children, whose status need not follow each child at once.
        """
        owner = self._for
        if owner is None:
            raise ValueError("call for_() before owns()")
        self._watches.append(Watch(kind, lambda q: EnqueueForOwner(q, owner, predicates, delay=delay)))
        return self

    def watches(self, kind: Kind, map_fn: MapFunc, *predicates: Predicate, delay: float = 0.0) -> Builder:
        """Any kind: an event enqueues the keys `map_fn` returns for the object (after `delay`, as in `owns`)."""
        self._watches.append(Watch(kind, lambda q: EnqueueMapped(q, map_fn, predicates, delay=delay)))
        return self

    def with_concurrency(self, workers: int) -> Builder:
        """How many keys are reconciled at once (never the same key twice)."""
        self._concurrency = workers
        return self

    def with_rate_limiter(self, rate_limiter: RateLimiter) -> Builder:
        """Replace the default retry delays (5 ms doubling to 1000 s; 10 qps, burst 100)."""
        self._rate_limiter = rate_limiter
        return self

    def build(self, reconciler: Reconciler | ReconcileFunc) -> Controller:
        """The controller; add it to a Manager to run it."""
        if self._for is None and not self._watches:
            raise ValueError(f"controller {self._name} watches nothing: call for_() or watches()")
        return Controller(self._name, reconciler, self._watches, max_concurrent_reconciles=self._concurrency,
                          rate_limiter=self._rate_limiter, own_writes=self._own_writes)
