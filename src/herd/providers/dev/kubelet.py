"""Simulated kubelets: one asyncio task per Node keeps it Ready and its Lease renewed, as a kubelet's heartbeat does.

As a real kubelet with node leases: the Lease is renewed every beat (10 s), while the Node's status is posted
when what it reports changes and otherwise every 5 minutes (the kubelet's nodeStatusReportFrequency).

A kubelet registers its Node when it starts (after a controller restart the workload API server may have come back
empty) and afterwards only updates it: a Node deleted by someone else stays deleted, as with a real kubelet. The
fault mode changes what it reports: `not-ready` posts Ready=False; `gone` posts Unknown once (standing in for the
node lifecycle controller) and then stays silent, as a vanished VM would.

A control plane machine's kubelet also mirrors its static pods into kube-system each beat (`staticpods`): missing
ones are created again, readiness changes (faults) posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from herd.runtime import LEASE, NODE, AlreadyExists, Client, NotFound, Object, Unauthorized

from .staticpods import StaticPodSet
from .status import node_conditions
from .timing import format_time
from .workload import WorkloadClients

log = logging.getLogger("herd.providers.dev.kubelet")

KubeletMode = Literal["healthy", "not-ready", "gone"]
NODE_LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40  # the kubelet's default


@dataclass
class KubeletSpec:
    """Which Node a kubelet keeps, in which cluster, and how it behaves."""

    namespace: str
    cluster_name: str
    node: Object  # the Node as registered (name, labels, taints, providerID, addresses, …)
    mode: KubeletMode = "healthy"
    static_pods: StaticPodSet | None = None  # a control plane machine's kubeadm manifests

    @property
    def cluster_key(self) -> str:
        return f"{self.namespace}/{self.cluster_name}"

    @property
    def node_name(self) -> str:
        return str(self.node["metadata"]["name"])


@dataclass
class _Kubelet:
    spec: KubeletSpec
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    registered: bool = False
    node: Object | None = None  # as last written
    reported: tuple[str, float] | None = None  # the Ready status last posted, and when (monotonic)
    reported_gone: bool = False
    lease_created: bool = False  # by this kubelet: until then the first renewal creates it
    last_error: str = ""


class Kubelets:
    """The simulated kubelets of this process, keyed by (cluster key, node name)."""

    def __init__(self, clients: WorkloadClients, *, interval: float = 10.0, status_report_interval: float = 300.0,
                 rng: random.Random | None = None) -> None:
        self.clients = clients
        self.interval = interval
        self.status_report_interval = status_report_interval
        self._rng = rng or random.Random()
        self._kubelets: dict[tuple[str, str], _Kubelet] = {}
        self._closed = False

    def running(self, cluster_key: str, node_name: str) -> bool:
        """Whether a kubelet runs for this Node."""
        kubelet = self._kubelets.get((cluster_key, node_name))
        return kubelet is not None and kubelet.task is not None and not kubelet.task.done()

    def set_mode(self, cluster_key: str, node_name: str, mode: KubeletMode, *,
                 unready_pods: frozenset[str] = frozenset()) -> bool:
        """Change a running kubelet's mode and which of its static pods report not Ready (reported at once);
        False when no kubelet runs for the Node."""
        kubelet = self._kubelets.get((cluster_key, node_name))
        if kubelet is None or kubelet.task is None or kubelet.task.done():
            return False
        pods = kubelet.spec.static_pods
        if kubelet.spec.mode != mode or (pods is not None and pods.unready != unready_pods):
            kubelet.spec.mode = mode
            if pods is not None:
                pods.unready = unready_pods
            kubelet.reported_gone = False
            kubelet.wake.set()
        return True

    def ensure(self, spec: KubeletSpec, *, registered: Object | None = None) -> None:
        """Start the Node's kubelet, or update its mode (a change is reported at once, not at the next beat).

        `registered` is the Node as just registered by the caller (kubeadm join): the kubelet need not again."""
        key = (spec.cluster_key, spec.node_name)
        unready = spec.static_pods.unready if spec.static_pods is not None else frozenset()
        if self._closed or self.set_mode(spec.cluster_key, spec.node_name, spec.mode, unready_pods=unready):
            return
        kubelet = self._kubelets[key] = _Kubelet(spec, registered=registered is not None, node=registered)
        if registered is not None:
            kubelet.reported = _reported_at_registration(registered)
        kubelet.task = asyncio.create_task(self._run(kubelet), name=f"kubelet-{spec.cluster_key}/{spec.node_name}")

    async def stop(self, cluster_key: str, node_name: str) -> None:
        """Stop the Node's kubelet (nothing is written)."""
        kubelet = self._kubelets.pop((cluster_key, node_name), None)
        if kubelet is not None:
            await _cancel(kubelet)

    async def stop_cluster(self, cluster_key: str) -> None:
        """Stop every kubelet of a cluster."""
        for key in [k for k in self._kubelets if k[0] == cluster_key]:
            await self.stop(*key)

    async def close(self) -> None:
        """Stop every kubelet; none starts afterwards."""
        self._closed = True
        kubelets, self._kubelets = list(self._kubelets.values()), {}
        for kubelet in kubelets:
            await _cancel(kubelet)

    # ----- the heartbeat -----

    async def _run(self, kubelet: _Kubelet) -> None:
        while True:
            try:
                await self.beat(kubelet)
                kubelet.last_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the API server may be down or restarting: try again at the next beat
                message = f"{type(exc).__name__}: {exc}"
                if message != kubelet.last_error:
                    log.info("kubelet %s/%s: heartbeat failed: %s", kubelet.spec.cluster_key,
                             kubelet.spec.node_name, message)
                kubelet.last_error = message
                if isinstance(exc, Unauthorized):
                    await self.clients.invalidate(kubelet.spec.namespace, kubelet.spec.cluster_name)
            # spread thousands of kubelets over the interval instead of beating in lockstep
            delay = self.interval * (0.9 + 0.2 * self._rng.random()) if kubelet.registered else min(1.0, self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(kubelet.wake.wait(), delay)
            kubelet.wake.clear()

    async def beat(self, kubelet: _Kubelet) -> None:
        """One heartbeat: register if not yet done, post the Node's conditions, renew the Lease."""
        spec = kubelet.spec
        if spec.mode == "gone" and kubelet.reported_gone:
            return
        client = await self.clients.get(spec.namespace, spec.cluster_name)
        if not kubelet.registered:
            kubelet.node = await self._register(client, kubelet)
        if kubelet.node is None:
            return  # deleted by someone else after registration: a kubelet does not bring it back
        now = datetime.now(UTC)
        ready = {"healthy": "True", "not-ready": "False", "gone": "Unknown"}[spec.mode]
        if (kubelet.reported is None or kubelet.reported[0] != ready
                or time.monotonic() - kubelet.reported[1] >= self.status_report_interval):
            # the Node as last written stands in for a GET: conditions are replaced whole by the merge patch anyway
            conditions = node_conditions((kubelet.node.get("status") or {}).get("conditions") or [], ready, now)
            try:
                kubelet.node = await client.patch_status(NODE, spec.node_name, {"status": {"conditions": conditions}})
            except NotFound:
                kubelet.node = None
                log.info("kubelet %s/%s: its Node was deleted", spec.cluster_key, spec.node_name)
                return
            kubelet.reported = (ready, time.monotonic())
        if spec.mode == "gone":
            if spec.static_pods is not None:  # before going silent: a failed write is tried again next beat
                await spec.static_pods.sync(client, kubelet.node, node_ready=False)
            kubelet.reported_gone = True
            return
        try:
            await self._renew_lease(client, kubelet, now)
        except NotFound:
            kubelet.node = None
            log.info("kubelet %s/%s: its Node was deleted", spec.cluster_key, spec.node_name)
            return
        if spec.static_pods is not None:
            await spec.static_pods.sync(client, kubelet.node, node_ready=spec.mode == "healthy")

    async def _register(self, client: Client, kubelet: _Kubelet) -> Object:
        """The Node, created when missing (at first start, or when the API server came back empty)."""
        name = kubelet.spec.node_name
        try:
            node = await client.create(kubelet.spec.node, kind=NODE)
            kubelet.reported = _reported_at_registration(node)
            log.info("kubelet %s/%s registered its Node", kubelet.spec.cluster_key, name)
        except AlreadyExists:
            node = await client.get(NODE, name)
        kubelet.registered = True
        return node

    async def _renew_lease(self, client: Client, kubelet: _Kubelet, now: datetime) -> None:
        node = kubelet.node
        assert node is not None
        name = node["metadata"]["name"]
        renew = format_time(now)
        if not kubelet.lease_created and node["metadata"].get("uid"):
            # a kubelet's first renewal creates its Lease; one left from before (a restart) is renewed below
            with contextlib.suppress(AlreadyExists):
                await client.create(node_lease(node, renew), kind=LEASE)
                kubelet.lease_created = True
                return
            kubelet.lease_created = True
        try:
            await client.patch(LEASE, name, {"spec": {"holderIdentity": name, "renewTime": renew}},
                               namespace=NODE_LEASE_NAMESPACE)
        except NotFound:
            node = await client.get(NODE, name)  # NotFound when the Node itself is gone: no Lease for it then
            with contextlib.suppress(AlreadyExists):
                await client.create(node_lease(node, renew), kind=LEASE)


def _reported_at_registration(node: Object) -> tuple[str, float] | None:
    """The Ready status a just-registered Node carries, as if posted now: the first beat need not post it again."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status")), time.monotonic()
    return None


def node_lease(node: Object, renew_time: str) -> Object:
    """The Node's heartbeat Lease in kube-node-lease, owned by the Node."""
    name = node["metadata"]["name"]
    owner: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"].get("uid", "")}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": NODE_LEASE_NAMESPACE, "ownerReferences": [owner]},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew_time}}


async def _cancel(kubelet: _Kubelet) -> None:
    if kubelet.task is not None:
        kubelet.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await kubelet.task


__all__ = ["KubeletMode", "KubeletSpec", "Kubelets", "node_lease"]
