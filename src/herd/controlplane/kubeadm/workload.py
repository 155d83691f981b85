"""What the KubeadmControlPlane reads and changes in its workload cluster, the way it would on a real one: the
control plane Nodes and static pods through the workload API server, and each stacked etcd member through a
port-forward to its `etcd-<node>` pod (mutual TLS with a client certificate from the cluster's etcd CA).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from cryptography import x509

from herd.contract.certificates import KeyPair
from herd.runtime import CONFIGMAP, NODE, Client, ClientError, Kind, NotFound, Object
from herd.runtime.clustercache import POD
from herd.runtime.portforward import PortForward

from .etcd import EtcdClient, EtcdError, EtcdMember, EtcdStatus, etcd_client_tls

log = logging.getLogger("herd.controlplane.kubeadm")

SYSTEM_NAMESPACE = "kube-system"
ETCD_CLIENT_PORT = 2379
API_SERVER_PORT = 6443
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
KUBEADM_CONFIG_MAP = "kubeadm-config"
CLUSTER_CONFIGURATION_KEY = "ClusterConfiguration"
KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
DAEMON_SET = Kind("apps/v1", "DaemonSet", "daemonsets")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")


@dataclass
class EtcdView:
    """The stacked etcd as its members answered: the member list, who leads, who did not answer and why."""

    members: list[EtcdMember] = field(default_factory=list)
    statuses: dict[str, EtcdStatus] = field(default_factory=dict)  # by node name, members that answered
    failures: dict[str, str] = field(default_factory=dict)  # by node name: why the member did not answer
    alarms: list[str] = field(default_factory=list)
    disagreement: str = ""  # members answering with different member lists

    @property
    def leader_id(self) -> int | None:
        leaders = {status.leader_id for status in self.statuses.values() if status.leader_id}
        return leaders.pop() if len(leaders) == 1 else None

    def member(self, node: str) -> EtcdMember | None:
        return next((m for m in self.members if m.name == node), None)

    def leader_name(self) -> str | None:
        leader = self.leader_id
        return next((m.name for m in self.members if m.id == leader), None)

    def healthy(self, node: str) -> bool:
        status = self.statuses.get(node)
        return status is not None and not status.errors and self.member(node) is not None


@dataclass
class WorkloadView:
    """One look at the workload cluster; `error` says why it could not be read (then the rest is empty)."""

    error: str = ""
    nodes: dict[str, Object] = field(default_factory=dict)
    pods: dict[str, Object] = field(default_factory=dict)  # kube-system control plane pods by name
    etcd: EtcdView | None = None
    kubeadm_config: Object | None = None

    @property
    def reachable(self) -> bool:
        return not self.error


class Workload:
    """One workload cluster: its admin client and the etcd CA to talk to its members with."""

    def __init__(self, client: Client, etcd_ca: KeyPair | None, *, timeout: float = 5.0) -> None:
        self.client = client
        self.timeout = timeout
        self._tls = etcd_client_tls(etcd_ca.cert, etcd_ca.key) if etcd_ca is not None and etcd_ca.key else None

    async def inspect(self, etcd_nodes: list[str]) -> WorkloadView:
        """Nodes, control plane pods, kubeadm-config and, through the given Nodes' members, etcd."""
        try:
            nodes, pods = await asyncio.gather(
                self.client.list(NODE), self.client.list(POD, namespace=SYSTEM_NAMESPACE))
            kubeadm_config = await self._get(CONFIGMAP, KUBEADM_CONFIG_MAP)
        except ClientError as exc:
            return WorkloadView(error=f"the workload cluster's API server cannot be reached: {exc}")
        view = WorkloadView(nodes={n["metadata"]["name"]: n for n in nodes.items},
                            pods={p["metadata"]["name"]: p for p in pods.items}, kubeadm_config=kubeadm_config)
        if self._tls is not None and etcd_nodes:
            view.etcd = await self._inspect_etcd(etcd_nodes)
        return view

    async def _get(self, kind: Kind, name: str) -> Object | None:
        try:
            return await self.client.get(kind, name, SYSTEM_NAMESPACE)
        except NotFound:
            return None

    async def _inspect_etcd(self, nodes: list[str]) -> EtcdView:
        view = EtcdView()
        lists: dict[str, list[EtcdMember]] = {}

        async def ask(node: str) -> None:
            try:
                async with self.member(node) as etcd:
                    status = await etcd.status()
                    members = await etcd.member_list()
                    alarms = await etcd.alarm_list()
            except (EtcdError, ClientError, OSError, TimeoutError) as exc:
                view.failures[node] = _short(exc)
                return
            view.statuses[node] = status
            lists[node] = members
            view.alarms.extend(f"{alarm.alarm} on member {alarm.member_id:x}" for alarm in alarms)

        await asyncio.gather(*(ask(node) for node in nodes))
        distinct = {tuple(sorted(m.id for m in members)) for members in lists.values()}
        if lists:
            view.members = max(lists.values(), key=len)
        if len(distinct) > 1:
            view.disagreement = "etcd members do not agree on the member list"
        view.alarms = sorted(set(view.alarms))
        return view

    @contextlib.asynccontextmanager
    async def member(self, node: str) -> AsyncIterator[EtcdClient]:
        """A client to the etcd member on the Node, through a port-forward to its `etcd-<node>` pod."""
        if self._tls is None:
            raise EtcdError("the cluster's etcd CA (<cluster>-etcd Secret) has no key")
        tls = self._tls
        async with PortForward(self.client, SYSTEM_NAMESPACE, f"etcd-{node}", ETCD_CLIENT_PORT) as forward, \
                EtcdClient(f"https://127.0.0.1:{forward.port}", tls, timeout=self.timeout) as etcd:
            yield etcd

    async def move_leader(self, view: EtcdView, to_node: str) -> None:
        """Make the member on `to_node` the leader (asked of the current leader, as etcd requires)."""
        leader, target = view.leader_name(), view.member(to_node)
        if leader is None or target is None:
            raise EtcdError("etcd has no single leader to move leadership from")
        async with self.member(leader) as etcd:
            await etcd.move_leader(target.id)

    async def remove_member(self, view: EtcdView, node: str, *, via: list[str]) -> bool:
        """Remove the Node's member, asking one of the members on `via`; False when it is no member."""
        member = view.member(node)
        if member is None:
            return False
        last: Exception | None = None
        for other in via:
            try:
                async with self.member(other) as etcd:
                    await etcd.member_remove(member.id)
                return True
            except (EtcdError, ClientError, OSError, TimeoutError) as exc:
                last = exc
        raise EtcdError(f"no etcd member could remove {node}: {_short(last) if last else 'none to ask'}")

    async def serving_certificate_expiry(self, node: str, ca_cert: bytes) -> datetime:
        """When the serving certificate of the API server on the Node expires (read through its pod)."""
        context = ssl.create_default_context(cadata=ca_cert.decode("ascii"))
        context.check_hostname = False  # the server is named by its Node, not by 127.0.0.1
        async with PortForward(self.client, SYSTEM_NAMESPACE, f"kube-apiserver-{node}", API_SERVER_PORT) as forward:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", forward.port, ssl=context),
                                               self.timeout)
            try:
                ssl_object = writer.get_extra_info("ssl_object")
                der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            finally:
                writer.close()
        if not der:
            raise EtcdError("the API server presented no certificate")
        return x509.load_der_x509_certificate(der).not_valid_after_utc.astimezone(UTC)

    # ----- upgrades -----

    async def update_kubernetes_version(self, version: str) -> bool:
        """kubeadm-config's ClusterConfiguration.kubernetesVersion; True when it changed."""
        config_map = await self._get(CONFIGMAP, KUBEADM_CONFIG_MAP)
        if config_map is None:
            return False
        raw = (config_map.get("data") or {}).get(CLUSTER_CONFIGURATION_KEY) or "{}"
        configuration = yaml.safe_load(raw) or {}
        if not isinstance(configuration, dict) or configuration.get("kubernetesVersion") == version:
            return False
        configuration["kubernetesVersion"] = version
        await self.client.patch(CONFIGMAP, KUBEADM_CONFIG_MAP, {"data": {
            CLUSTER_CONFIGURATION_KEY: yaml.safe_dump(configuration, sort_keys=False)}}, namespace=SYSTEM_NAMESPACE)
        return True

    async def update_image_tag(self, kind: Kind, name: str, container: str, tag: str,
                               repository: str | None = None) -> bool:
        """Set the tag (and optionally the repository) of a container's image in a Deployment or DaemonSet."""
        obj = await self._get(kind, name)
        if obj is None:
            return False
        containers: list[dict[str, Any]] = (((obj.get("spec") or {}).get("template") or {}).get("spec")
                                            or {}).get("containers") or []
        changed = False
        for item in containers:
            if item.get("name") != container:
                continue
            image = str(item.get("image") or "")
            base, _, _ = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
            if repository:
                base = f"{repository}/{base.rsplit('/', 1)[-1]}"
            wanted = f"{base}:{tag}"
            if image != wanted:
                item["image"] = wanted
                changed = True
        if changed:
            await self.client.patch(kind, name, {"spec": {"template": {"spec": {"containers": containers}}}},
                                    namespace=SYSTEM_NAMESPACE)
        return changed


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
