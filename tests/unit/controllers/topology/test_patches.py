"""Which templates a ClusterClass patch definition selects, and when a patch is enabled."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.topology import patches as p

DMT = {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "DevMachineTemplate"}


def target(role: str, md_class: str = "") -> p.Target:
    return p.Target(role, {**DMT, "metadata": {"name": "t"}, "spec": {"template": {"spec": {}}}}, {}, md_class)


@pytest.mark.parametrize(("match", "picked"), [
    ({"controlPlane": True}, {p.CONTROL_PLANE_MACHINE}),
    ({"machineDeploymentClass": {"names": ["default-worker"]}}, {"default-worker"}),
    ({"machineDeploymentClass": {"names": ["default-*"]}}, {"default-worker"}),
    ({"machineDeploymentClass": {"names": ["*"]}}, {"default-worker", "gpu"}),
    ({"infrastructureCluster": True}, set()),
    ({}, set()),
])
def test_selectors_pick_templates_by_kind_and_role(match: dict[str, Any], picked: set[str]) -> None:
    targets = [target(p.CONTROL_PLANE_MACHINE), target(p.WORKER_INFRASTRUCTURE, "default-worker"),
               target(p.WORKER_INFRASTRUCTURE, "gpu")]
    selector = {**DMT, "matchResources": match}
    assert {t.machine_deployment_class or t.role for t in targets if p.selects(selector, t)} == picked
    assert not p.selects({**selector, "kind": "DevClusterTemplate"}, targets[0])


def test_enabled_if_renders_true_and_external_patches_are_named() -> None:
    assert p.enabled({"name": "a"}, {})
    assert p.enabled({"name": "a", "enabledIf": "{{ .on }}"}, {"on": True})
    assert not p.enabled({"name": "a", "enabledIf": "{{ if .proxy }}true{{ end }}"}, {"proxy": ""})
    with pytest.raises(p.PatchError, match="patch 'a': enabledIf"):
        p.enabled({"name": "a", "enabledIf": "{{ if }"}, {})
    cluster_class = {"spec": {"patches": [{"name": "inline", "definitions": []},
                                          {"name": "ext", "external": {"generatePatchesExtension": "x"}}]}}
    assert p.external_patches(cluster_class) == ["ext"]


def test_a_template_value_is_read_as_yaml_and_a_bad_path_names_the_template() -> None:
    t = target(p.CONTROL_PLANE_MACHINE)
    t.variables = {"tag": "3.5.1-0"}
    cluster_class = {"spec": {"patches": [{"name": "etcd", "definitions": [{
        "selector": {**DMT, "matchResources": {"controlPlane": True}},
        "jsonPatches": [{"op": "add", "path": "/spec/template/spec/etcd",
                         "valueFrom": {"template": "local:\n  imageTag: {{ .tag }}\n"}}]}]}]}}
    p.apply_patches(cluster_class, [t], {})
    assert t.template["spec"]["template"]["spec"]["etcd"] == {"local": {"imageTag": "3.5.1-0"}}
    cluster_class["spec"]["patches"][0]["definitions"][0]["jsonPatches"][0]["path"] = "/spec/nowhere/deep"
    with pytest.raises(p.PatchError, match="patch 'etcd' on DevMachineTemplate t"):
        p.apply_patches(cluster_class, [t], {})
