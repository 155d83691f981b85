"""What `herd up` and `herd init` share: CRD installation, the webhook server and the manager."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from herd.api.cluster.clusterclass_reader import CachedTopologyReader
from herd.api.registry import all_crd_specs, all_crds
from herd.api.webhookutil import DEFAULT_GATES, FeatureGates
from herd.apiserver.pki import CertificateAuthority, write_file_atomic
from herd.bootstrap.kubeadm import new_controller as new_kubeadm_config_controller
from herd.controllers import cluster, clusterclass, machine, machinedeployment, machinehealthcheck, machineset, topology
from herd.controlplane import kubeadm as kubeadm_control_plane
from herd.providers.dev import DevProvider, WorkloadAPIServers
from herd.providersdk import InfrastructureProvider
from herd.runtime import CRD, Client, Manager, NotFound, ObjectKey
from herd.runtime.clustercache import ClusterCache
from herd.runtime.objects import Kind
from herd.runtime.webhook import WebhookServer

from .webhooks import capi_webhook_routes, register_routes, webhook_configurations
from .workload_host import WorkloadHostProcess

log = logging.getLogger("herd.cli")

MUTATING_WEBHOOKS = Kind("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
                         "mutatingwebhookconfigurations", namespaced=False, status_subresource=False)
VALIDATING_WEBHOOKS = Kind("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                           "validatingwebhookconfigurations", namespaced=False, status_subresource=False)
ESTABLISH_TIMEOUT_SECONDS = 60.0


class SetupError(Exception):
    """Installing into the management plane failed; the message says what to fix."""


@dataclass
class ManagerOptions:
    leader_elect: bool = False
    health_port: int | None = 0
    webhook_port: int = 0
    webhook_host: str = "127.0.0.1"
    gates: FeatureGates = DEFAULT_GATES
    providers: tuple[InfrastructureProvider, ...] = ()  # SDK providers (`--provider`, `herd.providers` entry points)


APPLIED_HASH = "herd.dev/applied-hash"


async def create_or_update(client: Client, kind: Kind, desired: dict[str, Any]) -> str:
    """Make the live object carry `desired`; returns created/updated/unchanged.

    The server defaults what it stores, so "unchanged" is judged by a hash of what was last applied,
    kept in an annotation, rather than by comparing with the live object.
    """
    name = desired["metadata"]["name"]
    digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()
    desired = {**desired, "metadata": {**desired["metadata"], "annotations": {
        **(desired["metadata"].get("annotations") or {}), APPLIED_HASH: digest}}}
    try:
        live = await client.get(kind, name)
    except NotFound:
        await client.create(desired, kind=kind)
        return "created"
    if (live["metadata"].get("annotations") or {}).get(APPLIED_HASH) == digest:
        return "unchanged"
    merged = dict(desired)
    merged["metadata"] = {**live["metadata"], "labels": desired["metadata"].get("labels") or {},
                          "annotations": desired["metadata"]["annotations"]}
    await client.update(merged, kind=kind)
    return "updated"


async def install_crds(client: Client, providers: Sequence[InfrastructureProvider] = ()) -> dict[str, str]:
    """Install or update every Cluster API CRD (and the kinds of `providers`) and wait until each is Established."""
    results = {}
    for crd in [*all_crds(), *(crd for provider in providers for crd in provider.crds())]:
        results[crd["metadata"]["name"]] = await create_or_update(client, CRD, crd)
    async with asyncio.timeout(ESTABLISH_TIMEOUT_SECONDS):
        for name in results:
            while not _established(await client.get(CRD, name)):
                await asyncio.sleep(0.2)
    return results


def _established(crd: dict[str, Any]) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def webhook_certificate(directory: Path, ca: CertificateAuthority, hosts: list[str]) -> tuple[Path, Path]:
    """A serving certificate for the webhook server, signed by `ca` (keys 0600)."""
    cert_pem, key_pem = ca.issue_server_cert("herd-webhooks", hosts)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert, key = directory / "webhook.crt", directory / "webhook.key"
    write_file_atomic(key, key_pem, mode=0o600)
    write_file_atomic(cert, cert_pem, mode=0o644)
    return cert, key


async def register_webhooks(client: Client, ca_pem: bytes, url_base: str) -> None:
    """Point the Cluster API webhook configurations at this process's webhook server."""
    mutating, validating = webhook_configurations(ca_pem, url_base)
    await create_or_update(client, MUTATING_WEBHOOKS, mutating)
    await create_or_update(client, VALIDATING_WEBHOOKS, validating)


