"""Upstream's in-memory ClusterClass uses an empty KubeadmControlPlaneTemplate and an empty KubeadmConfigTemplate on
purpose. Against `herd up`:

- a KubeadmControlPlane cluster whose workers are bootstrapped from the empty KubeadmConfigTemplate comes up with
  its control plane Available and its workers joined;
- with the default feature gates the empty KubeadmControlPlaneTemplate is refused as upstream refuses it (a
  KubeadmControlPlaneTemplate needs the ClusterTopology gate): a Forbidden that says so, not a server error;
- with the ClusterTopology gate (`herd up --feature-gates ClusterTopology=true`) it applies and reads back without
  a spec.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from support.herd_up import herd_up
from support.kcp import MD, ControlPlaneHerd, available, condition_status, ha_cluster, node_name, summary
from support.waiting import eventually_sync

NAMESPACE, WORKERS = "empty-templates", 2
EMPTY_CONTROL_PLANE_TEMPLATE = """apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlaneTemplate
metadata:
  name: in-memory-control-plane
  namespace: empty-templates
"""
EMPTY_BOOTSTRAP_TEMPLATE = """apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfigTemplate
metadata:
  name: in-memory-default-worker-bootstraptemplate
  namespace: empty-templates
"""


def with_the_empty_bootstrap_template() -> str:
    documents = list(yaml.safe_load_all(ha_cluster(NAMESPACE, workers=WORKERS)))
    for document in documents:
        if document["kind"] == "MachineDeployment":
            document["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"] = \
                "in-memory-default-worker-bootstraptemplate"
    return yaml.safe_dump_all([d for d in documents if d["kind"] != "KubeadmConfigTemplate"])


def test_a_cluster_bootstraps_its_workers_from_an_empty_kubeadm_config_template(tmp_path: Path) -> None:
    with herd_up(tmp_path, ControlPlaneHerd) as herd:
        herd.kubectl("create", "namespace", NAMESPACE)
        herd.kubectl("apply", "-f", "-", input=EMPTY_BOOTSTRAP_TEMPLATE)
        assert "spec" not in herd.get("kubeadmconfigtemplate", "in-memory-default-worker-bootstraptemplate", NAMESPACE)

        herd.kubectl("apply", "-f", "-", input=with_the_empty_bootstrap_template())
        herd.control_plane_available(NAMESPACE, 3)

        def joined() -> None:
            assert condition_status(herd.kcp(NAMESPACE), "Available") == "True"
            workers = herd.items("machines", NAMESPACE, "-l", f"cluster.x-k8s.io/deployment-name={MD}")
            assert len(workers) == WORKERS and all(available(m) for m in workers), summary(workers)
            assert {node_name(m) for m in workers} <= herd.ready_nodes(NAMESPACE)
        eventually_sync(joined, "the workers joined", timeout=90, poll=0.3)

        refused = herd.kubectl("apply", "-f", "-", input=EMPTY_CONTROL_PLANE_TEMPLATE, check=False)
        assert refused.returncode == 1 and "Internal" not in refused.stderr, refused.stderr
        assert "admission webhook" in refused.stderr and "Forbidden" in refused.stderr, refused.stderr
        assert "ClusterTopology feature gate" in refused.stderr, refused.stderr


def test_with_the_cluster_topology_gate_an_empty_kubeadm_control_plane_template_applies(tmp_path: Path) -> None:
    with herd_up(tmp_path, ControlPlaneHerd, "--feature-gates", "ClusterTopology=true") as herd:
        herd.kubectl("create", "namespace", NAMESPACE)
        herd.kubectl("apply", "-f", "-", input=EMPTY_CONTROL_PLANE_TEMPLATE)
        assert "spec" not in herd.get("kubeadmcontrolplanetemplate", "in-memory-control-plane", NAMESPACE)
        assert "in-memory-control-plane" in herd.kubectl("get", "kubeadmcontrolplanetemplates", "-n", NAMESPACE).stdout
