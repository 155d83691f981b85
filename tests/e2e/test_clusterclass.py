"""ClusterClasses on `herd up --feature-gates ClusterTopology=true`: upstream's in-memory class applies and its
controller owns its templates and reports it ready; a class's variables reach status.variables; a Cluster's
variables are defaulted at admission and an invalid one is refused naming the variable and path; a class change or
deletion that would break a Cluster using it is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from support.herd_up import herd_up
from support.topology import GATE, UPSTREAM_CLASS, TopologyHerd, condition, eventually

CLASS = "in-memory"
TEMPLATES = [("devclustertemplate", "in-memory-cluster"), ("kubeadmcontrolplanetemplate", "in-memory-control-plane"),
             ("devmachinetemplate", "in-memory-control-plane"),
             ("devmachinetemplate", "in-memory-default-worker-machinetemplate"),
             ("kubeadmconfigtemplate", "in-memory-default-worker-bootstraptemplate")]
VARIABLES = [
    {"name": "cpus", "required": True, "schema": {"openAPIV3Schema": {
        "type": "integer", "minimum": 1, "default": 2,
        "x-kubernetes-validations": [{"rule": "self <= 64", "message": "at most 64 CPUs"}]}}},
    {"name": "image", "required": False, "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"repository": {"type": "string", "default": "registry.k8s.io"},
                                         "tag": {"type": "string", "pattern": "^v[0-9.]+$"}}}}},
]


def upstream_class() -> dict[str, Any]:
    return next(doc for doc in yaml.safe_load_all(UPSTREAM_CLASS.read_text()) if doc["kind"] == "ClusterClass")


def class_with_variables() -> dict[str, Any]:
    cc = upstream_class()
    cc["metadata"]["name"] = "with-vars"
    cc["spec"]["variables"] = VARIABLES
    return cc


def cluster(name: str, class_name: str, variables: list[dict[str, Any]], paused: bool = False) -> dict[str, Any]:
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"paused": paused, "topology": {
                "classRef": {"name": class_name}, "version": "v1.33.0",
                "workers": {"machineDeployments": [{"class": "default-worker", "name": "md-0", "replicas": 0}]},
                "variables": variables}}}


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), TopologyHerd, *GATE) as running:
        running.kubectl("apply", "-n", running.namespace, "-f", str(UPSTREAM_CLASS))
        running.kubectl("apply", "-f", "-", input=json.dumps(class_with_variables()))
        yield running


def ready(herd: TopologyHerd, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        cc = herd.get("clusterclass", name, herd.namespace)
        assert cc.get("status", {}).get("observedGeneration") == cc["metadata"]["generation"], cc.get("status")
        for type_ in ("VariablesReady", "RefVersionsUpToDate"):
            assert condition(cc, type_).get("status") == "True", cc["status"]
        assert condition(cc, "Paused").get("status") == "False", cc["status"]
        return cc
    found: dict[str, Any] = eventually(check, f"ClusterClass {name} ready", timeout=30)
    return found


def test_upstreams_in_memory_class_is_reconciled_and_owns_its_templates(herd: TopologyHerd) -> None:
    cc = ready(herd, CLASS)
    assert "variables" not in cc["status"]  # the class declares none
    for kind, name in TEMPLATES:
        owners = herd.get(kind, name, herd.namespace)["metadata"].get("ownerReferences") or []
        assert {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "ClusterClass", "name": CLASS,
                "uid": cc["metadata"]["uid"]} in owners, (kind, name, owners)
    table = herd.kubectl("get", "cc", "-n", herd.namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "VARIABLES", "READY", "AGE"]
    assert table[1].split()[:2] == [CLASS, "True"] or table[2].split()[:2] == [CLASS, "True"], table


def test_the_class_variables_are_published_in_its_status(herd: TopologyHerd) -> None:
    cc = ready(herd, "with-vars")
    assert [(v["name"], v["definitionsConflict"], [(d["from"], d["required"]) for d in v["definitions"]])
            for v in cc["status"]["variables"]] == [("cpus", False, [("inline", True)]),
                                                     ("image", False, [("inline", False)])]
    # the schema as stored (the CRD defaults a rule's reason to FieldValueInvalid)
    assert cc["status"]["variables"][0]["definitions"][0]["schema"] == cc["spec"]["variables"][0]["schema"]
    assert cc["spec"]["variables"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-validations"][0]["reason"] == \
        "FieldValueInvalid"


def test_a_clusters_variables_are_defaulted_and_an_invalid_one_is_refused_naming_variable_and_path(
        herd: TopologyHerd) -> None:
    ready(herd, "with-vars")
    manifest = json.dumps(cluster("dry", "with-vars", [{"name": "image", "value": {"tag": "v1.2"}}]))
    dry = json.loads(herd.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", input=manifest).stdout)
    assert dry["spec"]["topology"]["variables"] == [
        {"name": "image", "value": {"repository": "registry.k8s.io", "tag": "v1.2"}}, {"name": "cpus", "value": 2}]
    for variables, message in [
        ([{"name": "cpus", "value": 65}], "spec.topology.variables[cpus].value: Invalid value: 65: at most 64 CPUs"),
        ([{"name": "image", "value": {"tag": "latest"}}],
         "spec.topology.variables[image].value.tag: Invalid value: \"latest\": should match '^v[0-9.]+$'"),
        ([{"name": "cpu", "value": 1}], "spec.topology.variables[cpu]: Invalid value: 1: variable is not defined"),
    ]:
        refused = herd.kubectl("apply", "-f", "-", input=json.dumps(cluster("bad", "with-vars", variables)),
                               check=False)
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
    assert herd.kubectl("get", "cluster", "bad", "-n", herd.namespace, check=False).returncode != 0


def test_an_invalid_class_is_refused(herd: TopologyHerd) -> None:
    cc = class_with_variables()
    cc["metadata"]["name"] = "broken"
    cc["spec"]["variables"][0]["name"] = "builtin"
    refused = herd.kubectl("apply", "-f", "-", input=json.dumps(cc), check=False)
    assert refused.returncode != 0
    assert 'spec.variables[0].name: Invalid value: "builtin": "builtin" is a reserved variable name' in refused.stderr


def test_changes_and_deletion_that_would_break_a_cluster_are_refused(herd: TopologyHerd) -> None:
    ready(herd, "with-vars")
    # paused: the topology controller leaves it alone, only its use of the class matters here
    herd.kubectl("apply", "-f", "-", input=json.dumps(cluster("user", "with-vars", [{"name": "cpus", "value": 4}],
                                                               paused=True)))
    eventually(lambda: herd.get("cluster", "user", herd.namespace), "the Cluster in the cache", timeout=10)

    def refused_removal() -> str:
        result = herd.kubectl("patch", "clusterclass", "with-vars", "-n", herd.namespace, "--type", "json", "-p",
                              '[{"op": "replace", "path": "/spec/workers/machineDeployments/0/class", '
                              '"value": "other-worker"}]', check=False)
        assert result.returncode != 0, result.stdout
        return result.stderr
    stderr = eventually(refused_removal, "removing a worker class in use refused", timeout=10)
    assert 'MachineDeploymentClass "default-worker" cannot be deleted because it is used by Cluster "user"' in stderr
    deleted = herd.kubectl("delete", "clusterclass", "with-vars", "-n", herd.namespace, check=False)
    assert deleted.returncode != 0
    assert "ClusterClass cannot be deleted because it is used by Cluster(s): default/user" in deleted.stderr
