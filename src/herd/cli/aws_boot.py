"""Boots the AWS provider's instances when AWS is a local moto server: what EC2 would do, simulated in herd up.

moto runs no instances, so nothing would turn an AWSMachine's instance into a Node. When `herd up` runs the AWS
provider against a moto server on a loopback address (`AWS_ENDPOINT_URL`), this simulator looks every second for
AWSMachines whose instance is running in moto, reads each instance's user data back from moto as the instance
would (the CAPA boot script's chunks in Secrets Manager or SSM: `services.userdata.boot`), and boots it with the
Dev provider's kubeadm simulation: `kubeadm init` starts the cluster's workload API server, joins register Nodes
with the bootstrap token, kubelets keep them Ready with their static pods and etcd members. The Node's providerID
is the instance's, `aws:///<zone>/<instance-id>`, so the Machine controller finds it.

The cluster's endpoint is its load balancer's DNS name, which resolves nowhere here: each cluster's API server
listens on a loopback address of its own (127.x.y.z, the endpoint's port), its certificate names the DNS name (as
kubeadm puts the endpoint in it), and herd's clients in this process resolve the name to that address
(`herd.runtime.transport.set_host_alias`). The AWS provider knows nothing of this.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError as AWSClientError  # type: ignore[import-untyped]

from herd.api.cluster import CLUSTER, MACHINE
from herd.contract.objects import is_control_plane_machine
from herd.providers.aws.services.clients import AWSClients, make_clients
from herd.providers.aws.services.scope import AWSScope
from herd.providers.aws.services.userdata import boot as read_boot_data
from herd.providers.dev import WorkloadPKI
from herd.providers.dev.boot import create_node, join_node, node_object, publish_init_objects
from herd.providers.dev.cloudinit import BootPlan, BootstrapDataError, boot_plan
from herd.providers.dev.kubelet import Kubelets, KubeletSpec
from herd.providers.dev.staticpods import StaticPodSet
from herd.providers.dev.workload import KubeconfigError, WorkloadClients
from herd.providersdk import BootstrapDataError as BootstrapDataMissing
from herd.providersdk import InfrastructureProvider
from herd.providersdk.context import read_bootstrap_data
from herd.runtime import Client, ClientError, Kind, Object
from herd.runtime.transport import set_host_alias

from .workload_host import WorkloadHostProcess

log = logging.getLogger("herd.cli.aws_boot")

AWS_MACHINE = Kind("infrastructure.cluster.x-k8s.io/v1beta2", "AWSMachine", "awsmachines", namespaced=True,
                   status_subresource=True)
POLL_SECONDS = 1.0


def wanted(providers: tuple[InfrastructureProvider, ...], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether to simulate: the AWS provider runs and AWS is a server on a loopback address (moto), or
    HERD_AWS_BOOT_SIMULATOR=1 asks for it (=0 never)."""
    if not any(provider.machine.kind == AWS_MACHINE.kind for provider in providers):
        return False
    explicit = environ.get("HERD_AWS_BOOT_SIMULATOR")
    if explicit in ("0", "1"):
        return explicit == "1"
    host = urlsplit(environ.get("AWS_ENDPOINT_URL") or "").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_address(name: str) -> str:
    """A loopback address of the endpoint's own, the same for the same name (Linux answers on all of 127/8)."""
    digest = hashlib.sha256(name.lower().encode()).digest()
    return f"127.{digest[0]}.{digest[1]}.{2 + digest[2] % 250}"


@dataclass(frozen=True)
class Instance:
    """A running instance behind an AWSMachine, and where its Machine belongs."""

    instance_id: str
    zone: str
    namespace: str
    machine_name: str

    @property
    def provider_id(self) -> str:
        return f"aws:///{self.zone}/{self.instance_id}"

    @property
    def region(self) -> str:
        return self.zone[:-1] if self.zone[-1:].isalpha() else self.zone


@dataclass(frozen=True)
class Booted:
    cluster_key: str
    node_name: str
    endpoint_host: str


