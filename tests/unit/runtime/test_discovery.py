"""Kinds from discovery documents."""

from __future__ import annotations

from herd.runtime.discovery import kinds_from_resource_list
from herd.runtime.objects import Kind


def test_a_resource_list_gives_kinds_with_scope_and_status_subresource() -> None:
    resource_list = {"kind": "APIResourceList", "groupVersion": "cluster.x-k8s.io/v1beta2", "resources": [
        {"name": "machines", "kind": "Machine", "namespaced": True},
        {"name": "machines/status", "kind": "Machine", "namespaced": True},
        {"name": "machinesets/scale", "kind": "Scale", "namespaced": True},
        {"name": "machinesets", "kind": "MachineSet", "namespaced": True},
        {"name": "clusterclasses", "kind": "ClusterClass", "namespaced": False},
    ]}
    assert kinds_from_resource_list("cluster.x-k8s.io/v1beta2", resource_list) == [
        Kind("cluster.x-k8s.io/v1beta2", "Machine", "machines", namespaced=True, status_subresource=True),
        Kind("cluster.x-k8s.io/v1beta2", "MachineSet", "machinesets", namespaced=True, status_subresource=False),
        Kind("cluster.x-k8s.io/v1beta2", "ClusterClass", "clusterclasses", namespaced=False,
             status_subresource=False),
    ]
    assert kinds_from_resource_list("v1", "not a list") == []
