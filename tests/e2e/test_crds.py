"""`herd crds | kubectl apply -f -` against `herd serve`: the CRDs install, kubectl lists and explains them,
and the schemas refuse what they should."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from support.plane import ServedPlane


def herd_crds(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "herd.cli.main", "crds", *args], capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def installed(shared_plane: ServedPlane) -> Iterator[tuple[ServedPlane, list[str]]]:
    """The shared plane with every herd CRD applied from `herd crds`; yields it with the CRD names."""
    stream = herd_crds()
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(stream) if doc]
    shared_plane.kubectl("apply", "-f", "-", input=stream, timeout=120)
    shared_plane.kubectl("wait", "--for=condition=Established", *(f"crd/{name}" for name in names),
                         "--timeout=60s")
    yield shared_plane, names


def test_herd_crds_applies_and_kubectl_lists_every_crd(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, names = installed

    listed = plane.kubectl("get", "crd", "-o", "name").stdout.split()

    assert {f"customresourcedefinition.apiextensions.k8s.io/{name}" for name in names} <= set(listed)
    assert "devmachines.infrastructure.cluster.x-k8s.io" in names


def test_herd_crds_as_a_json_list_applies_unchanged(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, _ = installed

    applied = plane.kubectl("apply", "-f", "-", input=herd_crds("-o", "json"), timeout=120)

    assert "devmachines.infrastructure.cluster.x-k8s.io unchanged" in applied.stdout


def test_kubectl_explain_prints_herds_descriptions(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, _ = installed

    explained = plane.kubectl("explain", "devmachine.spec.backend.inMemory").stdout

    assert "GROUP:      infrastructure.cluster.x-k8s.io" in explained
    assert "Simulate the machine inside herd, without any processes." in explained
    for field in ("vm", "node", "apiServer", "etcd"):
        assert f"  {field}\t<Object>" in explained


def test_kubectl_explain_reaches_the_provisioning_settings(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, _ = installed

    explained = plane.kubectl("explain", "devmachine.spec.backend.inMemory.vm.provisioning").stdout

    assert "startupDuration\t<string> -required-" in explained
    assert "startupJitter\t<string>" in explained


def test_kubectl_explain_a_core_kind(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, names = installed
    if "machinedeployments.cluster.x-k8s.io" not in names:
        pytest.skip("herd.api.cluster does not define MachineDeployment yet")

    explained = plane.kubectl("explain", "machinedeployment.spec.rollout.strategy").stdout

    assert "GROUP:      cluster.x-k8s.io" in explained
    assert "FIELD: strategy <Object>" in explained


DEV_MACHINE = """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: DevMachine
metadata:
  name: {name}
  namespace: default
spec:
  backend:
    inMemory:
      vm:
        provisioning:
          {field}: 10s
"""


def test_a_devmachine_applies(installed: tuple[ServedPlane, list[str]]) -> None:
    plane, _ = installed

    plane.kubectl("apply", "-f", "-", input=DEV_MACHINE.format(name="good", field="startupDuration"))

    got = plane.kubectl("get", "devmachine", "good", "-n", "default", "-o",
                        "jsonpath={.spec.backend.inMemory.vm.provisioning.startupDuration}").stdout
    assert got == "10s"
    header = plane.kubectl("get", "devmachine", "good", "-n", "default").stdout.splitlines()[0].split()
    assert header == ["NAME", "CLUSTER", "FAILURE", "DOMAIN", "PROVISIONED", "AGE"]


def test_a_devmachine_with_a_misspelled_field_is_refused_naming_the_field(
        installed: tuple[ServedPlane, list[str]]) -> None:
    plane, _ = installed

    refused = plane.kubectl("apply", "-f", "-", input=DEV_MACHINE.format(name="typo", field="startupDurration"),
                            check=False)

    assert refused.returncode == 1
    assert 'unknown field "spec.backend.inMemory.vm.provisioning.startupDurration"' in refused.stderr
    missing = plane.kubectl("get", "devmachine", "typo", "-n", "default", check=False)
    assert "NotFound" in missing.stderr