class AWSBootSimulator:
    """Boots the instances of every cluster; run with `run` (a manager runnable)."""

    def __init__(self, client: Client, servers: WorkloadHostProcess, endpoint_url: str | None) -> None:
        self._client = client
        self._servers = servers
        self._endpoint_url = endpoint_url
        self._clients = WorkloadClients(client)
        self._kubelets = Kubelets(self._clients)
        self._aws: dict[str, AWSClients] = {}
        self._booted: dict[str, Booted] = {}  # instance id → what it became
        self._data: dict[str, bytes] = {}  # bootstrap data read (and so deleted from AWS), kept until booted
        self._not_booting: dict[str, str] = {}  # instance id → why it did not boot yet, as last logged

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.sync()
                except Exception:  # a bug or AWS being away must not end the simulation
                    log.exception("booting AWS instances failed; trying again")
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await self._kubelets.close()
            await self._clients.close()

    def _aws_clients(self, region: str) -> AWSClients:
        if region not in self._aws:
            self._aws[region] = make_clients(region, endpoint_url=self._endpoint_url, max_attempts=1)
        return self._aws[region]

    async def sync(self) -> None:
        """Boot what newly runs, shut down what stopped running."""
        wanted_instances = _instances((await self._client.list(AWS_MACHINE)).items)
        running: set[str] = set()
        for region in {i.region for i in wanted_instances}:
            ids = [i.instance_id for i in wanted_instances if i.region == region]
            running |= await asyncio.to_thread(_running, self._aws_clients(region), ids)
        for instance in wanted_instances:
            if instance.instance_id in running and instance.instance_id not in self._booted:
                await self._boot(instance)
        for instance_id in [i for i in self._booted if i not in running]:
            await self._shut_down(instance_id)

    async def _boot(self, instance: Instance) -> None:
        machine = await self._client.get(MACHINE, instance.machine_name, instance.namespace)
        cluster_name = str((machine.get("spec") or {}).get("clusterName") or "")
        cluster = await self._client.get(CLUSTER, cluster_name, instance.namespace)
        endpoint = (cluster.get("spec") or {}).get("controlPlaneEndpoint") or {}
        if not endpoint.get("host") or not endpoint.get("port"):
            return
        host, port = str(endpoint["host"]), int(endpoint["port"])
        set_host_alias(host, loopback_address(host))
        key = f"{instance.namespace}/{cluster_name}"
        try:
            data, node_name = await self._bootstrap_data(AWSScope(self._aws_clients(instance.region), cluster_name),
                                                         instance, machine)
            plan = boot_plan(data, hostname=node_name)
            await self._kubeadm(instance, machine, plan, node_name, cluster_name, host, port)
        except (BootstrapDataError, BootstrapDataMissing, KubeconfigError, ClientError, OSError, ValueError) as exc:
            if self._not_booting.get(instance.instance_id) != str(exc):  # said once, not every second
                log.info("instance %s (%s) does not boot yet: %s", instance.instance_id, key, exc)
            self._not_booting[instance.instance_id] = str(exc)
            return
        self._booted[instance.instance_id] = Booted(key, node_name, host)
        self._data.pop(instance.instance_id, None)
        self._not_booting.pop(instance.instance_id, None)
        log.info("instance %s booted as Node %s of %s", instance.instance_id, node_name, key)

    async def _bootstrap_data(self, aws: AWSScope, instance: Instance, machine: Object) -> tuple[bytes, str]:
        """The bootstrap data as the instance's boot script gets it (fetching, then deleting, the chunks), and the
        instance's host name."""
        user_data, node_name = await asyncio.to_thread(_user_data_and_name, aws, instance.instance_id)
        data = self._data.get(instance.instance_id)
        if data is None:
            try:
                data = await asyncio.to_thread(read_boot_data, aws, user_data)
            except (AWSClientError, KeyError):
                # the chunks are gone once read: an instance that booted before herd up restarted has the data
                # where its boot script wrote it; the bootstrap data Secret holds the same
                secret = ((machine.get("spec") or {}).get("bootstrap") or {}).get("dataSecretName")
                data, _ = await read_bootstrap_data(self._client, instance.namespace, str(secret or ""))
            self._data[instance.instance_id] = data  # until it booted: the chunks are read once
        return data, node_name

    async def _kubeadm(self, instance: Instance, machine: Object, plan: BootPlan, node_name: str,
                       cluster_name: str, host: str, port: int) -> None:
        """kubeadm init or join on the instance, then its kubelet."""
        namespace, key = instance.namespace, f"{instance.namespace}/{cluster_name}"
        version = str((machine.get("spec") or {}).get("version") or "") or None
        control_plane = is_control_plane_machine(machine) or plan.control_plane
        if control_plane:
            await self._servers.set_etcd_member(key, node_name, running=True)
            if not self._servers.is_running(key):
                if not plan.serves_api or plan.ca_cert is None or plan.ca_key is None:
                    raise BootstrapDataError("no cluster CA certificate and key to serve the API with")
                await self._servers.start(key, loopback_address(host), port, WorkloadPKI(
                    plan.ca_cert, plan.ca_key, plan.sa_key, plan.sa_pub, plan.etcd_ca_cert, plan.etcd_ca_key),
                    names=(host,))
        node = node_object(node_name, instance.provider_id, control_plane=control_plane, plan=plan,
                           version=version, now=datetime.now(UTC))
        server = f"https://{host}:{port}"
        if plan.action == "init":
            client = await self._clients.get(namespace, cluster_name)
            await publish_init_objects(client, server, plan, version)
            registered = await create_node(client, node)
        else:
            joined = plan.api_server_endpoint or f"{host}:{port}"
            registered = await join_node(joined if joined.startswith("https://") else f"https://{joined}", plan,
                                         node, pool=self._clients.joins)
        pods = StaticPodSet(version or "", plan.cluster_configuration, frozenset()) if control_plane else None
        self._kubelets.ensure(KubeletSpec(namespace, cluster_name, node, "healthy", pods), registered=registered)

    async def _shut_down(self, instance_id: str) -> None:
        """The instance stopped: its kubelet and etcd member go; the cluster's API server with its last one."""
        booted = self._booted.pop(instance_id)
        await self._kubelets.stop(booted.cluster_key, booted.node_name)
        if not any(b.cluster_key == booted.cluster_key for b in self._booted.values()):
            await self._kubelets.stop_cluster(booted.cluster_key)
            await self._servers.stop(booted.cluster_key)
            await self._clients.invalidate(*booted.cluster_key.split("/", 1))
            set_host_alias(booted.endpoint_host, None)
            log.info("workload API server of %s stopped: none of its instances runs", booted.cluster_key)


