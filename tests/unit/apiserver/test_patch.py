"""PATCH bodies: JSON merge patch, JSON patch and strategic merge patch, with kube-apiserver's answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from herd.apiserver.errors import StatusError
from herd.apiserver.patch import STRATEGIC_MERGE_KINDS, json_patch, merge_patch, strategic_merge_patch

CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "cfg", "namespace": "default", "labels": {"app": "web", "tier": "front"},
                 "finalizers": ["a/one", "b/two"]},
    "data": {"a": "1", "b": "2"},
}

POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p",
                 "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u1"}]},
    "spec": {
        "containers": [
            {"name": "app", "image": "app:1",
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "side:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "k1"}, {"key": "k2"}],
    },
    "status": {"conditions": [{"type": "Ready", "status": "False"},
                              {"type": "Initialized", "status": "True"}]},
}


# ------------------------------------------------------------------------------------------- merge patch

@pytest.mark.parametrize(("patch", "expected"), [
    ({"data": {"a": "9"}}, {**CONFIGMAP, "data": {"a": "9", "b": "2"}}),
    ({"data": {"a": None}}, {**CONFIGMAP, "data": {"b": "2"}}),
    ({"data": None}, {k: v for k, v in CONFIGMAP.items() if k != "data"}),
    ({"metadata": {"finalizers": ["c/three"]}},
     {**CONFIGMAP, "metadata": {**CONFIGMAP["metadata"], "finalizers": ["c/three"]}}),
    ({"spec": {"x": {"y": None, "z": 1}}}, {**CONFIGMAP, "spec": {"x": {"z": 1}}}),
    ({"missing": None}, CONFIGMAP),
    ({}, CONFIGMAP),
], ids=["replaces-a-value", "null-deletes-a-key", "null-deletes-a-map", "lists-are-replaced",
        "nulls-inside-new-maps-are-dropped", "deleting-a-missing-key-is-a-no-op",
        "empty-patch-changes-nothing"])
def test_merge_patch_follows_rfc_7386(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    original = copy.deepcopy(CONFIGMAP)
    assert merge_patch(original, patch) == expected
    assert original == CONFIGMAP, "the target must not be mutated"


@pytest.mark.parametrize("patch", [None, [], "x", 3])
def test_merge_patch_that_is_not_an_object_is_a_bad_request(patch: object) -> None:
    with pytest.raises(StatusError) as err:
        merge_patch(CONFIGMAP, patch)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")


# -------------------------------------------------------------------------------------------- JSON patch

@pytest.mark.parametrize(("ops", "expected_data"), [
    ([{"op": "add", "path": "/data/c", "value": "3"}], {"a": "1", "b": "2", "c": "3"}),
    ([{"op": "remove", "path": "/data/a"}], {"b": "2"}),
    ([{"op": "replace", "path": "/data/a", "value": "x"}], {"a": "x", "b": "2"}),
    ([{"op": "test", "path": "/data/a", "value": "1"}, {"op": "replace", "path": "/data/a", "value": "y"}],
     {"a": "y", "b": "2"}),
    ([{"op": "move", "from": "/data/a", "path": "/data/z"}], {"b": "2", "z": "1"}),
    ([{"op": "copy", "from": "/data/a", "path": "/data/z"}], {"a": "1", "b": "2", "z": "1"}),
    ([], {"a": "1", "b": "2"}),
], ids=["add", "remove", "replace", "test-then-replace", "move", "copy", "no-operations"])
def test_json_patch_applies_rfc_6902_operations(ops: list[dict[str, Any]],
                                                expected_data: dict[str, str]) -> None:
    original = copy.deepcopy(CONFIGMAP)
    assert json_patch(original, ops)["data"] == expected_data
    assert original == CONFIGMAP


@pytest.mark.parametrize(("ops", "code", "reason"), [
    ({"op": "add"}, 400, "BadRequest"),
    (["add"], 400, "BadRequest"),
    ("nope", 400, "BadRequest"),
    ([{"op": "test", "path": "/data/a", "value": "other"}], 422, "Invalid"),
    ([{"op": "remove", "path": "/data/missing"}], 422, "Invalid"),
    ([{"op": "replace", "path": "/nope/deeper", "value": 1}], 422, "Invalid"),
    ([{"op": "frobnicate", "path": "/data"}], 422, "Invalid"),
    ([{"path": "/data"}], 422, "Invalid"),
    ([{"op": "add", "path": "/data/x", "value": 1}] * 10001, 413, "RequestEntityTooLarge"),
], ids=["body-is-an-object", "operations-are-strings", "body-is-a-string", "failed-test",
        "remove-missing-path", "replace-under-missing-parent", "unknown-op", "missing-op",
        "too-many-operations"])
def test_json_patch_errors_match_kube(ops: object, code: int, reason: str) -> None:
    with pytest.raises(StatusError) as err:
        json_patch(CONFIGMAP, ops)
    assert (err.value.code, err.value.reason) == (code, reason)


def test_json_patch_failure_uses_kubes_fixed_message() -> None:
    with pytest.raises(StatusError) as err:
        json_patch(CONFIGMAP, [{"op": "test", "path": "/data/a", "value": "other"}])
    assert err.value.message == "the server rejected our request due to an error in our request"


# ----------------------------------------------------------------------------------- strategic merge patch

def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["containers"]
    return result


@pytest.mark.parametrize(("kind", "target", "patch", "path", "expected"), [
    ("ConfigMap", CONFIGMAP, {"data": {"c": "3", "a": None}}, ("data",), {"b": "2", "c": "3"}),
    ("ConfigMap", CONFIGMAP, {"metadata": {"labels": {"tier": None, "new": "x"}}}, ("metadata", "labels"),
     {"app": "web", "new": "x"}),
    ("ConfigMap", CONFIGMAP, {"metadata": {"finalizers": ["c/three", "a/one"]}}, ("metadata", "finalizers"),
     ["a/one", "b/two", "c/three"]),
    ("ConfigMap", CONFIGMAP, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/one"]}},
     ("metadata", "finalizers"), ["b/two"]),
    ("ConfigMap", CONFIGMAP, {"data": {"$patch": "replace", "z": "26"}}, ("data",), {"z": "26"}),
    ("ConfigMap", CONFIGMAP, {"data": {"$patch": "delete"}}, ("data",), {}),
    ("Pod", POD,
     {"metadata": {"ownerReferences": [{"uid": "u2", "kind": "Y", "name": "o2", "apiVersion": "v1"}]}},
     ("metadata", "ownerReferences"),
     [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u1"},
      {"apiVersion": "v1", "kind": "Y", "name": "o2", "uid": "u2"}]),
    ("Pod", POD, {"spec": {"tolerations": [{"key": "k3"}]}}, ("spec", "tolerations"), [{"key": "k3"}]),
    ("Pod", POD, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, ("status", "conditions"),
     [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]),
    ("Pod", POD, {"spec": {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"],
                                        "hostPath": {"path": "/x"}}]}},
     ("spec", "volumes"), [{"name": "data", "hostPath": {"path": "/x"}}]),
    ("Node", {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
     {"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}}, ("status", "addresses"),
     [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}]),
    ("ServiceAccount", {"secrets": [{"name": "a"}]}, {"secrets": [{"name": "b"}]}, ("secrets",),
     [{"name": "a"}, {"name": "b"}]),
    ("MutatingWebhookConfiguration", {"webhooks": [{"name": "w1", "sideEffects": "None"}]},
     {"webhooks": [{"name": "w1", "timeoutSeconds": 5}]}, ("webhooks",),
     [{"name": "w1", "sideEffects": "None", "timeoutSeconds": 5}]),
    ("CustomResourceDefinition", {"spec": {"versions": [{"name": "v1"}]}},
     {"spec": {"versions": [{"name": "v2"}]}}, ("spec", "versions"), [{"name": "v2"}]),
    ("Lease", {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}},
     {"spec": {"holderIdentity": "b"}},
     ("spec",), {"holderIdentity": "b", "leaseDurationSeconds": 15}),
], ids=["maps-merge-and-null-deletes", "labels-merge", "finalizers-merge-as-a-set",
        "delete-from-primitive-list", "patch-replace-on-a-map", "patch-delete-on-a-map",
        "owner-references-merge-by-uid", "lists-without-merge-key-are-replaced",
        "pod-conditions-merge-by-type", "retain-keys-drops-other-volume-sources",
        "node-addresses-merge-by-type", "service-account-secrets-merge-by-name", "webhooks-merge-by-name",
        "crd-lists-are-replaced", "lease-spec-merges"])
def test_strategic_merge_patch_merges_like_kube(
    kind: str, target: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...], expected: object,
) -> None:
    original = copy.deepcopy(target)
    result: Any = strategic_merge_patch(original, copy.deepcopy(patch), kind)
    for key in path:
        result = result[key]
    assert result == expected
    assert original == target, "the target must not be mutated"


def test_strategic_merge_patch_merges_containers_and_their_env_by_name() -> None:
    patch = {"spec": {"containers": [
        {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "22"}, {"name": "C", "value": "3"}],
         "ports": [{"containerPort": 80, "name": "http"}]},
        {"name": "new", "image": "new:1"},
    ]}}
    result = strategic_merge_patch(POD, patch, "Pod")
    app, sidecar, new = containers(result)
    assert app["image"] == "app:2"
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "22"},
                          {"name": "C", "value": "3"}]
    assert app["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    assert sidecar == {"name": "sidecar", "image": "side:1"}
    assert new == {"name": "new", "image": "new:1"}


@pytest.mark.parametrize(("items", "expected_names"), [
    ([{"name": "sidecar", "$patch": "delete"}], ["app"]),
    ([{"$patch": "replace"}, {"name": "only", "image": "o:1"}], ["only"]),
    ([{"name": "sidecar", "image": "side:2", "$patch": "merge"}], ["app", "sidecar"]),
], ids=["patch-delete-removes-an-item", "patch-replace-element-replaces-the-list",
        "patch-merge-is-the-default"])
def test_strategic_merge_patch_list_directives(items: list[dict[str, Any]],
                                               expected_names: list[str]) -> None:
    result = strategic_merge_patch(POD, {"spec": {"containers": items}}, "Pod")
    assert [c["name"] for c in containers(result)] == expected_names
    assert all("$patch" not in c for c in containers(result))


def test_strategic_merge_patch_set_element_order_reorders_and_is_stripped() -> None:
    patch = {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                      "containers": [{"name": "app", "image": "app:3"}]}}
    result = strategic_merge_patch(POD, patch, "Pod")
    assert [c["name"] for c in containers(result)] == ["sidecar", "app"]
    assert "$setElementOrder/containers" not in result["spec"]


def test_strategic_merge_patch_set_element_order_keeps_server_only_items_in_place() -> None:
    target = {"metadata": {"finalizers": ["x", "server-only", "y"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["y", "x"]}}
    result = strategic_merge_patch(target, patch, "ConfigMap")
    assert result["metadata"]["finalizers"] == ["server-only", "y", "x"]


def test_strategic_merge_patch_like_kubectl_apply_on_a_configmap() -> None:
    # The shape kubectl apply sends after a key was removed from the manifest.
    patch = {"data": {"a": None, "c": "3"},
             "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}
    result = strategic_merge_patch(CONFIGMAP, patch, "ConfigMap")
    assert result["data"] == {"b": "2", "c": "3"}
    assert result["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "{}"}


def test_strategic_merge_patch_strips_directives_from_new_values() -> None:
    patch = {"spec": {"newmap": {"$patch": "replace", "k": "v", "gone": None}}}
    assert strategic_merge_patch({"spec": {}}, patch, "Pod")["spec"]["newmap"] == {"k": "v"}


def test_strategic_merge_patch_knows_the_kinds_herd_serves() -> None:
    assert {"Namespace", "Secret", "ConfigMap", "Event", "Lease", "ServiceAccount", "Node", "Pod",
            "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
            "CustomResourceDefinition"} <= STRATEGIC_MERGE_KINDS


@pytest.mark.parametrize(("patch", "code"), [
    ([], 400),
    ("x", 400),
    ({"spec": {"containers": [{"image": "no-name"}]}}, 422),
    ({"spec": {"containers": ["not-a-map"]}}, 400),
    ({"data": {"$patch": "explode"}}, 400),
    ({"spec": {"volumes": [{"name": "data", "$retainKeys": ["name"], "hostPath": {}}]}}, 422),
    ({"spec": {"volumes": [{"name": "data", "$retainKeys": "name"}]}}, 400),
], ids=["patch-is-a-list", "patch-is-a-string", "item-without-merge-key", "item-not-an-object",
        "unknown-patch-directive", "content-outside-retain-keys", "retain-keys-not-a-list"])
def test_strategic_merge_patch_rejects_bad_patches(patch: object, code: int) -> None:
    with pytest.raises(StatusError) as err:
        strategic_merge_patch(POD, patch, "Pod")
    assert err.value.code == code
