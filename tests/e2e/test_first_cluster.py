"""A first workload cluster, end to end: `herd up`, `kubectl apply -f examples/single-node.yaml`, and what a user
then sees with kubectl — the Machine running, the workload cluster reachable through its kubeconfig Secret (and
only with its own CA's certificates), the cloud-init user data, teardown, a crash mid-provisioning, a paused
cluster and an injected fault.

One `herd up` serves the module; each test has a namespace of its own. The crash test runs a `herd up` of its own.
"""

from __future__ import annotations

import base64
import errno
import functools
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync, throughout

from herd.apiserver.kubeconfig import build_kubeconfig, dump_kubeconfig
from herd.apiserver.pki import CertificateAuthority

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "single-node.yaml"
CLUSTER, MACHINE = "single", "single-control-plane-0"
POLL_SECONDS = 0.3
DEADLINE_SECONDS = 30.0
PAUSED_WINDOW_SECONDS = 3.0
CLOUD_INIT = shutil.which("cloud-init")

eventually = functools.partial(eventually_sync, timeout=DEADLINE_SECONDS, poll=POLL_SECONDS)


class Herd(HerdUp):
    """A running `herd up`, with the kubectl commands these tests repeat."""

    def names(self, kinds: str, namespace: str) -> list[str]:
        return sorted(self.kubectl("get", kinds, "-n", namespace, "-o", "name").stdout.split())

    def table(self, kind: str, namespace: str) -> list[dict[str, str]]:
        return parse_table(self.kubectl("get", kind, "-n", namespace).stdout)

    def create_namespace(self, name: str) -> None:
        self.kubectl("create", "namespace", name)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Herd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), Herd) as running:
        yield running


def manifest(namespace: str, *, paused: bool = False, vm_startup: str | None = None) -> str:
    """examples/single-node.yaml in `namespace`, optionally paused or with a slower VM."""
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for document in documents:
        document["metadata"]["namespace"] = namespace
        if document["kind"] == "Cluster" and paused:
            document["spec"]["paused"] = True
        if document["kind"] == "DevMachine" and vm_startup is not None:
            document["spec"]["backend"]["inMemory"]["vm"]["provisioning"]["startupDuration"] = vm_startup
    return yaml.safe_dump_all(documents)


def parse_table(text: str) -> list[dict[str, str]]:
    """kubectl's table output as rows keyed by column header (headers such as "NODE NAME" hold spaces)."""
    lines = text.splitlines()
    if not lines:
        return []
    columns = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    rows = []
    for line in lines[1:]:
        bounds = [start for start, _ in columns[1:]] + [len(line)]
        rows.append({header: line[start:end].strip() for (start, header), end in zip(columns, bounds, strict=True)})
    return rows


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def secret_value(herd: Herd, namespace: str, name: str, key: str = "value") -> bytes:
    return base64.b64decode(herd.get("secret", name, namespace)["data"][key])


def machine_running(herd: Herd, namespace: str) -> dict[str, str]:
    """The Machine's row in `kubectl get machines`, once it says Running with a node name."""
    def probe() -> dict[str, str]:
        rows = {row["NAME"]: row for row in herd.table("machines", namespace)}
        assert MACHINE in rows, rows
        assert rows[MACHINE]["PHASE"] == "Running" and rows[MACHINE]["NODE NAME"], rows[MACHINE]
        return rows[MACHINE]
    return eventually(probe, f"Machine {namespace}/{MACHINE} Running")


def workload_kubeconfig(herd: Herd, namespace: str, path: Path) -> Path:
    """The `<cluster>-kubeconfig` Secret, decoded into a file."""
    path.write_bytes(secret_value(herd, namespace, f"{CLUSTER}-kubeconfig"))
    path.chmod(0o600)
    return path


def workload_nodes(herd: Herd, kubeconfig: Path) -> list[dict[str, Any]]:
    listed = json.loads(herd.kubectl("--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json").stdout)
    items: list[dict[str, Any]] = listed["items"]
    return items


def node_ready(node: dict[str, Any]) -> str:
    return str(conditions(node).get("Ready", {}).get("status"))


