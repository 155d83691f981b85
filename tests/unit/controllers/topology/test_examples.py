"""The ClusterClass herd ships in examples/ is the one `herd generate cluster --flavor topology` prints."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).parents[4]


def test_the_topology_flavor_carries_the_example_class_and_one_cluster() -> None:
    example = [d for d in yaml.safe_load_all((ROOT / "examples" / "clusterclass-dev.yaml").read_text()) if d]
    flavor = [d for d in yaml.safe_load_all((ROOT / "src" / "herd" / "templates" / "cluster-template-topology.yaml")
                                            .read_text()) if d]
    assert [d for d in flavor if d["kind"] != "Cluster"] == example
    cluster, = (d for d in flavor if d["kind"] == "Cluster")
    assert cluster["spec"]["topology"]["classRef"] == {"name": "dev"}
    assert {d["kind"] for d in example} == {"ClusterClass", "DevClusterTemplate", "KubeadmControlPlaneTemplate",
                                            "DevMachineTemplate", "KubeadmConfigTemplate"}
