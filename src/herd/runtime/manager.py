"""The manager runs controllers: shared cache, leader election, probes and metrics.

Order, as in controller-runtime: the probe/metrics server starts, informers for every watched kind
start and sync (also on candidates that do not lead, so a takeover starts warm), then, once this
process leads (or at once without leader election), the controllers start. Losing the Lease stops
the controllers and `run()` raises LeaderElectionLost: the process should exit and be restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import CollectorRegistry

from .cache import Cache
from .client import Client
from .controller import Controller
from .health import HealthServer
from .leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from .metrics import Metrics
from .waiting import wait_set

log = logging.getLogger("herd.runtime.manager")

DEFAULT_LEASE_NAME = "herd-controller-manager"
Runnable = Callable[[], Coroutine[Any, Any, None]]


class Manager:
    """Owns the client, the shared cache, the metrics registry and the controllers of one process."""

    def __init__(self, client: Client, *, namespace: str | None = None, leader_elect: bool = False,
                 leader_election: LeaderElectionConfig | None = None, health_host: str = "127.0.0.1",
                 health_port: int | None = 0, registry: CollectorRegistry | None = None,
                 sync_timeout: float = 120.0) -> None:
        self.client = client
        self.cache = Cache(client, namespace=namespace)
        self.metrics = Metrics(registry)
        self.controllers: list[Controller] = []
        self.sync_timeout = sync_timeout
        if leader_elect and leader_election is None:
            leader_election = LeaderElectionConfig(name=DEFAULT_LEASE_NAME)
        self.elector = LeaderElector(client, leader_election) if leader_election is not None else None
        self.health = HealthServer(self.metrics, host=health_host, port=health_port) \
            if health_port is not None else None
        if self.health is not None:
            self.health.ready_checks["informers-synced"] = lambda: self.cache.synced and self._synced.is_set()
        self._runnables: list[tuple[Runnable, bool]] = []
        self._synced = asyncio.Event()
        self._leading = asyncio.Event()

    def add(self, controller: Controller) -> None:
        """Run this controller (its kinds are cached from the start)."""
        self.controllers.append(controller)
        for kind in controller.kinds:
            self.cache.informer(kind)

    def add_runnable(self, runnable: Runnable, *, leader_only: bool = True) -> None:
        """Run a coroutine function alongside the controllers (cancelled on stop)."""
        self._runnables.append((runnable, leader_only))

    @property
    def is_leader(self) -> bool:
        """Whether the controllers run in this process now (always, without leader election)."""
        return self._leading.is_set()

    @property
    def identity(self) -> str | None:
        return self.elector.identity if self.elector is not None else None

    async def wait_leading(self, timeout: float | None = None) -> bool:
        """Wait until the controllers run here; False if `timeout` seconds pass first."""
        return await wait_set(self._leading, timeout)

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the cache has synced every kind; False if `timeout` seconds pass first."""
        return await wait_set(self._synced, timeout)

    async def run(self) -> None:
        """Run until cancelled; raises LeaderElectionLost if the Lease is lost, TimeoutError if sync fails."""
        background: list[asyncio.Task[None]] = []
        cancelled = False
        try:
            if self.health is not None:
                await self.health.start()
                log.info("serving /healthz, /readyz and /metrics on %s", self.health.url)
            for runnable, leader_only in self._runnables:
                if not leader_only:
                    background.append(asyncio.create_task(runnable()))
            await self.cache.start()
            if not await self.cache.wait_for_sync(self.sync_timeout):
                raise TimeoutError(f"caches did not sync within {self.sync_timeout}s")
            self._synced.set()
            if self.elector is not None:
                await self.elector.acquire()
                self.metrics.leader_election_master_status.labels(name=self.elector.config.name).set(1)
            self._leading.set()
            for controller in self.controllers:
                await controller.start(self.cache, self.metrics)
            for runnable, leader_only in self._runnables:
                if leader_only:
                    background.append(asyncio.create_task(runnable()))
            if self.elector is not None:
                await self.elector.hold()
            else:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise
        except LeaderElectionLost:
            log.error("leader election lost: stopping controllers")
            raise
        finally:
            await asyncio.shield(self._shutdown(background, release=cancelled))

    async def _shutdown(self, background: list[asyncio.Task[None]], *, release: bool) -> None:
        """Stop the controllers first, then give the Lease back, then stop the cache and the server."""
        was_leading = self._leading.is_set()
        self._leading.clear()
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(controller.stop() for controller in self.controllers))
        if self.elector is not None:
            self.metrics.leader_election_master_status.labels(name=self.elector.config.name).set(0)
            if was_leading and release and self.elector.config.release_on_cancel:
                await self.elector.release()
        await self.cache.stop()
        if self.health is not None:
            await self.health.stop()
