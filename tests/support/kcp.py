"""A KubeadmControlPlane cluster as a user sees it: examples/ha-cluster.yaml rewritten into a namespace of its own,
`herd up` with kubectl against the management plane, and the workload cluster reached with the kubeconfig Secret
herd writes (its Nodes and static pods with kubectl; its etcd members through a port-forward to `etcd-<node>`
with a client certificate signed by the `<cluster>-etcd` CA, as etcdctl on an operator's laptop would)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from herd.controlplane.kubeadm.etcd import EtcdClient, EtcdError, etcd_client_tls
from herd.runtime import Client, ClientError
from herd.runtime.portforward import PortForward

from .herd_up import HerdUp, WatchRecorder
from .plane import kubectl
from .waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ha-cluster.yaml"
CLUSTER, KCP, MD = "ha", "ha-control-plane", "ha-md-0"
CONTROL_PLANE = "cluster.x-k8s.io/control-plane"
WORKERS = f"cluster.x-k8s.io/deployment-name={MD}"
FAILURE_DOMAINS = ("fd1", "fd2", "fd3")
STATIC_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
DELETE_MACHINE = "cluster.x-k8s.io/delete-machine"
REMEDIATION_FOR = "controlplane.cluster.x-k8s.io/remediation-for"
FAIL = "herd.dev/fail"


def merge(into: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`patch` merged into `into` as a JSON merge patch does (None removes a key); `into`, changed."""
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def ha_cluster(namespace: str, *, replicas: int = 3, workers: int = 3, version: str | None = None,
               startup: str = "0s", health_checks: bool = False, kcp: dict[str, Any] | None = None,
               control_plane_health_check: dict[str, Any] | None = None) -> str:
    """examples/ha-cluster.yaml in `namespace`: `replicas` control-plane Machines (of `version`), `workers` workers
    (none: no MachineDeployment), every VM and Node starting in `startup`, the KubeadmControlPlane's spec merged
    with `kcp`. The health checks go unless asked for; `control_plane_health_check` is merged into the control
    plane's."""
    documents = []
    for document in yaml.safe_load_all(EXAMPLE.read_text()):
        document["metadata"]["namespace"] = namespace
        kind, spec = document["kind"], document["spec"]
        if document["metadata"]["name"] == MD and not workers:
            continue
        if kind == "DevMachineTemplate":
            for part in ("vm", "node"):
                spec["template"]["spec"]["backend"]["inMemory"][part]["provisioning"]["startupDuration"] = startup
        elif kind == "KubeadmControlPlane":
            spec["replicas"] = replicas
            if version is not None:
                spec["version"] = version
            merge(spec, kcp or {})
        elif kind == "MachineDeployment":
            spec["replicas"] = workers
            if version is not None:
                spec["template"]["spec"]["version"] = version
        elif kind == "MachineHealthCheck":
            if not health_checks:
                continue
            if document["metadata"]["name"] == KCP:
                merge(spec, control_plane_health_check or {})
        documents.append(document)
    return yaml.safe_dump_all(documents)


# ----- what kubectl shows of objects -----