def _instances(awsmachines: list[Object]) -> list[Instance]:
    """The instances AWSMachines report (`aws:///<zone>/<id>`), of those that are not being deleted and belong to
    a Machine."""
    found = []
    for awsmachine in awsmachines:
        meta = awsmachine.get("metadata") or {}
        provider_id = str((awsmachine.get("spec") or {}).get("providerID") or "")
        owner = next((ref.get("name") for ref in meta.get("ownerReferences") or []
                      if ref.get("kind") == "Machine"), None)
        parts = provider_id.removeprefix("aws:///").split("/")
        if meta.get("deletionTimestamp") or not owner or not provider_id.startswith("aws:///") or len(parts) != 2:
            continue
        found.append(Instance(parts[1], parts[0], str(meta.get("namespace") or "default"), str(owner)))
    return found


def _running(aws: AWSClients, instance_ids: list[str]) -> set[str]:
    pages = aws.ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "instance-id", "Values": instance_ids}, {"Name": "instance-state-name", "Values": ["running"]}])
    return {i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]}


def _user_data_and_name(aws: AWSScope, instance_id: str) -> tuple[bytes, str]:
    """The instance's user data as it reads it from the metadata service, and its host name (the private DNS
    name, as cloud-init's `ds.meta_data.local_hostname`)."""
    ec2: Any = aws.clients.ec2
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    name = str(instance.get("PrivateDnsName") or instance_id)
    return base64.b64decode((attribute.get("UserData") or {}).get("Value") or ""), name
