"""The real kubectl and the official Python client applying server-side to `herd serve`: create and
update, conflicts between managers and --force-conflicts, the upgrade from client-side apply, and
`kubectl diff --server-side`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.plane import ServedPlane

EXAMPLE = Path(__file__).parents[2] / "examples" / "cluster-with-workers.yaml"


@pytest.fixture(scope="module")
def plane(shared_plane: ServedPlane) -> Iterator[ServedPlane]:
    """The shared plane with herd's CRDs, installed server-side."""
    crds = subprocess.run([sys.executable, "-m", "herd.cli.main", "crds"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    shared_plane.kubectl("apply", "--server-side", "-f", "-", input=crds, timeout=120)
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(crds) if doc]
    shared_plane.kubectl("wait", "--for=condition=Established", *(f"crd/{n}" for n in names), "--timeout=60s")
    yield shared_plane


def get(plane: ServedPlane, *what: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(plane.kubectl("get", *what, "-n", "default", "-o", "json",
                                                      "--show-managed-fields").stdout)
    return found


def example(replicas: int | None = None) -> str:
    """The example's objects; the MachineDeployment gets the selector `herd up`'s defaulting webhook would add
    (`herd serve` alone calls no webhooks), and `replicas` when given."""
    docs = [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc]
    for doc in docs:
        if doc["kind"] == "MachineDeployment":
            doc["spec"]["selector"] = {"matchLabels": {"cluster.x-k8s.io/cluster-name": "fleet"}}
            if replicas is not None:
                doc["spec"]["replicas"] = replicas
    return yaml.safe_dump_all(docs)


def test_apply_server_side_creates_updates_and_reports_conflicts(plane: ServedPlane) -> None:
    created = plane.kubectl("apply", "--server-side", "-f", "-", input=example()).stdout.splitlines()
    assert "cluster.cluster.x-k8s.io/fleet serverside-applied" in created
    deployment = get(plane, "machinedeployment", "fleet-md-0")
    owners = {e["manager"]: e for e in deployment["metadata"]["managedFields"]}
    assert owners["kubectl"]["operation"] == "Apply"
    assert "f:replicas" in owners["kubectl"]["fieldsV1"]["f:spec"]

    plane.kubectl("apply", "--server-side", "-f", "-", input=example(3))
    assert get(plane, "machinedeployment", "fleet-md-0")["spec"]["replicas"] == 3

    refused = plane.kubectl("apply", "--server-side", "--field-manager=autoscaler", "-f", "-",
                            input=example(5), check=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in refused.stderr
    assert get(plane, "machinedeployment", "fleet-md-0")["spec"]["replicas"] == 3

    plane.kubectl("apply", "--server-side", "--field-manager=autoscaler", "--force-conflicts", "-f", "-",
                  input=example(5))
    taken = get(plane, "machinedeployment", "fleet-md-0")
    assert taken["spec"]["replicas"] == 5
    owners = {e["manager"]: e["fieldsV1"] for e in taken["metadata"]["managedFields"]}
    assert "f:replicas" in owners["autoscaler"]["f:spec"]
    assert "f:replicas" not in owners["kubectl"]["f:spec"]


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  level: "{level}"
  mode: fast
"""


def test_server_side_apply_after_client_side_apply_takes_over_without_conflict(plane: ServedPlane) -> None:
    plane.kubectl("apply", "-f", "-", input=CONFIGMAP.format(level=1))
    before = get(plane, "configmap", "settings")
    assert {e["manager"] for e in before["metadata"]["managedFields"]} == {"kubectl-client-side-apply"}

    plane.kubectl("apply", "--server-side", "-f", "-", input=CONFIGMAP.format(level=2))
    after = get(plane, "configmap", "settings")
    assert after["data"] == {"level": "2", "mode": "fast"}
    owners = {(e["manager"], e["operation"]): e["fieldsV1"] for e in after["metadata"]["managedFields"]}
    assert {"f:level": {}, "f:mode": {}}.items() <= owners[("kubectl", "Apply")]["f:data"].items()
    assert "f:level" not in json.dumps(owners.get(("kubectl-client-side-apply", "Update"), {}))


def test_kubectl_diff_server_side_shows_the_change_and_stores_nothing(plane: ServedPlane) -> None:
    plane.kubectl("apply", "--server-side", "-f", "-", input=CONFIGMAP.format(level=7).replace("settings", "diffed"))
    diff = plane.kubectl("diff", "--server-side", "-f", "-", input=CONFIGMAP.format(level=8).replace(
        "settings", "diffed"), check=False)
    assert diff.returncode == 1, diff.stderr  # 1: differences found
    assert '-  level: "7"' in diff.stdout and '+  level: "8"' in diff.stdout
    assert get(plane, "configmap", "diffed")["data"]["level"] == "7"


def test_the_official_python_client_applies_server_side(plane: ServedPlane) -> None:
    from kubernetes import config, dynamic
    from kubernetes.client import api_client

    client = dynamic.DynamicClient(api_client.ApiClient(config.new_client_from_config(str(plane.kubeconfig))
                                                        .configuration))
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-python", "namespace": "default"},
            "data": {"a": "1"}}
    created = configmaps.server_side_apply(body=body, field_manager="python-client")
    assert created.data.a == "1"
    body["data"] = {"a": "2"}
    updated = configmaps.server_side_apply(body=body, field_manager="python-client")
    assert updated.data.a == "2"
    assert [(e.manager, e.operation) for e in updated.metadata.managedFields] == [("python-client", "Apply")]
