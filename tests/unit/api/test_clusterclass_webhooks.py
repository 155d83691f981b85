"""The ClusterClass webhook, and the Cluster webhook's checks against the class a topology names."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from herd.api.cluster.clusterclass_webhooks import review_cluster_class, validate_cluster_class
from herd.api.cluster.webhooks import default_cluster, validate_cluster
from herd.api.webhookutil import FeatureGates
from herd.runtime.webhook import WebhookDenied

GATES = FeatureGates(cluster_topology=True)
INFRA = "infrastructure.cluster.x-k8s.io/v1beta2"


def ref(kind: str, name: str, api_version: str = INFRA) -> dict[str, str]:
    return {"apiVersion": api_version, "kind": kind, "name": name}


def cluster_class(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "infrastructure": {"templateRef": ref("DevClusterTemplate", "cl")},
        "controlPlane": {"templateRef": ref("KubeadmControlPlaneTemplate", "cp",
                                            "controlplane.cluster.x-k8s.io/v1beta2"),
                         "machineInfrastructure": {"templateRef": ref("DevMachineTemplate", "cp")}},
        "workers": {"machineDeployments": [{
            "class": "default-worker",
            "bootstrap": {"templateRef": ref("KubeadmConfigTemplate", "w", "bootstrap.cluster.x-k8s.io/v1beta2")},
            "infrastructure": {"templateRef": ref("DevMachineTemplate", "w")}}]},
        "variables": [{"name": "cpus", "required": True, "schema": {"openAPIV3Schema": {
            "type": "integer", "minimum": 1, "x-kubernetes-validations": [{"rule": "self <= 64"}]}}}],
        "patches": [{"name": "cpus", "definitions": [{
            "selector": {"apiVersion": INFRA, "kind": "DevMachineTemplate",
                         "matchResources": {"machineDeploymentClass": {"names": ["default-*"]}}},
            "jsonPatches": [{"op": "add", "path": "/spec/template/spec/cpus", "valueFrom": {"variable": "cpus"}}]}]}],
    }
    base.update(spec)
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "ClusterClass",
            "metadata": {"name": "cc", "namespace": "ns", "uid": "u1"}, "spec": base}


def errors_of(obj: dict[str, Any], old: dict[str, Any] | None = None, reader: Any = None) -> list[str]:
    return [str(e) for e in validate_cluster_class(obj, old, GATES, reader)]


def with_change(path: str, value: Any, **spec: Any) -> dict[str, Any]:
    obj = cluster_class(**spec)
    *parents, last = path.split(".")
    node: Any = obj["spec"]
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is None:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return obj


def test_a_well_formed_class_is_accepted_and_refused_without_the_gate() -> None:
    assert errors_of(cluster_class()) == []
    assert [str(e) for e in validate_cluster_class(cluster_class(), None, FeatureGates())] == [
        "spec: Forbidden: can be set only if the ClusterTopology feature gate is enabled"]


VARIABLE = "spec.variables[0]"
SCHEMA = f"{VARIABLE}.schema.openAPIV3Schema"
PATCH = "spec.patches[0].definitions[0]"


@pytest.mark.parametrize(("obj", "expected"), [
    (with_change("infrastructure.templateRef.kind", "DevCluster"),
     'spec.infrastructure.templateRef.kind: Invalid value: "DevCluster": template kind must be of form '
     '"<name>Template"'),
    (cluster_class(workers={"machineDeployments": [cluster_class()["spec"]["workers"]["machineDeployments"][0]] * 2}),
     'spec.workers.machineDeployments[1].class: Invalid value: "default-worker": MachineDeployment class must be '
     'unique. MachineDeployment with class "default-worker" is defined more than once'),
    (with_change("variables.0.name", "builtin"), f'{VARIABLE}.name: Invalid value: "builtin": "builtin" is a '
     "reserved variable name"),
    (with_change("variables.0.name", "a.b"), f'{VARIABLE}.name: Invalid value: "a.b": variable name cannot contain '
     '"."'),
    (cluster_class(variables=cluster_class()["spec"]["variables"] * 2),
     'spec.variables[1].name: Invalid value: "cpus": variable name must be unique. Variable with name "cpus" is '
     "defined more than once"),
    (with_change("variables.0.schema.openAPIV3Schema.default", 0),
     f"{SCHEMA}.default: Invalid value: 0: should be greater than or equal to 1"),
    (with_change("variables.0.schema.openAPIV3Schema.x-kubernetes-validations", [{"rule": "self <="}]),
     f"{SCHEMA}.x-kubernetes-validations[0].rule: Invalid value: \"self <=\": compilation failed: "),
    (with_change("variables.0.schema.openAPIV3Schema", {"type": "object", "properties": {"a": {"type": "date"}}}),
     f'{SCHEMA}.properties[a].type: Unsupported value: "date": supported values: "array", "boolean", "integer", '
     '"number", "object", "string"'),
    (with_change("variables.0.schema.openAPIV3Schema", {"type": "object", "properties": {"a": {}},
                                                         "additionalProperties": {"type": "string"}}),
     f"{SCHEMA}: Forbidden: additionalProperties and properties are mutually exclusive"),
    (with_change("variables.0.schema.openAPIV3Schema", {"type": "object", "additionalProperties": True}),
     f"{SCHEMA}.additionalProperties: Invalid value: true: must be a schema (an object)"),
    (with_change("patches.0.definitions.0.jsonPatches.0.path", "/metadata/labels"),
     f'{PATCH}.jsonPatches[0].path: Invalid value: "/metadata/labels": jsonPatch path must start with "/spec"'),
    (with_change("patches.0.definitions.0.jsonPatches.0.valueFrom", {"variable": "memory"}),
     f'{PATCH}.jsonPatches[0].valueFrom.variable: Invalid value: "memory": variable with name memory cannot be '
     "found"),
    (with_change("patches.0.definitions.0.jsonPatches.0.valueFrom", {"variable": "builtin.cluster.nope"}),
     f'{PATCH}.jsonPatches[0].valueFrom.variable: Invalid value: "builtin.cluster.nope": not a defined builtin '
     "variable"),
    (with_change("patches.0.definitions.0.jsonPatches.0.valueFrom", {"template": "{{ .cpus "}),
     f'{PATCH}.jsonPatches[0].valueFrom.template: Invalid value: "{{{{ .cpus ": template can not be parsed: '
     "unclosed action"),
    (with_change("patches.0.definitions.0.jsonPatches.0", {"op": "replace", "path": "/spec/a/1", "value": 1}),
     f'{PATCH}.jsonPatches[0].path: Invalid value: "/spec/a/1": elements in arrays can not be accessed in a '
     "replace operation"),
    (with_change("patches.0.definitions.0.jsonPatches.0", {"op": "add", "path": "/spec/a"}),
     f'{PATCH}.jsonPatches[0]: Invalid value: {{"op":"add","path":"/spec/a"}}: jsonPatch must define one of value '
     "or valueFrom"),
    (with_change("patches.0.definitions.0.selector.matchResources", {"machineDeploymentClass": {"names": ["gpu"]}}),
     f'{PATCH}.selector.matchResources.machineDeploymentClass.names[0]: Invalid value: "gpu": selector is enabled but '
     "matches neither the bootstrap ref nor the infrastructure ref of a MachineDeployment class"),
    (with_change("patches.0.definitions.0.selector.matchResources", {"infrastructureCluster": True}),
     f"{PATCH}.selector.matchResources.infrastructureCluster: Invalid value: true: selector is enabled but does not "
     "match the infrastructure ref"),
    (with_change("patches.0", {"name": "ext", "external": {"generatePatchesExtension": "x"}}),
     "spec.patches[0].external: Forbidden: patch.external can be used only if the RuntimeSDK feature flag is "
     "enabled (herd has no Runtime SDK)"),
    (with_change("kubernetesVersions", ["v1.31.0", "v1.33.0"]), 'spec.kubernetesVersions[1]: Invalid value: '
     '"v1.33.0": expecting a version with minor 31 or 32, found version v1.33.0'),
])
def test_a_malformed_class_is_refused_naming_the_field(obj: dict[str, Any], expected: str) -> None:
    found = errors_of(obj)
    assert any(e.startswith(expected) for e in found), found


def test_a_rule_or_message_expression_that_does_not_compile_is_one_line_naming_it() -> None:
    rules = [{"rule": "self >\n  (", "message": "m"}, {"rule": "self > 0", "messageExpression": "'cpus: ' +"}]
    found = [e for e in errors_of(with_change("variables.0.schema.openAPIV3Schema.x-kubernetes-validations", rules))
             if "compilation failed" in e]
    assert [e.split(": Invalid value: ")[0] for e in found] == [f"{SCHEMA}.x-kubernetes-validations[0].rule",
                                                                  f"{SCHEMA}.x-kubernetes-validations[1].messageExpression"]
    assert ": compilation failed: " in found[0] and ": messageExpression compilation failed: " in found[1]
    assert all("\n" not in e for e in found), found  # the library's own text spans lines: a caret under the input


class Reader:
    """A TopologyReader over plain lists."""

    def __init__(self, classes: list[dict[str, Any]] | None = None, clusters: list[dict[str, Any]] | None = None,
                 synced: bool = True) -> None:
        self.classes, self.clusters, self.synced = classes or [], clusters or [], synced

    def cluster_class(self, namespace: str, name: str) -> dict[str, Any] | None:
        if not self.synced:
            raise LookupError("not synced")
        return next((c for c in self.classes if (c["metadata"]["namespace"], c["metadata"]["name"]) ==
                     (namespace, name)), None)

    def clusters_using(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [c for c in self.clusters if c["spec"]["topology"]["classRef"]["name"] == name]


def cluster(variables: Any = None, md_class: str = "default-worker", name: str = "c1") -> dict[str, Any]:
    topology: dict[str, Any] = {"classRef": {"name": "cc"}, "version": "v1.33.0",
                                "workers": {"machineDeployments": [{"class": md_class, "name": "md-0"}]}}
    if variables is not None:
        topology["variables"] = variables
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": name, "namespace": "ns"}, "spec": {"topology": topology}}


def test_changes_that_would_break_clusters_using_the_class_are_refused() -> None:
    old = cluster_class(variables=[*cluster_class()["spec"]["variables"], {
        "name": "region", "required": False, "schema": {"openAPIV3Schema": {"type": "string"}}}])
    reader = Reader(clusters=[cluster([{"name": "cpus", "value": 2}, {"name": "region", "value": "eu"}])])
    no_workers = cluster_class(workers={"machineDeployments": [{**old["spec"]["workers"]["machineDeployments"][0],
                                                                "class": "other"}]})
    found = errors_of(no_workers, old, reader)
    assert 'spec.workers.machineDeployments: Forbidden: MachineDeploymentClass "default-worker" cannot be deleted ' \
        'because it is used by Cluster "c1"' in found
    assert 'spec.variables: Forbidden: variable "region" cannot be removed because it is used by Cluster "c1"' in found
    kind_changed = with_change("infrastructure.templateRef", ref("OtherClusterTemplate", "cl"))
    assert 'spec.infrastructure.templateRef.kind: Forbidden: kind cannot be changed from "DevClusterTemplate" to ' \
        '"OtherClusterTemplate" to prevent incompatible changes in the Clusters' in errors_of(kind_changed, old, reader)
    assert errors_of(old, old, reader) == []


def test_deleting_a_class_in_use_is_forbidden() -> None:
    request = {"operation": "DELETE", "oldObject": cluster_class()}
    with pytest.raises(WebhookDenied) as refused:
        review_cluster_class(request, GATES, Reader(clusters=[cluster(name="c1"), cluster(name="c2")]))
    assert refused.value.code == 403
    assert "ClusterClass cannot be deleted because it is used by Cluster(s): ns/c1, ns/c2" in refused.value.message
    assert review_cluster_class(request, GATES, Reader()) == []


def test_the_cluster_defaulter_fills_variables_in_and_refuses_bad_ones_naming_variable_and_path() -> None:
    cc = cluster_class(variables=[*cluster_class()["spec"]["variables"], {
        "name": "region", "required": False, "schema": {"openAPIV3Schema": {"type": "string", "default": "eu"}}}])
    reader = Reader([cc])
    defaulted = default_cluster(cluster([{"name": "cpus", "value": 4}]), None, reader)
    assert defaulted["spec"]["topology"]["variables"] == [{"name": "cpus", "value": 4},
                                                          {"name": "region", "value": "eu"}]
    with pytest.raises(WebhookDenied) as refused:
        default_cluster(cluster([{"name": "cpus", "value": 65}]), None, reader)
    assert refused.value.code == 422
    assert refused.value.message == ('Cluster.cluster.x-k8s.io "c1" is invalid: spec.topology.variables[cpus].value: '
                                     'Invalid value: 65: failed rule: self <= 64')
    with pytest.raises(WebhookDenied, match="required variable \"cpus\" must be set"):
        default_cluster(cluster([]), None, reader)
    unread = cluster([{"name": "cpus", "value": 65}])
    assert default_cluster(copy.deepcopy(unread), None, Reader(synced=False)) == unread
    deleting = copy.deepcopy(unread)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert default_cluster(copy.deepcopy(deleting), deleting, reader) == deleting


def test_the_cluster_validator_checks_worker_classes_and_warns_about_a_missing_class() -> None:
    reader = Reader([cluster_class()])
    warnings, errors = validate_cluster(cluster([{"name": "cpus", "value": 2}], md_class="gpu"), None, GATES, reader)
    assert [str(e) for e in errors] == ['spec.topology.workers.machineDeployments[0].class: Invalid value: "gpu": '
                                        'MachineDeploymentClass with name "gpu" does not exist in ClusterClass "cc"']
    warnings, errors = validate_cluster(cluster(), None, GATES, Reader())
    assert errors == [] and "does not exist" in warnings[0]
    _, errors = validate_cluster(cluster(), cluster(), GATES, Reader())
    assert [str(e) for e in errors] == ["spec.topology.class: Internal error: ClusterClass ns/cc not found"]
