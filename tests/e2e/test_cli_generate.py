"""`herd generate cluster` piped into `kubectl apply -f -` against `herd up`, as a user runs it: the dev flavor's
cluster comes up with its KubeadmControlPlane and MachineDeployment Available, and a missing variable is one line
naming it with exit code 1 and nothing applied."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest
from support.herd_up import HerdUp, herd_up
from support.plane import KUBECTL, kubectl

CLUSTER, NAMESPACE = "c1", "default"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        yield running


def generate_and_apply(plane: HerdUp, *flags: str) -> subprocess.CompletedProcess[str]:
    """`herd generate cluster ... | kubectl apply -f -` in a shell with pipefail, as a user types it."""
    generate = shlex.join([sys.executable, "-m", "herd.cli.main", "generate", "cluster", *flags])
    apply = shlex.join([KUBECTL, f"--cache-dir={plane.cache}", "apply", "-f", "-"])
    environment = {name: value for name, value in os.environ.items() if name != "KUBERNETES_VERSION"}
    return subprocess.run(["bash", "-o", "pipefail", "-c", f"{generate} | {apply}"], capture_output=True, text=True,
                          timeout=60, env={**environment, "KUBECONFIG": str(plane.kubeconfig),
                                           "HOME": str(plane.data_dir)})  # no clusterctl.yaml of the machine's


def test_the_generated_cluster_becomes_available(plane: HerdUp) -> None:
    applied = generate_and_apply(plane, CLUSTER, "--flavor", "dev", "--kubernetes-version", "v1.33.0",
                                 "--control-plane-machine-count", "3", "--worker-machine-count", "2")
    assert applied.returncode == 0, applied.stderr
    assert f"cluster.cluster.x-k8s.io/{CLUSTER} created" in applied.stdout
    kubectl(plane.kubeconfig, plane.cache, "wait", "--for=condition=Available", "-n", NAMESPACE, "--timeout=100s",
            f"kubeadmcontrolplane/{CLUSTER}-control-plane", f"machinedeployment/{CLUSTER}-md-0", timeout=110)
    # Available comes with the first control-plane machine; then every replica the flags asked for becomes ready
    for owner, replicas in ((f"kubeadmcontrolplane/{CLUSTER}-control-plane", 3),
                            (f"machinedeployment/{CLUSTER}-md-0", 2)):
        kubectl(plane.kubeconfig, plane.cache, "wait", f"--for=jsonpath={{.status.readyReplicas}}={replicas}",
                "-n", NAMESPACE, "--timeout=100s", owner, timeout=110)
    assert plane.get("kubeadmcontrolplane", f"{CLUSTER}-control-plane", NAMESPACE)["spec"]["version"] == "v1.33.0"
    machines = plane.items("machines", NAMESPACE, "-l", f"cluster.x-k8s.io/cluster-name={CLUSTER}")
    assert sorted({machine["spec"].get("failureDomain") for machine in machines if "cluster.x-k8s.io/control-plane"
                   in machine["metadata"]["labels"]}) == ["fd1", "fd2", "fd3"]
    assert {mhc["metadata"]["name"] for mhc in plane.items("machinehealthchecks", NAMESPACE)} >= \
        {f"{CLUSTER}-control-plane", f"{CLUSTER}-md-0"}


def test_a_missing_variable_fails_with_its_name(plane: HerdUp) -> None:
    result = generate_and_apply(plane, "c2", "--flavor", "dev")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "herd: value for variables [KUBERNETES_VERSION] is not set; set them in the environment or in the " \
           "clusterctl config file (--config)\n" in result.stderr
    assert plane.kubectl("get", "cluster", "c2", "-n", NAMESPACE, check=False).returncode != 0
