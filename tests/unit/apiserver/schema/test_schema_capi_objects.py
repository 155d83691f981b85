"""Realistic Cluster API objects against upstream v1beta2 schemas: clean ones pass, mistakes are caught."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from herd.apiserver.schema import apply_defaults, prune, validate

MACHINES = "cluster.x-k8s.io_machines.yaml"
MACHINE_DEPLOYMENTS = "cluster.x-k8s.io_machinedeployments.yaml"
CLUSTERS = "cluster.x-k8s.io_clusters.yaml"

REF = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine", "name": "md-0-abcde"}


def machine() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {
            "name": "md-0-abcde",
            "namespace": "default",
            "labels": {"cluster.x-k8s.io/cluster-name": "c1"},
        },
        "spec": {
            "clusterName": "c1",
            "version": "v1.31.0",
            "bootstrap": {
                "configRef": {
                    "apiGroup": "bootstrap.cluster.x-k8s.io",
                    "kind": "KubeadmConfig",
                    "name": "md-0-abcde",
                }
            },
            "infrastructureRef": dict(REF),
            "providerID": "dev://c1/md-0-abcde",
            "failureDomain": "fd-1",
            "minReadySeconds": 0,
            "deletion": {"nodeDrainTimeoutSeconds": 300},
            "readinessGates": [{"conditionType": "example.com/Ready"}],
            "taints": [
                {"key": "node-role.kubernetes.io/worker", "effect": "NoSchedule", "propagation": "Always"}
            ],
        },
        "status": {
            "phase": "Running",
            "nodeRef": {"name": "md-0-abcde"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "",
                    "lastTransitionTime": "2024-05-01T10:00:00Z",
                    "observedGeneration": 1,
                }
            ],
        },
    }


def machine_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "MachineDeployment",
        "metadata": {"name": "md-0", "namespace": "default"},
        "spec": {
            "clusterName": "c1",
            "replicas": 3,
            "selector": {"matchLabels": {"cluster.x-k8s.io/deployment-name": "md-0"}},
            "rollout": {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"},
                }
            },
            "template": {
                "metadata": {"labels": {"cluster.x-k8s.io/deployment-name": "md-0"}},
                "spec": {
                    "clusterName": "c1",
                    "version": "v1.31.0",
                    "bootstrap": {
                        "configRef": {
                            "apiGroup": "bootstrap.cluster.x-k8s.io",
                            "kind": "KubeadmConfigTemplate",
                            "name": "md-0",
                        }
                    },
                    "infrastructureRef": {
                        "apiGroup": "infrastructure.cluster.x-k8s.io",
                        "kind": "DevMachineTemplate",
                        "name": "md-0",
                    },
                },
            },
        },
    }


def cluster() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Cluster",
        "metadata": {"name": "c1", "namespace": "default"},
        "spec": {
            "clusterNetwork": {
                "pods": {"cidrBlocks": ["192.168.0.0/16"]},
                "services": {"cidrBlocks": ["10.128.0.0/12"]},
                "serviceDomain": "cluster.local",
                "apiServerPort": 6443,
            },
            "controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443},
            "topology": {
                "classRef": {"name": "quick-start"},
                "version": "v1.31.0",
                "controlPlane": {"replicas": 3},
                "workers": {
                    "machineDeployments": [{"class": "default-worker", "name": "md-0", "replicas": 2}],
                },
                "variables": [
                    {"name": "imageRepository", "value": "registry.k8s.io"},
                    {"name": "etcd", "value": {"dataDir": "/var/lib/etcd", "extraArgs": {"quota": 8}}},
                ],
            },
        },
    }


CLEAN = [(MACHINES, machine), (MACHINE_DEPLOYMENTS, machine_deployment), (CLUSTERS, cluster)]


@pytest.mark.parametrize(("filename", "build"), CLEAN, ids=["Machine", "MachineDeployment", "Cluster"])
def test_realistic_objects_are_clean_after_pruning_and_defaulting(
    filename: str, build: Any, upstream: Any
) -> None:
    schema = upstream.schema(filename)
    obj = build()
    expected = copy.deepcopy(obj)
    assert prune(obj, schema) == []
    apply_defaults(obj, schema)
    assert obj == expected  # nothing to prune; these schemas default nothing here
    assert validate(obj, schema) == []


def test_unknown_fields_in_a_machine_are_pruned_with_their_paths(upstream: Any) -> None:
    obj = machine()
    obj["spec"]["replicas"] = 3
    obj["spec"]["taints"][0]["tolerationSeconds"] = 5
    obj["status"]["conditions"][0]["extra"] = True
    obj["spec"]["infrastructureRef"]["namespace"] = "default"
    assert prune(obj, upstream.schema(MACHINES)) == [
        "spec.infrastructureRef.namespace",
        "spec.replicas",
        "spec.taints[0].tolerationSeconds",
        "status.conditions[0].extra",
    ]
    assert validate(obj, upstream.schema(MACHINES)) == []


def test_cluster_variable_values_keep_arbitrary_content(upstream: Any) -> None:
    obj = cluster()
    obj["spec"]["topology"]["variables"][1]["value"]["anything"] = {"goes": [1, "two"]}
    assert prune(obj, upstream.schema(CLUSTERS)) == []
    assert obj["spec"]["topology"]["variables"][1]["value"]["anything"] == {"goes": [1, "two"]}


def _causes(obj: dict[str, Any], schema: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.reason) for c in validate(obj, schema)]


def test_machine_mistakes_are_caught(upstream: Any) -> None:
    schema = upstream.schema(MACHINES)
    obj = machine()
    del obj["spec"]["clusterName"]
    obj["spec"]["infrastructureRef"]["name"] = "Not_A_Name"
    obj["spec"]["taints"][0]["effect"] = "Sometimes"
    obj["spec"]["taints"].append(dict(obj["spec"]["taints"][0]))
    obj["spec"]["minReadySeconds"] = -1
    obj["spec"]["deletion"] = {}
    obj["spec"]["providerID"] = ""
    found = _causes(obj, schema)
    assert ("spec.clusterName", "FieldValueRequired") in found
    assert ("spec.infrastructureRef.name", "FieldValueInvalid") in found
    assert ("spec.taints[0].effect", "FieldValueNotSupported") in found
    assert ("spec.minReadySeconds", "FieldValueInvalid") in found
    assert ("spec.deletion", "FieldValueInvalid") in found
    assert ("spec.providerID", "FieldValueInvalid") in found
    assert ("spec.taints[1]", "FieldValueDuplicate") in found


def test_machine_deployment_mistakes_are_caught(upstream: Any) -> None:
    schema = upstream.schema(MACHINE_DEPLOYMENTS)
    obj = machine_deployment()
    obj["spec"]["replicas"] = "three"
    obj["spec"]["rollout"]["strategy"]["type"] = "Recreate"
    obj["spec"]["rollout"]["strategy"]["rollingUpdate"]["maxSurge"] = 1.5
    del obj["spec"]["template"]["spec"]["bootstrap"]
    causes = validate(obj, schema)
    messages = {c.field: c.message for c in causes}
    assert (
        messages["spec.replicas"]
        == 'Invalid value: "string": spec.replicas in body must be of type integer: "string"'
    )
    assert messages["spec.rollout.strategy.type"] == (
        'Unsupported value: "Recreate": supported values: "RollingUpdate", "OnDelete"'
    )
    assert messages["spec.template.spec.bootstrap"] == "Required value"
    assert "spec.rollout.strategy.rollingUpdate.maxSurge" in messages


def test_cluster_mistakes_are_caught(upstream: Any) -> None:
    schema = upstream.schema(CLUSTERS)
    obj = cluster()
    obj["spec"]["clusterNetwork"]["pods"]["cidrBlocks"] = []
    obj["spec"]["controlPlaneEndpoint"]["port"] = 0
    obj["spec"]["topology"]["workers"]["machineDeployments"].append(
        {"class": "default-worker", "name": "md-0", "replicas": 1}
    )
    del obj["spec"]["topology"]["version"]
    found = _causes(obj, schema)
    assert ("spec.clusterNetwork.pods.cidrBlocks", "FieldValueInvalid") in found
    assert ("spec.controlPlaneEndpoint.port", "FieldValueInvalid") in found
    assert ("spec.topology.version", "FieldValueRequired") in found
    assert ("spec.topology.workers.machineDeployments[1]", "FieldValueDuplicate") in found


def test_validation_keeps_up_with_request_rates(upstream: Any) -> None:
    """A generous bound (the target is thousands per second): catches accidental per-call compilation."""
    schema = upstream.schema(MACHINES)
    obj = machine()
    validate(obj, schema)  # warm the compiled-schema cache
    rounds = 300
    start = time.perf_counter()
    for _ in range(rounds):
        work = copy.deepcopy(obj)
        prune(work, schema)
        apply_defaults(work, schema)
        assert not validate(work, schema)
    per_second = rounds / (time.perf_counter() - start)
    assert per_second > 300
