"""Kinds from discovery documents, and lightkube resource classes that leave lightkube's own models alone."""

from __future__ import annotations

from lightkube.core.resource_registry import resource_registry
from lightkube.resources.core_v1 import ConfigMap

from herd.runtime.client import _generic_class
from herd.runtime.discovery import kinds_from_resource_list
from herd.runtime.objects import CONFIGMAP, Kind


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


def test_builtin_kinds_do_not_replace_lightkubes_typed_models() -> None:
    generic = _generic_class(CONFIGMAP)
    assert issubclass(generic, dict)
    assert resource_registry.load("v1", "ConfigMap") is ConfigMap


def test_custom_kinds_use_lightkubes_generic_resources() -> None:
    kind = Kind("unit.herd.dev/v1", "Gizmo", "gizmos")
    generic = _generic_class(kind)
    assert issubclass(generic, dict) and resource_registry.get("unit.herd.dev/v1", "Gizmo") is generic
    assert _generic_class(Kind("unit.herd.dev/v1", "Gizmo", "gizmos")) is generic
