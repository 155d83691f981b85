"""Cluster API's admission webhooks behind a real `herd serve`, driven by the real kubectl.

The CRDs come from `herd.api.registry.all_crds()`; the webhooks are herd's own WebhookServer with the routes
`herd up` registers, on a certificate from a CA of the test's own, registered through the configurations
`webhook_configurations` builds. The server runs on its own event loop in a thread (kubectl calls block).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.plane import ServedPlane
from support.tls import serving_certificate

from herd.api.registry import all_crds
from herd.cli.webhooks import capi_webhook_routes, register_routes, webhook_configurations
from herd.runtime.webhook import WebhookServer

MANIFESTS = Path(__file__).parent / "manifests"
CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
DEPLOYMENT_NAME = "cluster.x-k8s.io/deployment-name"
INFRA_REF = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "wl-md-0"}
CONFIG_REF = {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": "wl-md-0"}


class WebhooksInThread:
    """herd's webhook server, serving Cluster API's routes from a thread with its own event loop."""

    def __init__(self, directory: Path) -> None:
        serving = serving_certificate(directory, "capi-webhooks")
        self.ca = serving.ca
        self.server = WebhookServer(serving.cert, serving.key)
        register_routes(self.server, capi_webhook_routes())
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="module")
def capi(shared_plane: ServedPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlane]:
    """A plane with every herd CRD installed and Cluster API's webhooks registered and served."""
    crds = all_crds()
    shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(crds, sort_keys=False), timeout=120)
    shared_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                         *(f"crd/{crd['metadata']['name']}" for crd in crds))
    webhooks = WebhooksInThread(tmp_path_factory.mktemp("webhooks"))
    webhooks.start()
    mutating, validating = webhook_configurations(webhooks.ca.cert_pem, f"https://127.0.0.1:{webhooks.server.port}")
    shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([mutating, validating]))
    yield shared_plane
    webhooks.stop()


def get(plane: ServedPlane, resource: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(plane.kubectl("get", resource, name, "-n", "default", "-o", "json").stdout)
    return result


def machine_deployment(name: str, **template_spec: Any) -> dict[str, Any]:
    """A MachineDeployment as a user writes it: no labels and no selector."""
    spec = {"clusterName": "wl", "version": "1.33.0", "bootstrap": {"configRef": CONFIG_REF},
            "infrastructureRef": INFRA_REF, **template_spec}
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterName": "wl", "template": {"spec": spec}}}


def apply(plane: ServedPlane, *objects: dict[str, Any], check: bool = True) -> Any:
    return plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects), check=check)


def test_a_machine_deployment_is_defaulted_its_immutable_fields_kept_and_bad_versions_refused(
        capi: ServedPlane) -> None:
    apply(capi, machine_deployment("wl-md-0"))

    md = get(capi, "machinedeployment", "wl-md-0")
    assert md["metadata"]["labels"] == {CLUSTER_NAME: "wl"}
    assert md["spec"]["selector"] == {"matchLabels": {CLUSTER_NAME: "wl", DEPLOYMENT_NAME: "wl-md-0"}}
    assert md["spec"]["template"]["metadata"] == {"labels": {CLUSTER_NAME: "wl", DEPLOYMENT_NAME: "wl-md-0"}}
    assert md["spec"]["replicas"] == 1
    assert md["spec"]["rollout"] == {"strategy": {"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}
    assert md["spec"]["template"]["spec"]["version"] == "v1.33.0"

    moved = capi.kubectl("patch", "machinedeployment", "wl-md-0", "--type=merge",
                         "-p", '{"spec": {"clusterName": "elsewhere"}}', check=False)
    assert moved.returncode != 0
    # A 422 with causes: kubectl lists the causes (as it does for kube-apiserver's own validation).
    assert 'The MachineDeployment "wl-md-0" is invalid' in moved.stderr
    assert "* spec.clusterName: Forbidden: field is immutable" in moved.stderr
    assert get(capi, "machinedeployment", "wl-md-0")["spec"]["clusterName"] == "wl"

    scaled = capi.kubectl("patch", "machinedeployment", "wl-md-0", "--type=merge", "-p", '{"spec": {"replicas": 3}}')
    assert "patched" in scaled.stdout

    refused = apply(capi, machine_deployment("wl-md-bad", version="1.33"), check=False)
    assert refused.returncode != 0
    assert 'spec.template.spec.version: Invalid value: "v1.33": must be a valid semantic version' in refused.stderr
    assert capi.kubectl("get", "machinedeployment", "wl-md-bad", "-n", "default", check=False).returncode != 0


def test_upstreams_manifest_quirks_are_defaulted_as_upstream_defaults_them(capi: ServedPlane) -> None:
    applied = capi.kubectl("apply", "-f", str(MANIFESTS / "capi-quickstart.yaml"))
    assert applied.stdout.count(" created") == 4

    template = get(capi, "kubeadmconfigtemplate", "quick-md-0")
    assert "spec" not in template  # no spec, and upstream's defaulter leaves it so outside topology dry runs

    md = get(capi, "machinedeployment", "quick-md-0")
    assert md["spec"]["selector"]["matchLabels"] == {CLUSTER_NAME: "quick", DEPLOYMENT_NAME: "quick-md-0"}
    assert md["spec"]["replicas"] == 2
    assert md["spec"]["template"]["spec"]["infrastructureRef"] == {
        "apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "quick-md-0"}
    assert md["spec"]["template"]["spec"]["bootstrap"] == {"configRef": {
        "apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": "quick-md-0"}}

    cluster = get(capi, "cluster", "quick")
    assert cluster["spec"]["controlPlaneRef"] == {"apiGroup": "controlplane.cluster.x-k8s.io",
                                                  "kind": "KubeadmControlPlane", "name": "quick-control-plane"}

    kcp = get(capi, "kubeadmcontrolplane", "quick-control-plane")
    assert (kcp["spec"]["version"], kcp["spec"]["replicas"]) == ("v1.33.0", 1)
    assert kcp["spec"]["rollout"] == {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}

    # kubectl's three-way diff sees "1.33.0" against the stored "v1.33.0" (and the null matchLabels) and sends a
    # patch, as it would to upstream; the webhooks default it back, so nothing is written.
    capi.kubectl("apply", "-f", str(MANIFESTS / "capi-quickstart.yaml"))
    assert get(capi, "machinedeployment", "quick-md-0")["metadata"]["resourceVersion"] == \
        md["metadata"]["resourceVersion"]
    assert get(capi, "kubeadmcontrolplane", "quick-control-plane")["metadata"]["resourceVersion"] == \
        kcp["metadata"]["resourceVersion"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"spec": {"replica": 3}}, "spec.replica", "unknown field"),
    ({"spec": {"template": {"spec": {"infrastructureReference": INFRA_REF}}}},
     "spec.template.spec.infrastructureReference", "unknown field"),
    ({"spec": {"replicas": "three"}}, "spec.replicas", "integer"),
    ({"spec": {"template": {"spec": {"version": 1.33}}}}, "spec.template.spec.version", "string"),
])
def test_a_misspelled_or_mistyped_field_is_refused_with_the_field_named(
        capi: ServedPlane, change: dict[str, Any], field: str, words: str) -> None:
    md = machine_deployment("wl-md-typo")

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(md, change)
    refused = apply(capi, md, check=False)

    assert refused.returncode != 0
    assert field in refused.stderr and words in refused.stderr, refused.stderr
    assert capi.kubectl("get", "machinedeployment", "wl-md-typo", "-n", "default", check=False).returncode != 0