async def run_management(client: Client, ca: CertificateAuthority, pki_dir: Path, options: ManagerOptions,
                         stop: asyncio.Event, ready: asyncio.Event | None = None,
                         announce: Callable[[str], None] = lambda step: None,
                         controller_client: Client | None = None) -> None:
    """Install CRDs, serve and register webhooks, and run the manager until `stop` is set; `announce` is told of
    each step as it begins (`herd up` prints them). The controllers use `controller_client` when given (`herd init`:
    a least-privilege identity), else `client`, which installs."""
    announce(f"installing Cluster API CRDs ({len(all_crd_specs())})")
    try:
        installed = await install_crds(client, options.providers)
    except TimeoutError:
        raise SetupError("the Cluster API CRDs did not become Established within "
                         f"{ESTABLISH_TIMEOUT_SECONDS:.0f}s") from None
    changed = sum(1 for r in installed.values() if r != "unchanged")
    log.info("Cluster API CRDs installed (%d, %d created or updated)", len(installed), changed)
    announce("starting webhooks and controllers")
    cert, key = webhook_certificate(pki_dir, ca, [options.webhook_host, "localhost"])
    webhooks = WebhookServer(cert, key, host=options.webhook_host, port=options.webhook_port)
    topology_reader = CachedTopologyReader()  # reads the manager's cache once there is one
    register_routes(webhooks, capi_webhook_routes(options.gates, topology_reader))
    await webhooks.start()
    host = f"[{options.webhook_host}]" if ":" in options.webhook_host else options.webhook_host
    await register_webhooks(client, ca.cert_pem, f"https://{host}:{webhooks.port}")
    controllers = controller_client or client
    manager = Manager(controllers, leader_elect=options.leader_elect, health_port=options.health_port)
    servers = WorkloadHostProcess()  # the simulated machines' API servers: a process (and a core) of their own
    await servers.spawn()
    topology_reader.bind(manager.cache)
    cluster_cache = ClusterCache(controllers)
    add_controllers(manager, controllers, servers, cluster_cache)
    if options.gates.cluster_topology:  # upstream runs the topology controller only behind this gate
        manager.add(topology.new_controller(controllers, manager.cache))
    for provider in options.providers:
        provider.add_to(manager, cluster_cache=cluster_cache)
    if any(provider.machine.kind == "AWSMachine" for provider in options.providers):
        from . import aws_boot  # boto3 is loaded only for the AWS provider

        if aws_boot.wanted(options.providers, os.environ):  # AWS is moto: its instances boot in this process
            manager.add_runnable(aws_boot.AWSBootSimulator(controllers, servers,
                                                           os.environ.get("AWS_ENDPOINT_URL")).run)
    task = asyncio.ensure_future(manager.run())
    try:
        if ready is not None:
            ready.set()
        if manager.health is not None:
            await manager.wait_synced(30)
            print(f"manager metrics and probes on {manager.health.url}", flush=True)
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if task in done:
            task.result()  # the manager ended on its own (e.g. leadership lost): surface why
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await webhooks.stop()
        await cluster_cache.close()
        await servers.close()


def add_controllers(manager: Manager, client: Client, servers: WorkloadAPIServers,
                    cluster_cache: ClusterCache) -> None:
    """Every controller herd has: Cluster, Machine, MachineSet, MachineDeployment, MachineHealthCheck, kubeadm
    bootstrap, the KubeadmControlPlane and the Dev provider (inMemory backend)."""
    manager.add(cluster.new_controller(client, cluster_cache, manager.cache))
    manager.add(clusterclass.new_controller(client, manager.cache))
    manager.add(machine.new_controller(client, cluster_cache, manager.cache))
    manager.add(machineset.new_controller(client, cluster_cache, manager.cache))
    manager.add(machinedeployment.new_controller(client, cluster_cache, manager.cache))
    manager.add(machinehealthcheck.new_controller(client, cluster_cache, manager.cache))

    async def workload_client(cluster_object: dict[str, Any]) -> Client:
        # one client per workload cluster for every controller; its kubeconfig Secret is re-read now and then
        return await cluster_cache.get_client(ObjectKey.of(cluster_object))

    manager.add(new_kubeadm_config_controller(client, manager.cache, workload_clients=workload_client))
    manager.add(kubeadm_control_plane.new_controller(client, cluster_cache, manager.cache))
    DevProvider(client, servers, cache=manager.cache).add_to(manager)
