"""Upstream's in-memory ClusterClass and cluster template, applied unchanged to `herd up --feature-gates
ClusterTopology=true` (the template rendered by `herd generate cluster --from`): the topology controller builds a
cluster of 3 control-plane and 3 worker Machines that becomes Available, labelled as upstream labels them; the
topology's replicas scale the workers; a user's
edit of a managed field is put back; deleting the Cluster deletes everything the topology made (upgrades are
in test_topology_flavor.py, where machines start in a second rather than upstream's ten)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.herd_up import herd_up
from support.topology import (
    CLUSTER_NAME,
    DEPLOYMENT_TOPOLOGY,
    GATE,
    OWNED,
    UPSTREAM_CLASS,
    UPSTREAM_TEMPLATE,
    TopologyHerd,
    eventually,
    generate,
)

CLUSTER, VERSION = "in-memory", "v1.33.0"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), TopologyHerd, *GATE) as running:
        running.kubectl("apply", "-n", running.namespace, "-f", str(UPSTREAM_CLASS))
        manifest = generate(CLUSTER, "--from", str(UPSTREAM_TEMPLATE), "--kubernetes-version", VERSION,
                            "--control-plane-machine-count", "3", "--worker-machine-count", "3")
        running.kubectl("apply", "-f", "-", input=manifest)
        yield running


@pytest.fixture(scope="module")
def machines(herd: TopologyHerd) -> list[dict[str, Any]]:
    return herd.wait_available(CLUSTER, 3, 3, VERSION)


def test_the_class_builds_the_cluster_labelled_as_upstream(herd: TopologyHerd, machines: list[dict[str, Any]]) -> None:
    cluster = herd.cluster(CLUSTER)
    assert cluster["spec"]["infrastructureRef"]["kind"] == "DevCluster"
    kcp, = herd.owned("kubeadmcontrolplane", CLUSTER)
    assert cluster["spec"]["controlPlaneRef"] == {"apiGroup": "controlplane.cluster.x-k8s.io",
                                                  "kind": "KubeadmControlPlane", "name": kcp["metadata"]["name"]}
    assert kcp["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-name"] == "in-memory-control-plane"
    cp_template, = herd.owned("devmachinetemplate", CLUSTER) and [
        t for t in herd.owned("devmachinetemplate", CLUSTER) if DEPLOYMENT_TOPOLOGY not in t["metadata"]["labels"]]
    assert kcp["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"] == cp_template["metadata"]["name"]
    assert cp_template["metadata"]["name"].startswith(f"{CLUSTER}-")
    md, = herd.owned("machinedeployment", CLUSTER)
    assert md["metadata"]["labels"][DEPLOYMENT_TOPOLOGY] == "md-0"
    assert md["metadata"]["name"].startswith(f"{CLUSTER}-md-0-")
    bootstrap, = herd.owned("kubeadmconfigtemplate", CLUSTER)
    assert bootstrap["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-name"] == \
        "in-memory-default-worker-bootstraptemplate"
    assert md["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"] == bootstrap["metadata"]["name"]
    for machine in machines:
        labels = machine["metadata"]["labels"]
        assert labels[CLUSTER_NAME] == CLUSTER and OWNED in labels, labels
        if CONTROL_PLANE_LABEL not in labels:
            assert labels[DEPLOYMENT_TOPOLOGY] == "md-0", labels
    checks = {m["metadata"]["name"]: m for m in herd.owned("machinehealthcheck", CLUSTER)}
    assert set(checks) == {kcp["metadata"]["name"], md["metadata"]["name"]}
    assert checks[md["metadata"]["name"]]["spec"]["checks"]["unhealthyNodeConditions"][0]["timeoutSeconds"] == 300


def test_a_user_edit_of_a_managed_field_is_put_back(herd: TopologyHerd, machines: list[dict[str, Any]]) -> None:
    kcp, = herd.owned("kubeadmcontrolplane", CLUSTER)
    check = kcp["metadata"]["name"]
    herd.kubectl("label", "kubeadmcontrolplane", check, "-n", herd.namespace, f"{OWNED}-")
    herd.kubectl("patch", "machinehealthcheck", check, "-n", herd.namespace, "--type", "json", "-p",
                 '[{"op":"replace","path":"/spec/checks/unhealthyNodeConditions/0/timeoutSeconds","value":999}]')

    def put_back() -> None:
        labels = herd.get("kubeadmcontrolplane", check, herd.namespace)["metadata"]["labels"]
        assert OWNED in labels, labels
        conditions = herd.get("machinehealthcheck", check, herd.namespace)["spec"]["checks"]["unhealthyNodeConditions"]
        assert conditions[0]["timeoutSeconds"] == 300, conditions
    eventually(put_back, "the label and the health check put back", timeout=20)


def test_the_topology_replicas_scale_the_workers(herd: TopologyHerd, machines: list[dict[str, Any]]) -> None:
    version = herd.cluster(CLUSTER)["spec"]["topology"]["version"]
    herd.patch_cluster(CLUSTER, [{"op": "replace", "path": "/spec/topology/workers/machineDeployments/0/replicas",
                                  "value": 1}])
    herd.wait_available(CLUSTER, 3, 1, version)
    md, = herd.owned("machinedeployment", CLUSTER)
    assert md["spec"]["replicas"] == 1


def test_deleting_the_cluster_deletes_every_managed_object(herd: TopologyHerd, machines: list[dict[str, Any]]) -> None:
    herd.kubectl("delete", "cluster", CLUSTER, "-n", herd.namespace, "--timeout=120s")
    kinds = ("kubeadmcontrolplane", "machinedeployment", "machineset", "machines", "devcluster", "devmachines",
             "devmachinetemplate", "kubeadmconfigtemplate", "kubeadmconfigs", "machinehealthcheck")

    def gone() -> None:
        left = {kind: [o["metadata"]["name"] for o in herd.items(kind, herd.namespace, "-l", f"{CLUSTER_NAME}="
                                                                 f"{CLUSTER}")] for kind in kinds}
        assert not any(left.values()), left
    eventually(gone, "every managed object deleted", timeout=60)
    class_templates = {t["metadata"]["name"] for t in herd.items("devmachinetemplate", herd.namespace)}
    assert class_templates == {"in-memory-control-plane", "in-memory-default-worker-machinetemplate"}
