"""herd against a real kube-apiserver + etcd (built by `make real-k8s`): kubectl works there, and `herd init` installs
the Cluster API CRDs into it. Skipped until the binaries are built."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.herd_up import Process
from support.plane import kubectl
from support.realk8s import KUBE_APISERVER, MISSING_REASON, RealKubernetes, binaries_built, real_kubernetes

pytestmark = [pytest.mark.skipif(not binaries_built(), reason=MISSING_REASON), pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def real_k8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKubernetes]:
    with real_kubernetes(tmp_path_factory.mktemp("real-k8s")) as real:
        print(f"etcd + kube-apiserver ready in {real.startup_seconds:.1f} s")
        yield real


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


def test_herd_init_installs_the_cluster_api_crds_into_the_real_api_server(real_k8s: RealKubernetes,
                                                                          tmp_path: Path) -> None:
    proc = Process("init", "--kubeconfig", str(real_k8s.kubeconfig), "--data-dir", str(tmp_path / "init"))
    try:
        proc.wait_for(r"manager metrics and probes on", timeout=120)
        crds = kubectl(real_k8s.kubeconfig, tmp_path / "c", "get", "crd", "-o", "name").stdout.split()
        assert "customresourcedefinition.apiextensions.k8s.io/clusters.cluster.x-k8s.io" in crds
    finally:
        assert proc.stop() == 0, "".join(proc.lines)