def name(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"])


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def condition_status(obj: dict[str, Any], type_: str) -> str | None:
    return conditions(obj).get(type_, {}).get("status")


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def available(machine: dict[str, Any]) -> bool:
    """Available=True, Running and not being deleted."""
    return not deleting(machine) and condition_status(machine, "Available") == "True" \
        and (machine.get("status") or {}).get("phase") == "Running"


def node_name(machine: dict[str, Any]) -> str | None:
    return ((machine.get("status") or {}).get("nodeRef") or {}).get("name")


def summary(machines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One line a Machine for failure messages."""
    return sorted((name(m), m["spec"].get("version"), (m.get("status") or {}).get("phase"), deleting(m),
                   m["spec"].get("failureDomain")) for m in machines)


@dataclass(frozen=True)
class EtcdView:
    """The etcd cluster as one member reports it: member names and the leader's name."""

    members: tuple[str, ...]
    leader: str | None


@dataclass(frozen=True)
class EtcdHealth:
    """The etcd cluster's members and those of them that answer for themselves."""

    members: tuple[str, ...]
    answering: tuple[str, ...]

    @property
    def quorate(self) -> bool:
        return len(self.answering) >= len(self.members) // 2 + 1


class ControlPlaneHerd(HerdUp):
    """A running `herd up`; the KubeadmControlPlane, its Machines and its workload cluster in a namespace."""

    def apply(self, namespace: str, manifest: str) -> None:
        self.kubectl("create", "namespace", namespace)
        self.kubectl("apply", "-f", "-", input=manifest)

    def kcp(self, namespace: str) -> dict[str, Any]:
        return self.get("kubeadmcontrolplane", KCP, namespace)

    def patch(self, kind: str, obj: str, namespace: str, patch: dict[str, Any]) -> None:
        self.kubectl("patch", kind, obj, "-n", namespace, "--type", "merge", "-p", json.dumps(patch))

    def control_plane_machines(self, namespace: str) -> list[dict[str, Any]]:
        return self.items("machines", namespace, "-l", CONTROL_PLANE)

    def control_plane_available(self, namespace: str, replicas: int, *, without: Collection[str] = (),
                                timeout: float = 120.0) -> list[dict[str, Any]]:
        """Once exactly `replicas` control-plane Machines, none of them named in `without`, are available: them."""
        def probe() -> list[dict[str, Any]]:
            machines = self.control_plane_machines(namespace)
            assert len(machines) == replicas and all(available(m) for m in machines), summary(machines)
            assert not {name(m) for m in machines} & set(without), summary(machines)
            return machines
        return eventually_sync(probe, f"{replicas} control-plane Machines available in {namespace}", timeout=timeout,
                               poll=0.3)

    def workers(self, namespace: str) -> list[dict[str, Any]]:
        return self.items("machines", namespace, "-l", WORKERS)

    def workload_kubeconfig(self, namespace: str) -> Path:
        """The workload cluster's admin kubeconfig from its `<cluster>-kubeconfig` Secret, kept in a file."""
        secret = self.get("secret", f"{CLUSTER}-kubeconfig", namespace)
        path = self.data_dir.parent / f"{namespace}-{CLUSTER}.kubeconfig"
        path.write_bytes(base64.b64decode(secret["data"]["value"]))
        path.chmod(0o600)
        return path

    def workload(self, namespace: str, *args: str) -> list[dict[str, Any]]:
        """`kubectl get ARGS -o json` against the workload cluster: the items."""
        result = kubectl(self.workload_kubeconfig(namespace), self.cache, "get", *args, "-o", "json", timeout=30)
        items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
        return items

    def workload_object(self, namespace: str, kind: str, obj: str, obj_namespace: str) -> dict[str, Any]:
        """One object of the workload cluster, as `kubectl get KIND NAME -n NS -o json` shows it."""
        result = kubectl(self.workload_kubeconfig(namespace), self.cache, "get", kind, obj, "-n", obj_namespace,
                         "-o", "json", timeout=30)
        found: dict[str, Any] = json.loads(result.stdout)
        return found

    def ready_nodes(self, namespace: str) -> set[str]:
        return {name(n) for n in self.workload(namespace, "nodes") if condition_status(n, "Ready") == "True"}

    def static_pods(self, namespace: str) -> dict[str, set[str]]:
        """The control-plane static pods in kube-system, by node: {node: {"etcd", "kube-apiserver", ...}}."""
        by_node: dict[str, set[str]] = {}
        for pod in self.workload(namespace, "pods", "-n", "kube-system"):
            node = str(pod["spec"].get("nodeName"))
            by_node.setdefault(node, set()).update(c for c in STATIC_PODS if name(pod) == f"{c}-{node}")
        return {node: components for node, components in by_node.items() if components}

    def etcd(self, namespace: str, node: str) -> EtcdView:
        """The etcd members and leader as the member on `node` reports them (port-forward to `etcd-<node>`)."""
        etcd_ca = self.get("secret", f"{CLUSTER}-etcd", namespace)["data"]
        ca_cert, ca_key = (base64.b64decode(etcd_ca[key]) for key in ("tls.crt", "tls.key"))
        return asyncio.run(_etcd_view(self.workload_kubeconfig(namespace), node, ca_cert, ca_key))

    def etcd_health(self, namespace: str) -> EtcdHealth:
        """The members of the etcd cluster (as the first control-plane Node's member that answers lists them) and
        which of them answer for themselves."""
        nodes = sorted(str(node_name(m)) for m in self.control_plane_machines(namespace) if node_name(m))
        etcd_ca = self.get("secret", f"{CLUSTER}-etcd", namespace)["data"]
        ca_cert, ca_key = (base64.b64decode(etcd_ca[key]) for key in ("tls.crt", "tls.key"))
        return asyncio.run(_etcd_health(self.workload_kubeconfig(namespace), nodes, ca_cert, ca_key))

    def etcd_from_any(self, namespace: str, nodes: list[str]) -> EtcdView:
        """What the first member that answers reports (a failed member's node does not)."""
        errors = []
        for node in nodes:
            try:
                return self.etcd(namespace, node)
            except Exception as error:  # a member that is down or gone: ask the next
                errors.append(f"{node}: {error!r}")
        raise AssertionError(f"no etcd member answered: {errors}")


@contextlib.asynccontextmanager
async def _member(client: Client, node: str, tls: ssl.SSLContext, timeout: float) -> AsyncIterator[EtcdClient]:
    """An etcd client to the member on `node`, through a port-forward to its `etcd-<node>` pod."""
    async with PortForward(client, "kube-system", f"etcd-{node}", 2379) as forward, \
            EtcdClient(f"https://127.0.0.1:{forward.port}", tls, timeout=timeout) as etcd:
        yield etcd


async def _etcd_view(kubeconfig: Path, node: str, ca_cert: bytes, ca_key: bytes) -> EtcdView:
    client = Client.from_kubeconfig(kubeconfig)
    try:
        async with _member(client, node, etcd_client_tls(ca_cert, ca_key), 5.0) as etcd:
            members = await etcd.member_list()
            status = await etcd.status()
    finally:
        await client.close()
    by_id = {member.id: member.name for member in members}
    leader = by_id.get(status.leader_id) if status.leader_id is not None else None
    return EtcdView(tuple(sorted(member.name for member in members)), leader)


async def _etcd_health(kubeconfig: Path, nodes: list[str], ca_cert: bytes, ca_key: bytes) -> EtcdHealth:
    client, tls = Client.from_kubeconfig(kubeconfig), etcd_client_tls(ca_cert, ca_key)

    async def members_seen_from(node: str) -> tuple[str, ...] | None:
        try:
            async with _member(client, node, tls, 2.0) as etcd:
                return tuple(sorted(member.name for member in await etcd.member_list()))
        except (EtcdError, ClientError, OSError):
            return None

    async def answers(member: str) -> bool:
        try:
            async with _member(client, member, tls, 2.0) as etcd:
                await etcd.status()
            return True
        except (EtcdError, ClientError, OSError):
            return False

    try:
        for node in nodes:
            members = await members_seen_from(node)
            if members is not None:
                answering = await asyncio.gather(*(answers(member) for member in members))
                return EtcdHealth(members, tuple(m for m, ok in zip(members, answering, strict=True) if ok))
        raise AssertionError(f"no etcd member on {nodes} answered")
    finally:
        await client.close()


class MachineWatch(WatchRecorder):
    """`kubectl get machines -w`: the Machines after every event, and a check run on each state."""

    def __init__(self, check: Callable[[dict[str, dict[str, Any]]], None] | None = None) -> None:
        self.states: list[dict[str, dict[str, Any]]] = []
        self.current: dict[str, dict[str, Any]] = {}
        self.check = check
        self.failures: list[str] = []

    def record(self, type_: str, machine: dict[str, Any]) -> None:
        if type_ == "DELETED":
            self.current.pop(name(machine), None)
        elif type_ in ("ADDED", "MODIFIED"):
            self.current[name(machine)] = machine
        else:
            return
        state = dict(self.current)
        self.states.append(state)
        if self.check is not None:
            try:
                self.check(state)
            except AssertionError as failure:
                self.failures.append(str(failure))


class Sampler:
    """`probe()` called again and again in a thread (every `poll` seconds) while the `with` block runs; what it
    returned, or raised, each time in `samples`."""

    def __init__(self, probe: Callable[[], object], poll: float = 0.2) -> None:
        self.probe, self.poll = probe, poll
        self.samples: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self.probe())
            except Exception as error:  # kept: the test judges it
                self.samples.append(error)
            self._stop.wait(self.poll)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
