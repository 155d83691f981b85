"""The `dev` ClusterClass herd ships (examples/clusterclass-dev.yaml) as a blueprint, and a Cluster using it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from herd.controllers.topology.desired import Blueprint

EXAMPLE = Path(__file__).parents[4] / "examples" / "clusterclass-dev.yaml"


def _docs() -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d}


@pytest.fixture
def blueprint() -> Blueprint:
    docs = _docs()
    return Blueprint(cluster_class=copy.deepcopy(docs["ClusterClass/dev"]),
                     infrastructure_cluster=docs["DevClusterTemplate/dev-cluster"],
                     control_plane=docs["KubeadmControlPlaneTemplate/dev-control-plane"],
                     control_plane_machine=docs["DevMachineTemplate/dev-control-plane"],
                     workers={"default-worker": (docs["KubeadmConfigTemplate/dev-default-worker"],
                                                 docs["DevMachineTemplate/dev-default-worker"])})


@pytest.fixture
def cluster() -> dict[str, Any]:
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": "c1", "namespace": "ns", "uid": "u-1"},
            "spec": {"topology": {"classRef": {"name": "dev"}, "version": "v1.33.0",
                                  "controlPlane": {"replicas": 3, "metadata": {"labels": {"tier": "cp"}}},
                                  "workers": {"machineDeployments": [
                                      {"class": "default-worker", "name": "md-0", "replicas": 2,
                                       "failureDomain": "fd2", "metadata": {"labels": {"pool": "a"}}}]}}}}
