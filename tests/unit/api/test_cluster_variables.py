"""ClusterClass variables: a value checked and defaulted against its schema, and a Cluster topology's variables."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.cluster.variables import (
    default_and_validate_topology,
    default_value,
    definitions_of,
    effective_variables,
    validate_value,
)

PATH = "spec.topology.variables[v].value"
MACHINE = {
    "type": "object", "required": ["name"],
    "properties": {
        "cpu": {"type": "integer", "minimum": 1, "default": 2},
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "enum": ["a", "b"]}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "port": {"x-kubernetes-int-or-string": True},
    },
    "x-kubernetes-validations": [{"rule": "self.cpu <= 8", "message": "at most 8 CPUs"}],
}


@pytest.mark.parametrize(("value", "errors"), [
    ({"name": "x"}, []),
    ({"name": "x", "labels": {"a": "b"}, "free": {"any": {"thing": 1}}, "port": "http"}, []),
    ({"name": "x", "port": 80}, []),
    ({"cpu": 0}, [f"{PATH}.name: Required value",
                  f"{PATH}.cpu: Invalid value: 0: should be greater than or equal to 1"]),
    ({"name": "X1", "cpu": "a"}, [f'{PATH}.cpu: Invalid value: "a": must be of type integer',
                                  f"{PATH}.name: Invalid value: \"X1\": should match '^[a-z]+$'"]),
    ({"name": "abcdefghi"}, [f'{PATH}.name: Invalid value: "abcdefghi": may not be more than 8 chars long']),
    ({"name": "x", "cpu": 9}, [f'{PATH}: Invalid value: {{"cpu":9,"name":"x"}}: at most 8 CPUs']),
    ({"name": "x", "tags": ["c"]}, [f'{PATH}.tags[0]: Unsupported value: "c": supported values: "a", "b"']),
    ({"name": "x", "tags": ["a", "a", "b"]}, [f'{PATH}.tags: Invalid value: ["a","a","b"]: must have at most 2 '
                                              "items"]),
    ({"name": "x", "labels": {"a": 1}}, [f"{PATH}.labels.a: Invalid value: 1: must be of type string"]),
    ({"name": "x", "zzz": 1, "port": 1.5}, [f"{PATH}.port: Invalid value: 1.5: must be of type integer or string"]),
    ({"name": "x", "zzz": 1}, ['spec.topology.variables[v]: Invalid value: {"cpu":2,"name":"x","zzz":1}: "zzz" '
                               'field(s) are not specified in the variable schema of variable "v"']),
    (5, [f"{PATH}: Invalid value: 5: must be of type object"]),
])
def test_a_value_is_checked_against_its_schema_after_defaulting(value: Any, errors: list[str]) -> None:
    assert [str(e) for e in validate_value(default_value(value, MACHINE), MACHINE, PATH, name="v")] == errors


def test_defaults_fill_missing_and_null_fields_at_every_level() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "default": "x"},
        "nested": {"type": "object", "properties": {"b": {"type": "integer", "default": 3}}},
        "items": {"type": "array", "items": {"type": "object", "properties": {"c": {"type": "boolean",
                                                                                   "default": True}}}}}}
    value = {"a": None, "nested": {}, "items": [{}, {"c": False}]}
    assert default_value(value, schema) == {"a": "x", "nested": {"b": 3}, "items": [{"c": True}, {"c": False}]}
    assert value == {"a": None, "nested": {}, "items": [{}, {"c": False}]}, "the input is left alone"


def test_transition_rules_see_the_old_value_only_on_update() -> None:
    schema = {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable",
                                                              "reason": "FieldValueForbidden"}]}
    assert validate_value("b", schema, PATH) == []
    assert [str(e) for e in validate_value("b", schema, PATH, old="a", has_old=True)] == [f"{PATH}: Forbidden: "
                                                                                          "immutable"]


def test_message_expression_and_field_path() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "x-kubernetes-validations": [
        {"rule": "self.n % 2 == 0", "messageExpression": "'n must be even, not ' + string(self.n)",
         "fieldPath": ".n"}]}
    assert [str(e) for e in validate_value({"n": 3}, schema, PATH)] == [
        f'{PATH}.n: Invalid value: {{"n":3}}: n must be even, not 3']


CLASS = {"spec": {"variables": [
    {"name": "region", "required": True, "schema": {"openAPIV3Schema": {"type": "string", "enum": ["eu", "us"]}}},
    {"name": "replicas", "required": False, "schema": {"openAPIV3Schema": {"type": "integer", "default": 3,
                                                                           "minimum": 1}}},
    {"name": "image", "required": False, "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"repo": {"type": "string", "default": "registry.k8s.io"},
                                         "tag": {"type": "string"}}}}},
]}}


def cluster(variables: Any, md_overrides: Any = None) -> dict[str, Any]:
    md: dict[str, Any] = {"class": "default-worker", "name": "md-0"}
    if md_overrides is not None:
        md["variables"] = {"overrides": md_overrides}
    return {"spec": {"topology": {"classRef": {"name": "cc"}, "version": "v1.33.0", "variables": variables,
                                  "workers": {"machineDeployments": [md]}}}}


def test_topology_variables_get_the_class_defaults_and_overrides_are_defaulted_not_created() -> None:
    c = cluster([{"name": "region", "value": "eu"}], [{"name": "image", "value": {"tag": "v1"}}])
    assert default_and_validate_topology(c, None, CLASS) == []
    topology = c["spec"]["topology"]
    assert topology["variables"] == [{"name": "region", "value": "eu"}, {"name": "replicas", "value": 3}]
    assert topology["workers"]["machineDeployments"][0]["variables"]["overrides"] == [
        {"name": "image", "value": {"repo": "registry.k8s.io", "tag": "v1"}}]
    assert effective_variables(c) == {"region": "eu", "replicas": 3}
    assert effective_variables(c, machine_deployment="md-0") == {
        "region": "eu", "replicas": 3, "image": {"repo": "registry.k8s.io", "tag": "v1"}}


@pytest.mark.parametrize(("variables", "overrides", "errors"), [
    ([], None, ['spec.topology.variables: Required value: required variable "region" must be set']),
    ([{"name": "region", "value": "mars"}], None, [
        'spec.topology.variables[region].value: Unsupported value: "mars": supported values: "eu", "us"']),
    ([{"name": "region", "value": "eu"}, {"name": "nope", "value": 1}], None, [
        "spec.topology.variables[nope]: Invalid value: 1: variable is not defined"]),
    ([{"name": "region", "value": "eu"}], [{"name": "replicas", "value": 0}], [
        "spec.topology.workers.machineDeployments[md-0].variables.overrides[replicas].value: Invalid value: 0: "
        "should be greater than or equal to 1"]),
])
def test_invalid_topology_variables_name_the_variable_and_path(variables: Any, overrides: Any,
                                                                errors: list[str]) -> None:
    assert [str(e) for e in default_and_validate_topology(cluster(variables, overrides), None, CLASS)] == errors


def test_definitions_come_from_the_spec_and_from_the_status_for_discovered_ones() -> None:
    discovered = {"name": "ext", "definitions": [{"from": "patch", "required": True, "schema": {
        "openAPIV3Schema": {"type": "string"}}}]}
    conflicting = {"name": "bad", "definitionsConflict": True, "definitions": [
        {"from": "a", "required": True, "schema": {"openAPIV3Schema": {"type": "string"}}}]}
    found = definitions_of({**CLASS, "status": {"variables": [discovered, conflicting]}})
    assert sorted(found) == ["ext", "image", "region", "replicas"]
    assert found["ext"].required and found["region"].required and not found["replicas"].required
