"""herd's Dev infrastructure provider, inMemory backend: DevClusters and DevMachines simulated in-process.

    provider = DevProvider(manager.client, workload_servers, cache=manager.cache)
    provider.add_to(manager)          # the controllers, and the kubelets' shutdown with the manager

or, for just the controllers: `new_controllers(client, workload_servers, cache=manager.cache)`.

A DevCluster gets a free port on 127.0.0.1 as its control plane endpoint. A DevMachine "boots" from its bootstrap
data (cloud-init): `kubeadm init` starts the cluster's API server (through `WorkloadAPIServers`, implemented by
herd's CLI with herd's own API server) with the CA from the data; `kubeadm join` registers a Node with the
bootstrap token. Simulated kubelets keep Nodes Ready and their Leases renewed.

What a control plane provider reads of a real cluster is simulated too: kubeadm init installs the CoreDNS and
kube-proxy addons; a control plane machine's kubelet mirrors its four static pods (`<component>-<node>` in
kube-system); each control plane machine runs a member of the cluster's stacked etcd, reached through the workload
API server's port-forward to its `etcd-<node>` pod (`WorkloadAPIServers.set_etcd_member`). A DevCluster's
`spec.backend.inMemory.failureDomains` are reported in its status.

`herd.dev/fail` on a DevMachine injects faults: `node-not-ready`, `vm-gone`, `apiserver-down` (the cluster's API
server stops), `etcd-member-down` (the machine's etcd member stops answering, its etcd pod is not Ready) and
`apiserver-pod-down` (its kube-apiserver pod is not Ready); removing the annotation heals.
"""

from __future__ import annotations

import asyncio
import random

from herd.api.infrastructure import DEV_CLUSTER, DEV_MACHINE
from herd.runtime import Cache, Client, Controller, Manager

from . import devcluster_controller, devmachine_controller
from .kinds import FAIL_ANNOTATION, FAULTS, READY_AT_ANNOTATION, Fault, provider_id
from .kubelet import Kubelets
from .scope import Services
from .workload import WorkloadAPIServers, WorkloadClients, WorkloadPKI


class DevProvider:
    """The provider's controllers and the simulated world they share (kubelets, workload clients)."""

    def __init__(self, client: Client, workload_servers: WorkloadAPIServers, *, cache: Cache,
                 heartbeat_interval: float = 10.0, concurrency: int = 10, rng: random.Random | None = None) -> None:
        clients = WorkloadClients(client)
        rng = rng or random.Random()
        self.services = Services(client, cache, workload_servers, clients,
                                 Kubelets(clients, interval=heartbeat_interval, rng=rng), rng)
        self.controllers: list[Controller] = [
            devcluster_controller.build(self.services),
            devmachine_controller.build(self.services, concurrency=concurrency),
        ]

    @property
    def kubelets(self) -> Kubelets:
        return self.services.kubelets

    def add_to(self, manager: Manager) -> None:
        """Run the controllers on `manager`; the kubelets stop when the manager does."""
        for controller in self.controllers:
            manager.add(controller)
        manager.add_runnable(self._run_until_cancelled)

    async def _run_until_cancelled(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop every kubelet and close the workload clients (the API servers belong to `WorkloadAPIServers`)."""
        await self.services.kubelets.close()
        await self.services.clients.close()


def new_controllers(client: Client, workload_servers: WorkloadAPIServers, *, cache: Cache,
                    heartbeat_interval: float = 10.0, concurrency: int = 10) -> list[Controller]:
    """The DevCluster and DevMachine controllers; `cache` is the manager's (`manager.cache`).

    Kubelet tasks live as long as the event loop; use `DevProvider(...).add_to(manager)` to stop them with the
    manager.
    """
    return DevProvider(client, workload_servers, cache=cache, heartbeat_interval=heartbeat_interval,
                       concurrency=concurrency).controllers


__all__ = [
    "DEV_CLUSTER", "DEV_MACHINE", "FAIL_ANNOTATION", "FAULTS", "READY_AT_ANNOTATION", "DevProvider", "Fault",
    "WorkloadAPIServers", "WorkloadPKI", "new_controllers", "provider_id",
]