def endpoint(herd: Herd, namespace: str) -> tuple[str, int]:
    spec = herd.get("devcluster", CLUSTER, namespace)["spec"]["controlPlaneEndpoint"]
    return str(spec["host"]), int(spec["port"])


def connection_refused(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == errno.ECONNREFUSED


def kubeadm_documents(user_data: str) -> list[dict[str, Any]]:
    """The kubeadm configuration documents the user data writes to /run/kubeadm/kubeadm.yaml."""
    cloud_config = yaml.safe_load(user_data)
    files = {entry["path"]: entry for entry in cloud_config["write_files"]}
    written = files["/run/kubeadm/kubeadm.yaml"]
    assert "encoding" not in written, written
    return [document for document in yaml.safe_load_all(written["content"]) if document]


@pytest.fixture(scope="module")
def first(herd: Herd) -> tuple[str, float]:
    """examples/single-node.yaml applied in a namespace of its own; (namespace, when it was applied)."""
    herd.create_namespace("first")
    herd.apply(manifest("first"))
    return "first", time.monotonic()


# ----- 1. the example runs -----

def test_applying_the_example_runs_the_machine_and_provisions_the_cluster(herd: Herd,
                                                                           first: tuple[str, float]) -> None:
    namespace, applied = first
    row = machine_running(herd, namespace)
    machine = herd.get("machine", MACHINE, namespace)
    assert row["NODE NAME"] == machine["status"]["nodeRef"]["name"]
    assert row["CLUSTER"] == CLUSTER and row["VERSION"] == "v1.33.0"

    def provisioned() -> dict[str, Any]:
        cluster = herd.get("cluster", CLUSTER, namespace)
        assert cluster["status"].get("phase") == "Provisioned", cluster["status"]
        found = {type_: c["status"] for type_, c in conditions(cluster).items()}
        for type_ in ("InfrastructureReady", "ControlPlaneInitialized", "ControlPlaneAvailable", "WorkersAvailable",
                      "RemoteConnectionProbe", "Available"):
            assert found.get(type_) == "True", (type_, conditions(cluster).get(type_))
        for type_ in ("Paused", "Deleting"):
            assert found.get(type_) == "False", (type_, conditions(cluster).get(type_))
        return cluster

    eventually(provisioned, f"Cluster {namespace}/{CLUSTER} Provisioned and Available")
    assert time.monotonic() - applied < DEADLINE_SECONDS


# ----- 2. the kubeconfig Secret -----

def test_the_kubeconfig_secret_reaches_the_workload_cluster_with_one_ready_node(herd: Herd, first: tuple[str, float],
                                                                                tmp_path: Path) -> None:
    namespace, _ = first
    machine_running(herd, namespace)
    kubeconfig = workload_kubeconfig(herd, namespace, tmp_path / "workload.kubeconfig")
    provider_id = herd.get("machine", MACHINE, namespace)["spec"]["providerID"]

    def one_ready_node() -> dict[str, Any]:
        nodes = workload_nodes(herd, kubeconfig)
        assert len(nodes) == 1, [n["metadata"]["name"] for n in nodes]
        assert node_ready(nodes[0]) == "True", conditions(nodes[0])
        return nodes[0]

    node = eventually(one_ready_node, "one Ready Node in the workload cluster")
    assert node["spec"]["providerID"] == provider_id
    table = parse_table(herd.kubectl("--kubeconfig", str(kubeconfig), "get", "nodes").stdout)
    assert [(row["NAME"], row["STATUS"]) for row in table] == [(node["metadata"]["name"], "Ready")]


def test_the_workload_cluster_rejects_client_certificates_from_other_cas(herd: Herd, first: tuple[str, float],
                                                                         tmp_path: Path) -> None:
    namespace, _ = first
    machine_running(herd, namespace)
    good = workload_kubeconfig(herd, namespace, tmp_path / "workload.kubeconfig")
    cluster = yaml.safe_load(good.read_text())["clusters"][0]["cluster"]
    server, cluster_ca = cluster["server"], base64.b64decode(cluster["certificate-authority-data"])
    assert herd.kubectl("--kubeconfig", str(good), "get", "--raw", "/api/v1/nodes").stdout

    def refused(**credentials: Any) -> subprocess.CompletedProcess[str]:
        config = build_kubeconfig(server=server, ca_pem=cluster_ca, cluster_name=CLUSTER, user_name="intruder",
                                  **credentials)
        path = tmp_path / "intruder.kubeconfig"
        path.write_text(dump_kubeconfig(config))
        # a single GET (`get nodes` would first retry discovery for many seconds)
        result = herd.kubectl("--kubeconfig", str(path), "get", "--raw", "/api/v1/nodes", check=False)
        assert result.returncode != 0 and MACHINE not in result.stdout, result.stdout
        return result

    management_ca = CertificateAuthority.load(herd.data_dir / "pki" / "ca.crt", herd.data_dir / "pki" / "ca.key")
    strangers = {"a CA of its own": CertificateAuthority.generate("intruder-ca"),
                 "the management cluster's CA": management_ca}
    for who, ca in strangers.items():
        cert, key = ca.issue_client_cert("kubernetes-admin", ["system:masters"])
        result = refused(client_cert_pem=cert, client_key_pem=key)
        # as kube-apiserver: the handshake completes and the authenticator answers 401, which kubectl words so
        assert "You must be logged in to the server" in result.stderr, (who, result.stderr)
    # and a bearer token the cluster never issued is refused the same way
    assert "You must be logged in to the server" in refused(token="abcdef.0123456789abcdef").stderr


# ----- 3. the bootstrap data -----

def user_data(herd: Herd, namespace: str) -> str:
    machine_running(herd, namespace)
    secret_name = herd.get("machine", MACHINE, namespace)["spec"]["bootstrap"]["dataSecretName"]
    text = secret_value(herd, namespace, secret_name).decode()
    header, _, body = text.partition("\n")
    # cloud-init renders the `## template: jinja` line away at boot, before it reads the cloud-config
    assert header == "## template: jinja"
    assert body.startswith("#cloud-config\n")
    return body


@pytest.mark.skipif(CLOUD_INIT is None, reason="the cloud-init binary is not installed (Debian/Ubuntu package "
                                               "`cloud-init`)")
def test_the_user_data_passes_cloud_inits_schema(herd: Herd, first: tuple[str, float], tmp_path: Path) -> None:
    namespace, _ = first
    path = tmp_path / "user-data"
    path.write_text(user_data(herd, namespace))
    result = subprocess.run([str(CLOUD_INIT), "schema", "--config-file", str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_user_data_carries_the_clusters_kubeadm_configuration(herd: Herd, first: tuple[str, float]) -> None:
    namespace, _ = first
    documents = {d["kind"]: d for d in kubeadm_documents(user_data(herd, namespace))}
    assert set(documents) == {"ClusterConfiguration", "InitConfiguration"}
    assert {d["apiVersion"] for d in documents.values()} == {"kubeadm.k8s.io/v1beta4"}
    host, port = endpoint(herd, namespace)
    network = herd.get("cluster", CLUSTER, namespace)["spec"]["clusterNetwork"]
    configuration = documents["ClusterConfiguration"]
    assert configuration["controlPlaneEndpoint"] == f"{host}:{port}"
    assert configuration["clusterName"] == CLUSTER
    assert configuration["kubernetesVersion"] == "v1.33.0"
    assert configuration["networking"]["podSubnet"] == ",".join(network["pods"]["cidrBlocks"]) == "192.168.0.0/16"
    assert configuration["networking"]["serviceSubnet"] == ",".join(network["services"]["cidrBlocks"]) \
        == "10.128.0.0/12"
    registration = documents["InitConfiguration"]["nodeRegistration"]
    assert registration["criSocket"] == "unix:///var/run/containerd/containerd.sock"


# ----- 4. teardown -----

def test_deleting_the_machine_then_the_cluster_leaves_nothing_behind(herd: Herd, tmp_path: Path) -> None:
    namespace = "teardown"
    herd.create_namespace(namespace)
    assert herd.names("serviceaccounts,secrets,configmaps", namespace) == []
    herd.apply(manifest(namespace))
    machine_running(herd, namespace)
    kubeconfig = workload_kubeconfig(herd, namespace, tmp_path / "workload.kubeconfig")
    data_secret = herd.get("machine", MACHINE, namespace)["spec"]["bootstrap"]["dataSecretName"]
    eventually(lambda: [n["metadata"]["name"] for n in workload_nodes(herd, kubeconfig)] == [MACHINE],
          "the Node registered")
    old_node = workload_nodes(herd, kubeconfig)[0]["metadata"]["uid"]
    old_ca = secret_value(herd, namespace, f"{CLUSTER}-ca", "tls.crt")
    host, port = endpoint(herd, namespace)

    herd.kubectl("delete", "machine", MACHINE, "-n", namespace, "--timeout=30s")

    def machine_gone() -> None:
        assert workload_nodes(herd, kubeconfig) == []
        assert herd.names("machines,devmachines,kubeadmconfigs", namespace) == []
        assert f"secret/{data_secret}" not in herd.names("secrets", namespace)
    eventually(machine_gone, "the Machine's Node, DevMachine, KubeadmConfig and data Secret deleted")

    herd.kubectl("delete", "cluster", CLUSTER, "-n", namespace, "--timeout=30s")
    kinds = herd.kubectl("api-resources", "--namespaced=true", "--verbs=list", "-o", "name").stdout.split()
    assert {"clusters.cluster.x-k8s.io", "devclusters.infrastructure.cluster.x-k8s.io", "secrets"} <= set(kinds)
    # Events stay until their TTL, as in kube: they record what happened, they are not owned by what they name
    every_kind = ",".join(kind for kind in kinds if kind not in ("events", "events.events.k8s.io"))

    def all_gone() -> None:
        assert herd.names("clusters,machines,devclusters,devmachines,kubeadmconfigs,secrets", namespace) == []
        assert herd.names(every_kind, namespace) == []
    eventually(all_gone, f"every object in namespace {namespace} deleted")
    eventually(lambda: connection_refused(host, port), f"the workload API server on {host}:{port} stopped")

    # nothing of the old cluster lingers in herd either: the same cluster made again is new through and through
    herd.apply(manifest(namespace))
    machine_running(herd, namespace)
    assert secret_value(herd, namespace, f"{CLUSTER}-ca", "tls.crt") != old_ca
    kubeconfig = workload_kubeconfig(herd, namespace, tmp_path / "again.kubeconfig")
    eventually(lambda: [n["metadata"]["name"] for n in workload_nodes(herd, kubeconfig)] == [MACHINE],
          "the new Node registered")
    assert workload_nodes(herd, kubeconfig)[0]["metadata"]["uid"] != old_node
    host, port = endpoint(herd, namespace)
    herd.kubectl("delete", "namespace", namespace, "--timeout=30s")  # takes the running cluster with it
    eventually(lambda: connection_refused(host, port), f"the workload API server on {host}:{port} stopped")


# ----- 5. a crash mid-provisioning -----

def test_herd_up_killed_mid_provisioning_finishes_the_cluster_after_a_restart(tmp_path: Path) -> None:
    namespace = "crash"
    data_dir, cache = tmp_path / "data", tmp_path / "kubectl-cache"
    first_run = Herd.start(data_dir, cache)
    try:
        first_run.create_namespace(namespace)
        first_run.apply(manifest(namespace, vm_startup="3s"))

        def bootstrapped() -> None:
            config = first_run.get("kubeadmconfig", MACHINE, namespace)
            assert (config.get("status") or {}).get("dataSecretName"), config.get("status")
        eventually(bootstrapped, "the bootstrap data written")
        phase = first_run.get("machine", MACHINE, namespace).get("status", {}).get("phase")
        assert phase != "Running", "too late to crash mid-provisioning"
    finally:
        first_run.process.stop(signal.SIGKILL)
    assert first_run.process.proc.returncode == -signal.SIGKILL

    second_run = Herd.start(data_dir, cache)
    try:
        machine_running(second_run, namespace)
        kubeconfig = workload_kubeconfig(second_run, namespace, tmp_path / "workload.kubeconfig")
        eventually(lambda: workload_nodes(second_run, kubeconfig) != [], "a Node registered")
        assert [n["metadata"]["name"] for n in workload_nodes(second_run, kubeconfig)] == [MACHINE]
        assert second_run.names("machines,devmachines,kubeadmconfigs", namespace) == [
            f"devmachine.infrastructure.cluster.x-k8s.io/{MACHINE}",
            f"kubeadmconfig.bootstrap.cluster.x-k8s.io/{MACHINE}",
            f"machine.cluster.x-k8s.io/{MACHINE}",
        ]
        assert second_run.names("secrets", namespace) == sorted(
            f"secret/{name}" for name in (f"{CLUSTER}-ca", f"{CLUSTER}-etcd", f"{CLUSTER}-proxy", f"{CLUSTER}-sa",
                                          f"{CLUSTER}-kubeconfig", MACHINE))
        # one CA: the one in its Secret is the one the machine booted with and the kubeconfig trusts
        ca = secret_value(second_run, namespace, f"{CLUSTER}-ca", "tls.crt").decode()
        booted_with = yaml.safe_load(user_data(second_run, namespace))
        files = {entry["path"]: entry["content"] for entry in booted_with["write_files"]}
        assert files["/etc/kubernetes/pki/ca.crt"].strip() == ca.strip()
        trusted = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["certificate-authority-data"]
        assert base64.b64decode(trusted).decode().strip() == ca.strip()
    finally:
        assert second_run.process.stop() == 0, "".join(second_run.process.lines)


# ----- 6. pausing, and a fault -----

def test_a_paused_cluster_is_left_alone_until_unpaused(herd: Herd) -> None:
    namespace = "paused"
    herd.create_namespace(namespace)
    herd.apply(manifest(namespace, paused=True))

    def reported_paused() -> None:
        for kind in ("cluster", "machine"):
            name = CLUSTER if kind == "cluster" else MACHINE
            paused = conditions(herd.get(kind, name, namespace)).get("Paused", {})
            assert paused.get("status") == "True", (kind, paused)
    eventually(reported_paused, "the Cluster and Machine report Paused")

    def untouched() -> None:
        machine = herd.get("machine", MACHINE, namespace)
        status = machine.get("status") or {}
        assert status.get("phase") in (None, "Pending") and "nodeRef" not in status, status
        assert "dataSecretName" not in machine["spec"]["bootstrap"]
        assert "controlPlaneEndpoint" not in herd.get("devcluster", CLUSTER, namespace)["spec"]
        assert herd.names("secrets", namespace) == []
    throughout(untouched, seconds=PAUSED_WINDOW_SECONDS, poll=POLL_SECONDS)  # nothing moves while paused

    herd.kubectl("patch", "cluster", CLUSTER, "-n", namespace, "--type", "merge", "-p", '{"spec":{"paused":false}}')
    machine_running(herd, namespace)
    for kind, name in (("cluster", CLUSTER), ("machine", MACHINE)):
        assert conditions(herd.get(kind, name, namespace))["Paused"]["status"] == "False"


def test_a_machine_whose_vm_is_gone_says_why(herd: Herd) -> None:
    namespace = "vm-gone"
    herd.create_namespace(namespace)
    herd.apply(manifest(namespace))
    machine_running(herd, namespace)
    herd.kubectl("annotate", "devmachine", MACHINE, "-n", namespace, "herd.dev/fail=vm-gone")

    def explained() -> dict[str, Any]:
        machine = herd.get("machine", MACHINE, namespace)
        infrastructure = conditions(machine)["InfrastructureReady"]
        assert infrastructure["status"] == "False", infrastructure
        assert "The VM is gone" in infrastructure["message"], infrastructure
        return machine

    machine = eventually(explained, "the Machine explains that its VM is gone")
    provider = conditions(herd.get("devmachine", MACHINE, namespace))["Ready"]
    infrastructure = conditions(machine)["InfrastructureReady"]
    assert (infrastructure["reason"], infrastructure["message"]) == (provider["reason"], provider["message"])
    assert "The VM is gone" in conditions(machine)["Ready"]["message"]
    rows = {row["NAME"]: row for row in herd.table("machines", namespace)}
    assert rows[MACHINE]["READY"] == "False"
    described = herd.kubectl("describe", "machine", MACHINE, "-n", namespace).stdout
    assert "The VM is gone (fault injected with the herd.dev/fail=vm-gone annotation)" in described
