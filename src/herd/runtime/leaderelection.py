"""Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package does it.

A candidate takes the Lease when nobody holds it or the holder has not renewed it for a lease
duration (measured on the candidate's own clock from when it last saw the record change, so
clocks need not agree). The leader renews every retry period; if it cannot renew within the renew
deadline it has lost and must stop working. A leader that stops cleanly releases the Lease so
another candidate takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .client import Client
from .errors import AlreadyExists, ClientError, Conflict, NotFound
from .objects import LEASE, Object

log = logging.getLogger("herd.runtime.leaderelection")


class LeaderElectionLost(RuntimeError):
    """The leader could not renew its Lease in time: whatever it leads must stop."""


def default_identity() -> str:
    """hostname_uuid: unique per process, readable in `kubectl get lease -o yaml`."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class LeaderElectionConfig:
    """Which Lease, who we are, and the timings (controller-runtime's defaults: 15 s / 10 s / 2 s)."""

    name: str
    namespace: str = "default"
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")


class LeaderElector:
    """Campaigns for a Lease and keeps it."""

    def __init__(self, client: Client, config: LeaderElectionConfig) -> None:
        self.client = client
        self.config = config
        self._leading = False
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, duration) last seen
        self._observed_at = 0.0  # our monotonic clock when the record last changed
        self._observed_duration = config.lease_duration

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def identity(self) -> str:
        return self.config.identity

    async def acquire(self) -> None:
        """Return once this candidate holds the Lease (retrying every retry period, with jitter)."""
        log.info("%s: attempting to acquire lease %s/%s", self.identity, self.config.namespace, self.config.name)
        while True:
            try:
                if await self._try_acquire_or_renew():
                    break
            except ClientError as exc:  # the server may be away for a while: keep campaigning
                log.warning("%s: acquiring lease failed: %s", self.identity, exc)
            await asyncio.sleep(self.config.retry_period * (1 + 1.2 * random.random()))
        log.info("%s: acquired lease %s/%s", self.identity, self.config.namespace, self.config.name)

    async def hold(self) -> None:
        """Renew the Lease every retry period until cancelled; raises LeaderElectionLost.

        Cancelling does not release the Lease: the owner stops its work first, then calls `release()`.
        """
        while True:
            await asyncio.sleep(self.config.retry_period)
            await self._renew()

    async def _renew(self) -> None:
        deadline = time.monotonic() + self.config.renew_deadline
        while True:
            remaining = deadline - time.monotonic()
            try:
                async with asyncio.timeout(max(remaining, 0.001)):
                    if await self._try_acquire_or_renew():
                        return
            except (ClientError, TimeoutError) as exc:
                log.warning("%s: renewing lease failed: %s", self.identity, exc)
            if time.monotonic() >= deadline:
                self._leading = False
                raise LeaderElectionLost(f"{self.identity} could not renew lease {self.config.name} "
                                         f"within {self.config.renew_deadline}s")
            await asyncio.sleep(min(self.config.retry_period, max(deadline - time.monotonic(), 0)))

    async def release(self) -> None:
        """Give the Lease up now (empty holder, 1 s duration) so a candidate can take it at once."""
        if not self._leading:
            return
        self._leading = False
        try:
            lease = await self.client.get(LEASE, self.config.name, self.config.namespace)
            spec = lease.setdefault("spec", {})
            if spec.get("holderIdentity") != self.identity:
                return
            now = _micro_time()
            spec.update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": now, "acquireTime": now})
            await self.client.update(lease, kind=LEASE)
            log.info("%s: released lease %s/%s", self.identity, self.config.namespace, self.config.name)
        except ClientError as exc:
            log.warning("%s: releasing lease failed: %s", self.identity, exc)

    async def _try_acquire_or_renew(self) -> bool:
        config = self.config
        now = _micro_time()
        duration = max(1, math.ceil(config.lease_duration))
        try:
            lease = await self.client.get(LEASE, config.name, config.namespace)
        except NotFound:
            lease = {"apiVersion": LEASE.api_version, "kind": LEASE.kind,
                     "metadata": {"name": config.name, "namespace": config.namespace},
                     "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": duration,
                              "acquireTime": now, "renewTime": now, "leaseTransitions": 0}}
            try:
                created = await self.client.create(lease, kind=LEASE)
            except AlreadyExists:
                return False
            self._observe(created)
            self._leading = True
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        self._observe(lease)
        expired = self._observed_at + self._observed_duration <= time.monotonic()
        if holder and holder != self.identity and not expired:
            self._leading = False
            return False
        taking_over = holder != self.identity
        lease["spec"] = {
            **spec, "holderIdentity": self.identity, "leaseDurationSeconds": duration, "renewTime": now,
            "acquireTime": now if taking_over else spec.get("acquireTime", now),
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (1 if taking_over else 0),
        }
        try:
            updated = await self.client.update(lease, kind=LEASE)  # the resourceVersion makes this a compare-and-swap
        except Conflict:
            return False
        self._observe(updated)
        self._leading = True
        return True

    def _observe(self, lease: Object) -> None:
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseDurationSeconds"))
        if record != self._observed:
            self._observed = record
            self._observed_at = time.monotonic()
            self._observed_duration = float(spec.get("leaseDurationSeconds") or self.config.lease_duration)
