"""`herd up` runs the whole management plane; `herd init` installs herd into another API server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.herd_up import Process
from support.plane import ServedPlane, kubectl, start_plane

MACHINE_DEPLOYMENT = """
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: %(name)s, namespace: default}
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

CLUSTER = """
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: c1, namespace: default}
spec:
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DevCluster, name: c1}
"""


@pytest.fixture
def herd_up(tmp_path: Path) -> Iterator[tuple[Process, Path]]:
    proc = Process("up", "--data-dir", str(tmp_path / "data"), "--port", "0")
    proc.wait_for(r"^ready: export KUBECONFIG=")
    yield proc, tmp_path / "data" / "management.kubeconfig"
    proc.stop()


def test_herd_up_installs_every_cluster_api_crd_and_explains_them(herd_up: tuple[Process, Path],
                                                                   tmp_path: Path) -> None:
    _, kubeconfig = herd_up
    crds = kubectl(kubeconfig, tmp_path / "c", "get", "crd", "-o", "name").stdout.split()
    for name in ("clusters.cluster.x-k8s.io", "machines.cluster.x-k8s.io", "machinesets.cluster.x-k8s.io",
                 "machinedeployments.cluster.x-k8s.io", "machinehealthchecks.cluster.x-k8s.io",
                 "kubeadmconfigs.bootstrap.cluster.x-k8s.io", "kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io",
                 "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io",
                 "kubeadmcontrolplanetemplates.controlplane.cluster.x-k8s.io",
                 "devclusters.infrastructure.cluster.x-k8s.io", "devclustertemplates.infrastructure.cluster.x-k8s.io",
                 "devmachines.infrastructure.cluster.x-k8s.io", "devmachinetemplates.infrastructure.cluster.x-k8s.io"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{name}" in crds
    explained = kubectl(kubeconfig, tmp_path / "c", "explain", "machinedeployment.spec.rollout.strategy").stdout
    assert "rollingUpdate" in explained and "RollingUpdate, OnDelete" in explained


def test_herd_up_defaults_and_validates_through_its_webhooks(herd_up: tuple[Process, Path], tmp_path: Path) -> None:
    _, kubeconfig = herd_up
    kubectl(kubeconfig, tmp_path / "c", "apply", "-f", "-", input=MACHINE_DEPLOYMENT % {"name": "md1"})
    md = yaml.safe_load(kubectl(kubeconfig, tmp_path / "c", "get", "md", "md1", "-o", "yaml").stdout)
    assert md["spec"]["selector"]["matchLabels"] == {"cluster.x-k8s.io/cluster-name": "c1",
                                                     "cluster.x-k8s.io/deployment-name": "md1"}
    refused = kubectl(kubeconfig, tmp_path / "c", "patch", "md", "md1", "--type", "merge", "-p",
                      '{"spec":{"clusterName":"c2"}}', check=False)
    assert refused.returncode != 0 and "spec.clusterName" in refused.stderr and "immutable" in refused.stderr
    misspelled = MACHINE_DEPLOYMENT.replace("clusterName: c1\n  template", "clusterNme: c1\n  template")
    refused = kubectl(kubeconfig, tmp_path / "c", "apply", "-f", "-", input=misspelled % {"name": "md2"}, check=False)
    assert refused.returncode != 0 and 'unknown field "spec.clusterNme"' in refused.stderr


def test_a_second_herd_up_on_the_same_data_dir_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Process("up", "--data-dir", str(data), "--port", "0")
    first.wait_for(r"^ready: export KUBECONFIG=")
    kubeconfig = data / "management.kubeconfig"
    kubectl(kubeconfig, tmp_path / "c", "apply", "-f", "-", input=MACHINE_DEPLOYMENT % {"name": "kept"})
    assert first.stop() == 0
    second = Process("up", "-v", "--data-dir", str(data), "--port", "0")  # -v: its log is in its output
    try:
        second.wait_for(r"^ready: export KUBECONFIG=")
        names = kubectl(kubeconfig, tmp_path / "c2", "get", "md", "-o", "name").stdout.split()
        assert names == ["machinedeployment.cluster.x-k8s.io/kept"]
        installed = [line for line in second.lines if "Cluster API CRDs installed" in line]
        assert installed and all(", 0 created or updated)" in line for line in installed), installed
    finally:
        assert second.stop() == 0


@pytest.fixture
def other_plane(tmp_path: Path) -> Iterator[ServedPlane]:
    served = start_plane(tmp_path / "other", tmp_path / "other-cache")
    yield served
    served.stop()


def test_herd_init_installs_into_a_separate_api_server(other_plane: ServedPlane, tmp_path: Path) -> None:
    proc = Process("init", "--kubeconfig", str(other_plane.kubeconfig), "--data-dir", str(tmp_path / "init"))
    try:
        proc.wait_for(r"manager metrics and probes on")
        crds = other_plane.kubectl("get", "crd", "-o", "name").stdout
        assert "machinedeployments.cluster.x-k8s.io" in crds
        other_plane.kubectl("apply", "-f", "-", input=MACHINE_DEPLOYMENT % {"name": "there"})
        labels = other_plane.kubectl("get", "md", "there", "-o", "jsonpath={.spec.template.metadata.labels}").stdout
        assert "cluster.x-k8s.io/deployment-name" in labels
        other_plane.kubectl("apply", "-f", "-", input=CLUSTER)
        deadline = time.monotonic() + 30
        finalizers = ""
        while time.monotonic() < deadline and "cluster.cluster.x-k8s.io" not in finalizers:
            finalizers = other_plane.kubectl("get", "cluster", "c1", "-o", "jsonpath={.metadata.finalizers}").stdout
            time.sleep(0.3)
        assert "cluster.cluster.x-k8s.io" in finalizers, "the Cluster controller never reconciled over there"
    finally:
        assert proc.stop() == 0


def test_herd_init_with_a_missing_kubeconfig_prints_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "init", "--kubeconfig", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"herd: --kubeconfig {tmp_path / 'nope'}: no such file"]
