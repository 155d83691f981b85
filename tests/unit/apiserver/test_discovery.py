"""Discovery documents: the shapes kubectl 1.32 and client-go parse."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver import discovery
from herd.apiserver.resources import ResourceType, ScaleSubresource

CONFIGMAPS = ResourceType(group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap",
                          namespaced=True, list_kind="ConfigMapList", short_names=("cm",))
NAMESPACES = ResourceType(group="", version="v1", kind="Namespace", plural="namespaces", singular="namespace",
                          namespaced=False, short_names=("ns",), status_subresource=True,
                          extra_subresources=("finalize",))
LEASES = ResourceType(group="coordination.k8s.io", version="v1", kind="Lease", plural="leases",
                      singular="lease", namespaced=True)


def machines(version: str) -> ResourceType:
    return ResourceType(group="cluster.x-k8s.io", version=version, kind="Machine", plural="machines",
                        singular="machine", namespaced=True, short_names=("ma",),
                        categories=("cluster-api",), status_subresource=True, builtin=False,
                        storage_version="v1beta2")


MACHINESETS = ResourceType(group="cluster.x-k8s.io", version="v1beta2", kind="MachineSet",
                           plural="machinesets", singular="machineset", namespaced=True, short_names=("ms",),
                           status_subresource=True, builtin=False,
                           scale=ScaleSubresource(".spec.replicas", ".status.replicas", ".status.selector"))
TYPES = [CONFIGMAPS, NAMESPACES, LEASES, machines("v1beta1"), machines("v1beta2"), MACHINESETS]


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", True),
    ("application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList", True),
    ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", False),
    ("application/json, */*", False),
    ("", False),
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0,application/json", False),
])
def test_wants_aggregated(accept: str, expected: bool) -> None:
    assert discovery.wants_aggregated(accept) is expected


def test_aggregated_content_type_is_exact() -> None:
    assert discovery.AGGREGATED_CONTENT_TYPE == \
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def test_version_priority_follows_kube() -> None:
    versions = ["v1alpha1", "foo10", "v1beta1", "v2", "v1", "v1beta2", "v2beta1", "v10alpha3", "foo1",
                "v11alpha2"]
    assert discovery.sort_versions(versions) == [
        "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v11alpha2", "v10alpha3", "v1alpha1", "foo1", "foo10"]


def test_core_versions() -> None:
    doc = discovery.core_versions("10.0.0.1:6443")
    assert doc["kind"] == "APIVersions"
    assert doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"] == [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]


def test_group_list_puts_preferred_version_first() -> None:
    doc = discovery.group_list(TYPES)
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    groups = {g["name"]: g for g in doc["groups"]}
    assert set(groups) == {"coordination.k8s.io", "cluster.x-k8s.io"}
    capi = groups["cluster.x-k8s.io"]
    assert [v["version"] for v in capi["versions"]] == ["v1beta2", "v1beta1"]
    assert capi["preferredVersion"] == {"groupVersion": "cluster.x-k8s.io/v1beta2", "version": "v1beta2"}


def test_resource_list_core() -> None:
    doc = discovery.resource_list(TYPES, "v1")
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    assert set(by_name) == {"configmaps", "namespaces", "namespaces/status", "namespaces/finalize"}
    cm = by_name["configmaps"]
    assert cm["singularName"] == "configmap" and cm["namespaced"] is True and cm["kind"] == "ConfigMap"
    assert cm["shortNames"] == ["cm"]
    assert "list" in cm["verbs"] and "watch" in cm["verbs"]
    assert cm["storageVersionHash"] == discovery.storage_version_hash("", "v1", "ConfigMap")
    assert by_name["namespaces/status"]["kind"] == "Namespace"
    assert by_name["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["namespaces/finalize"]["verbs"] == ["update"]


def test_resource_list_subresources_and_scale() -> None:
    doc = discovery.resource_list(TYPES, "cluster.x-k8s.io/v1beta2")
    by_name = {r["name"]: r for r in doc["resources"]}
    assert set(by_name) == {"machines", "machines/status", "machinesets", "machinesets/status",
                            "machinesets/scale"}
    scale = by_name["machinesets/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert "group" not in by_name["machines/status"]
    assert by_name["machines"]["categories"] == ["cluster-api"]
    assert by_name["machines"]["storageVersionHash"]


def test_storage_version_hash_is_stable_and_per_storage_version() -> None:
    a = discovery.resource_list(TYPES, "cluster.x-k8s.io/v1beta1")["resources"][0]["storageVersionHash"]
    b = discovery.resource_list(TYPES, "cluster.x-k8s.io/v1beta2")["resources"][0]["storageVersionHash"]
    assert a == b  # both versions store as v1beta2
    assert discovery.storage_version_hash("", "v1", "ConfigMap") != discovery.storage_version_hash(
        "", "v1", "Secret")


def test_unknown_group_version_is_empty_and_not_served() -> None:
    assert discovery.resource_list(TYPES, "nope.example/v1")["resources"] == []
    assert "nope.example/v1" not in discovery.served_group_versions(TYPES)
    assert discovery.served_group_versions(TYPES)[0] == "v1"


def _item(doc: dict[str, Any], name: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = [i for i in doc["items"] if i["metadata"]["name"] == name]
    assert len(items) == 1
    return items[0]


def test_aggregated_core_only_has_core_group() -> None:
    doc = discovery.aggregated(TYPES, core=True)
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert [i["metadata"]["name"] for i in doc["items"]] == [""]
    (version,) = doc["items"][0]["versions"]
    assert version["version"] == "v1" and version["freshness"] == "Current"
    ns = next(r for r in version["resources"] if r["resource"] == "namespaces")
    assert ns["scope"] == "Cluster" and ns["singularResource"] == "namespace" and ns["shortNames"] == ["ns"]
    assert ns["responseKind"] == {"group": "", "version": "v1", "kind": "Namespace"}
    assert {s["subresource"] for s in ns["subresources"]} == {"status", "finalize"}


def test_aggregated_groups() -> None:
    doc = discovery.aggregated(TYPES, core=False)
    assert "" not in [i["metadata"]["name"] for i in doc["items"]]
    capi = _item(doc, "cluster.x-k8s.io")
    assert [v["version"] for v in capi["versions"]] == ["v1beta2", "v1beta1"]
    resources = {r["resource"]: r for r in capi["versions"][0]["resources"]}
    ms = resources["machinesets"]
    assert ms["scope"] == "Namespaced" and "categories" not in ms
    subs = {s["subresource"]: s for s in ms["subresources"]}
    assert subs["scale"]["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert subs["scale"]["verbs"] == ["get", "patch", "update"]
    assert subs["status"]["responseKind"]["kind"] == "MachineSet"
    assert resources["machines"]["categories"] == ["cluster-api"]
    leases = _item(doc, "coordination.k8s.io")["versions"][0]["resources"][0]
    assert "subresources" not in leases


def test_subresource_override_from_extra() -> None:
    rt = ResourceType(group="", version="v1", kind="ServiceAccount", plural="serviceaccounts",
                      singular="serviceaccount", namespaced=True, extra_subresources=("token", "custom"),
                      extra={"subresources": {"custom": {"kind": "Thing", "verbs": ["create"]}}})
    assert discovery.subresource_kind(rt, "token") == ("authentication.k8s.io", "v1", "TokenRequest",
                                                       ("create",))
    assert discovery.subresource_kind(rt, "custom") == ("", "v1", "Thing", ("create",))


def test_etag_changes_with_content() -> None:
    a = discovery.aggregated(TYPES, core=False)
    extra = ResourceType(group="x.io", version="v1", kind="X", plural="xs", singular="x", namespaced=True)
    b = discovery.aggregated([*TYPES, extra], core=False)
    assert discovery.etag(a) == discovery.etag(discovery.aggregated(TYPES, core=False))
    assert discovery.etag(a) != discovery.etag(b)
