"""The objects a topology asks for, computed from the `dev` class for a new Cluster and for one that exists."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.topology.desired import Blueprint, Current, CurrentMachineDeployment, compute
from herd.controllers.topology.patches import PatchError
from herd.controllers.topology.upgrade import plan

OWNED = "topology.cluster.x-k8s.io/owned"


def desired_for(cluster: dict[str, Any], blueprint: Blueprint, current: Current | None = None) -> Any:
    current = current or Current()
    return compute(cluster, blueprint, current, plan(cluster, current.control_plane, {}))


def test_a_new_cluster_gets_every_object_named_and_labelled_as_upstream(
        cluster: dict[str, Any], blueprint: Blueprint) -> None:
    d = desired_for(cluster, blueprint)
    infra, cp, machine = d.infrastructure_cluster, d.control_plane, d.control_plane_machine
    assert (infra["kind"], infra["metadata"]["labels"]) == ("DevCluster", {"cluster.x-k8s.io/cluster-name": "c1",
                                                                            OWNED: ""})
    assert "ownerReferences" not in infra["metadata"] and infra["metadata"]["name"].startswith("c1-")
    assert len(infra["spec"]["backend"]["inMemory"]["failureDomains"]) == 3
    assert (cp["kind"], cp["spec"]["replicas"], cp["spec"]["version"]) == ("KubeadmControlPlane", 3, "v1.33.0")
    assert cp["metadata"]["labels"]["tier"] == "cp"
    assert cp["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-name"] == "dev-control-plane"
    assert cp["spec"]["machineTemplate"]["metadata"]["labels"] == {"tier": "cp", "cluster.x-k8s.io/cluster-name": "c1",
                                                                   OWNED: ""}
    assert cp["spec"]["machineTemplate"]["spec"]["infrastructureRef"] == {
        "apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate",
        "name": machine["metadata"]["name"]}
    assert machine["kind"] == "DevMachineTemplate" and machine["metadata"]["name"].startswith("c1-")
    assert [r["kind"] for r in machine["metadata"]["ownerReferences"]] == ["Cluster"]
    assert machine["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-groupkind"] == \
        "DevMachineTemplate.infrastructure.cluster.x-k8s.io"
    part = d.machine_deployments["md-0"]
    md = part.md
    assert md["metadata"]["name"].startswith("c1-md-0-") and part.bootstrap["metadata"]["name"].startswith("c1-md-0-")
    selector = {"cluster.x-k8s.io/cluster-name": "c1", OWNED: "", "topology.cluster.x-k8s.io/deployment-name": "md-0"}
    assert md["spec"]["selector"]["matchLabels"] == selector
    assert md["metadata"]["labels"] == {"pool": "a", **selector} == md["spec"]["template"]["metadata"]["labels"]
    machine_spec = md["spec"]["template"]["spec"]
    assert (md["spec"]["replicas"], machine_spec["version"], machine_spec["failureDomain"]) == (2, "v1.33.0", "fd2")
    assert machine_spec["bootstrap"]["configRef"]["name"] == part.bootstrap["metadata"]["name"]
    assert machine_spec["infrastructureRef"]["name"] == part.infrastructure["metadata"]["name"]
    assert part.infrastructure["metadata"]["labels"]["topology.cluster.x-k8s.io/deployment-name"] == "md-0"
    assert d.control_plane_health_check["spec"]["selector"]["matchLabels"] == {
        "cluster.x-k8s.io/cluster-name": "c1", "cluster.x-k8s.io/control-plane": ""}
    assert part.health_check["spec"]["remediation"]["triggerIf"]["unhealthyLessThanOrEqualTo"] == "40%"


def test_existing_objects_keep_their_names(cluster: dict[str, Any], blueprint: Blueprint) -> None:
    cluster["spec"]["infrastructureRef"] = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevCluster",
                                            "name": "c1-aaaaa"}
    cluster["spec"]["controlPlaneRef"] = {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane",
                                          "name": "c1-bbbbb"}
    md = {"metadata": {"name": "c1-md-0-ccccc"}, "spec": {"template": {"spec": {
        "version": "v1.33.0", "bootstrap": {"configRef": {"name": "c1-md-0-ddddd"}},
        "infrastructureRef": {"name": "c1-md-0-eeeee"}}}}}
    d = desired_for(cluster, blueprint, Current(machine_deployments={"md-0": CurrentMachineDeployment(md)}))
    names = [d.infrastructure_cluster["metadata"]["name"], d.control_plane["metadata"]["name"],
             d.machine_deployments["md-0"].md["metadata"]["name"],
             d.machine_deployments["md-0"].bootstrap["metadata"]["name"],
             d.machine_deployments["md-0"].infrastructure["metadata"]["name"]]
    assert names == ["c1-aaaaa", "c1-bbbbb", "c1-md-0-ccccc", "c1-md-0-ddddd", "c1-md-0-eeeee"]


def test_objects_made_before_the_cluster_referenced_them_keep_their_names(
        cluster: dict[str, Any], blueprint: Blueprint) -> None:
    """An infrastructure cluster and control plane found by label while the Cluster references none (the
    controller stopped before writing the references) are the ones asked for, not new ones."""
    infra = {"metadata": {"name": "c1-fffff"}}
    cp = {"metadata": {"name": "c1-ggggg"}, "spec": {"version": "v1.33.0", "machineTemplate": {"spec": {
        "infrastructureRef": {"name": "c1-hhhhh"}}}}}
    d = desired_for(cluster, blueprint, Current(infrastructure_cluster=infra, control_plane=cp))
    assert [d.infrastructure_cluster["metadata"]["name"], d.control_plane["metadata"]["name"],
            d.control_plane_machine["metadata"]["name"]] == ["c1-fffff", "c1-ggggg", "c1-hhhhh"]


def _startup(template: dict[str, Any]) -> str:
    return str(template["spec"]["template"]["spec"]["backend"]["inMemory"]["vm"]["provisioning"]["startupDuration"])


def test_a_variable_patches_the_templates_it_selects(cluster: dict[str, Any], blueprint: Blueprint) -> None:
    d = desired_for(cluster, blueprint)
    assert _startup(d.control_plane_machine) == _startup(d.machine_deployments["md-0"].infrastructure) == "1s"
    cluster["spec"]["topology"]["variables"] = [{"name": "vmStartupDuration", "value": "5s"},
                                                {"name": "nodeLabels", "value": {"zone": "z1"}}]
    cluster["spec"]["topology"]["workers"]["machineDeployments"][0]["variables"] = {
        "overrides": [{"name": "vmStartupDuration", "value": "7s"}]}
    d = desired_for(cluster, blueprint)
    assert (_startup(d.control_plane_machine), _startup(d.machine_deployments["md-0"].infrastructure)) == ("5s", "7s")
    args = d.machine_deployments["md-0"].bootstrap["spec"]["template"]["spec"]["joinConfiguration"][
        "nodeRegistration"]["kubeletExtraArgs"]
    assert args[-1] == {"name": "node-labels", "value": "herd.dev/machine-deployment=md-0,zone=z1"}
    assert blueprint.control_plane_machine is not None and _startup(blueprint.control_plane_machine) == "1s"


def test_an_unknown_worker_class_or_a_failing_patch_says_which(cluster: dict[str, Any], blueprint: Blueprint) -> None:
    cluster["spec"]["topology"]["workers"]["machineDeployments"][0]["class"] = "gpu"
    with pytest.raises(ValueError, match="MachineDeployment class 'gpu' not found"):
        desired_for(cluster, blueprint)
    cluster["spec"]["topology"]["workers"]["machineDeployments"][0]["class"] = "default-worker"
    blueprint.cluster_class["spec"]["patches"][0]["definitions"][0]["jsonPatches"][0]["valueFrom"] = {
        "variable": "nope.field"}
    with pytest.raises(PatchError, match="patch 'vmStartupDuration': variable 'nope' is not set"):
        desired_for(cluster, blueprint)
