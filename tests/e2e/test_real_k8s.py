"""herd against a real kube-apiserver + etcd (built by `make real-k8s`): kubectl works there, and `herd init`
installs the Cluster API CRDs and webhooks into it and brings the first cluster to Running. Skipped until the
binaries are built."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.herd_up import Process
from support.plane import kubectl
from support.realk8s import KUBE_APISERVER, MISSING_REASON, RealKubernetes, binaries_built, real_kubernetes
from support.waiting import eventually_sync

pytestmark = [pytest.mark.skipif(not binaries_built(), reason=MISSING_REASON), pytest.mark.timeout(300)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "single-node.yaml"
MACHINE_DEPLOYMENT = """
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: md1, namespace: webhooks}
spec:
  clusterName: c1
  template:
    spec:
      clusterName: c1
      version: v1.33.0
      bootstrap:
        configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfigTemplate, name: t1}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevMachineTemplate, name: d1}
"""


@pytest.fixture(scope="module")
def real_k8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubernetes]:
    with real_kubernetes(tmp_path_factory.mktemp("real-k8s")) as real:
        print(f"etcd + kube-apiserver ready in {real.startup_seconds:.1f} s")
        yield real


@pytest.fixture(scope="module")
def herd_init(real_k8s: RealKubernetes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    proc = Process("init", "--kubeconfig", str(real_k8s.kubeconfig), "--data-dir",
                   str(tmp_path_factory.mktemp("herd-init")))
    try:
        proc.wait_for(r"manager metrics and probes on", timeout=120)
        yield proc
    finally:
        assert proc.stop() == 0, "".join(proc.lines)


def test_kubectl_reaches_the_real_api_server_which_authenticates_and_authorizes(real_k8s: RealKubernetes,
                                                                                 tmp_path: Path) -> None:
    built = subprocess.run([str(KUBE_APISERVER), "--version"], capture_output=True, text=True, check=True)
    version = json.loads(kubectl(real_k8s.kubeconfig, tmp_path / "c", "version", "-o", "json").stdout)
    assert built.stdout.split()[-1] == version["serverVersion"]["gitVersion"]
    namespaces = kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "ns", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(namespaces)
    wrong_token = kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "ns", "--token=not-a-token", check=False)
    assert wrong_token.returncode != 0 and "Unauthorized" in wrong_token.stderr
    # RBAC decides: a service account nobody granted anything may not list namespaces.
    can_i = kubectl(real_k8s.kubeconfig, tmp_path / "c", "auth", "can-i", "list", "namespaces",
                    "--as=system:serviceaccount:default:nobody", check=False)
    assert (can_i.returncode, can_i.stdout.strip()) == (1, "no")


def test_herd_init_installs_the_cluster_api_crds_into_the_real_api_server(real_k8s: RealKubernetes, herd_init: Process,
                                                                          tmp_path: Path) -> None:
    crds = kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "crd", "-o", "name").stdout.split()
    for name in ("clusters.cluster.x-k8s.io", "machinedeployments.cluster.x-k8s.io",
                 "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", "devmachines.infrastructure.cluster.x-k8s.io"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{name}" in crds


def test_kube_apiserver_calls_herds_webhooks(real_k8s: RealKubernetes, herd_init: Process, tmp_path: Path) -> None:
    kubectl(real_k8s.kubeconfig, tmp_path / "c", "create", "namespace", "webhooks")
    kubectl(real_k8s.kubeconfig, tmp_path / "c", "apply", "-f", "-", input=MACHINE_DEPLOYMENT)
    md = yaml.safe_load(kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "md", "md1", "-n", "webhooks",
                                "-o", "yaml").stdout)
    assert md["spec"]["selector"]["matchLabels"] == {"cluster.x-k8s.io/cluster-name": "c1",
                                                     "cluster.x-k8s.io/deployment-name": "md1"}
    refused = kubectl(real_k8s.kubeconfig, tmp_path / "c", "patch", "md", "md1", "-n", "webhooks", "--type", "merge",
                      "-p", '{"spec":{"clusterName":"c2"}}', check=False)
    assert refused.returncode != 0 and "spec.clusterName" in refused.stderr and "immutable" in refused.stderr


def test_the_first_cluster_reaches_running_on_the_real_api_server(real_k8s: RealKubernetes, herd_init: Process,
                                                                  tmp_path: Path) -> None:
    kubectl(real_k8s.kubeconfig, tmp_path / "c", "apply", "-f", str(EXAMPLE))

    def machine_running() -> None:
        machine = json.loads(kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "machine", "single-control-plane-0",
                                     "-o", "json").stdout)
        status = machine.get("status") or {}
        assert status.get("phase") == "Running" and status.get("nodeRef"), status

    eventually_sync(machine_running, "Machine single-control-plane-0 Running", timeout=90, poll=0.5)
