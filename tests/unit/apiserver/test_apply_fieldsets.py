"""Field sets, FieldsV1 encoding and comparisons, by tables from the Kubernetes "Server-Side Apply" documentation
and the managedFields kube-apiserver stores."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.apply import fieldpath
from herd.apiserver.apply.fieldsets import STATUS_ONLY, WITHOUT_STATUS, applied_set, compare, created, created_fields
from herd.apiserver.apply.shapes import shape_for

DEPLOYMENT = shape_for("Deployment", True, None)
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "pools": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "zone"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "zone": {"type": "string"},
                                                             "size": {"type": "integer"}}}},
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "args": {"type": "array", "items": {"type": "string"}},
        "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                     "additionalProperties": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "template": {"type": "object", "properties": {"size": {"type": "integer"}}}}},
    "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}}}
FLEET = shape_for("Fleet", False, SCHEMA)


def fields(paths: set[tuple[str, ...]]) -> dict[str, Any]:
    return fieldpath.encode(paths)


@pytest.mark.parametrize(("spec", "expected"), [
    # scalars are members; a declared field holding a map is only a parent
    ({"template": {"size": 1}}, {"f:spec": {"f:template": {"f:size": {}}}}),
    # an empty map is a member
    ({"template": {}}, {"f:spec": {"f:template": {}}}),
    # map lists: each item by its key fields, itself a member
    ({"pools": [{"name": "a", "zone": "z", "size": 1}]},
     {"f:spec": {"f:pools": {'k:{"name":"a","zone":"z"}': {".": {}, "f:name": {}, "f:size": {}, "f:zone": {}}}}}),
    # sets: each value
    ({"tags": ["x", "y"]}, {"f:spec": {"f:tags": {'v:"x"': {}, 'v:"y"': {}}}}),
    # atomic lists and maps: one member, nothing below
    ({"args": ["--a"], "selector": {"app": "x"}}, {"f:spec": {"f:args": {}, "f:selector": {}}}),
    # keys of a free-form map are members even when they hold maps
    ({"labels": {"a": "1"}}, {"f:spec": {"f:labels": {"f:a": {}}}}),
])
def test_applied_sets_follow_the_schema(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    assert fields(applied_set({"apiVersion": "x/v1", "kind": "Fleet", "spec": spec}, FLEET)) == expected


def test_server_owned_metadata_is_never_in_a_set() -> None:
    obj = {"apiVersion": "v1", "kind": "Fleet", "metadata": {"name": "n", "namespace": "d", "uid": "u",
                                                             "resourceVersion": "1", "labels": {"a": "b"}}}
    assert fields(applied_set(obj, FLEET)) == {"f:metadata": {"f:labels": {"f:a": {}}}}


def test_builtin_lists_use_kubes_keys() -> None:
    obj = {"spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [
        {"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}], "env": [{"name": "E", "value": "1"}],
         "args": ["x"]}]}}}}
    containers = fields(applied_set(obj, DEPLOYMENT))["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers == {'k:{"name":"c"}': {
        ".": {}, "f:name": {}, "f:args": {},
        "f:env": {'k:{"name":"E"}': {".": {}, "f:name": {}, "f:value": {}}},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}, "f:protocol": {}}}}}
    assert fields(applied_set(obj, DEPLOYMENT))["f:spec"]["f:selector"] == {}


def test_a_created_object_is_owned_node_by_node_and_the_one_walk_builder_agrees() -> None:
    obj = {"apiVersion": "x/v1", "kind": "Fleet", "metadata": {"name": "n", "labels": {"a": "b"}},
           "spec": {"pools": [{"name": "a", "zone": "z"}], "args": ["--a"], "template": {}},
           "status": {"ready": 1}}
    expected = {"f:metadata": {"f:labels": {".": {}, "f:a": {}}},
                "f:spec": {".": {}, "f:args": {}, "f:template": {},
                           "f:pools": {".": {}, 'k:{"name":"a","zone":"z"}': {".": {}, "f:name": {}, "f:zone": {}}}}}
    assert fields(created(obj, FLEET, WITHOUT_STATUS)) == expected
    assert created_fields(obj, FLEET, WITHOUT_STATUS) == expected
    assert created_fields(obj, FLEET, STATUS_ONLY) == {"f:status": {".": {}, "f:ready": {}}}


@pytest.mark.parametrize(("old", "new", "added", "modified", "removed"), [
    ({"replicas": 1}, {"replicas": 2}, set(), {("f:spec", "f:replicas")}, set()),
    ({}, {"labels": {"a": "1"}}, {("f:spec", "f:labels"), ("f:spec", "f:labels", "f:a")}, set(), set()),
    ({"tags": ["x"]}, {"tags": ["y"]}, {("f:spec", "f:tags", 'v:"y"')}, set(), {("f:spec", "f:tags", 'v:"x"')}),
    ({"args": ["a"]}, {"args": ["b"]}, set(), {("f:spec", "f:args")}, set()),
    ({"flag": 1}, {"flag": 1.5}, set(), {("f:spec", "f:flag")}, set()),
    ({"same": {"x": [1]}}, {"same": {"x": [1]}}, set(), set(), set()),
])
def test_comparisons(old: dict[str, Any], new: dict[str, Any], added: set[Any], modified: set[Any],
                     removed: set[Any]) -> None:
    result = compare({"spec": old}, {"spec": new}, FLEET)
    assert (result.added, result.modified, result.removed) == (added, modified, removed)


def test_fieldsv1_round_trips_and_rejects_what_is_not_a_set() -> None:
    paths = {("f:spec",), ("f:spec", "f:a"), ("f:spec", 'k:{"name":"x"}', "f:b"), ("f:spec", "i:2")}
    tree = fieldpath.encode(paths)
    assert tree == {"f:spec": {".": {}, "f:a": {}, 'k:{"name":"x"}': {"f:b": {}}, "i:2": {}}}
    assert fieldpath.decode(tree) == paths
    assert fieldpath.holds(tree, ("f:spec", "f:a")) and not fieldpath.holds(tree, ("f:spec", 'k:{"name":"x"}'))
    for bad in ([], {"spec": {}}, {"f:a": 1}, {"f:a": {".": {"x": {}}}}):
        with pytest.raises(ValueError):
            fieldpath.decode(bad)


@pytest.mark.parametrize(("path", "text"), [
    (("f:spec", "f:replicas"), ".spec.replicas"),
    (("f:spec", 'k:{"containerPort":80,"protocol":"TCP"}'), '.spec[containerPort=80,protocol="TCP"]'),
    (("f:spec", "f:tags", 'v:"x"'), '.spec.tags[="x"]'),
    (("f:spec", "i:3"), ".spec[3]"),
])
def test_paths_print_in_kubes_notation(path: tuple[str, ...], text: str) -> None:
    assert fieldpath.to_string(path) == text
