"""Structural defaulting fills absent (and non-nullable null) fields from `default`, recursively."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema import apply_defaults

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "Auto"},
                "optional": {"type": "string", "nullable": True, "default": "x"},
                "strategy": {
                    "type": "object",
                    "default": {"type": "RollingUpdate"},
                    "properties": {
                        "type": {"type": "string"},
                        "maxSurge": {"type": "integer", "default": 1},
                    },
                },
                "ports": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "default": {"protocol": "TCP"},
                        "properties": {
                            "port": {"type": "integer"},
                            "protocol": {"type": "string", "default": "TCP"},
                        },
                    },
                },
                "pools": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "default": {"size": 1},
                        "properties": {"size": {"type": "integer", "default": 3}, "zone": {"type": "string"}},
                    },
                },
                "tags": {"type": "array", "default": ["a"], "items": {"type": "string"}},
                "nullDefault": {"type": "string", "default": None},
            },
        },
    },
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {},
            {
                "replicas": 1,
                "mode": "Auto",
                "optional": "x",
                "strategy": {"type": "RollingUpdate", "maxSurge": 1},
                "tags": ["a"],
            },
        ),
        ({"replicas": 5, "mode": None}, {"replicas": 5, "mode": "Auto"}),
        ({"optional": None}, {"optional": None}),
        ({"strategy": {"type": "OnDelete"}}, {"strategy": {"type": "OnDelete", "maxSurge": 1}}),
        (
            {"ports": [{"port": 80}, None, {"port": 443, "protocol": "UDP"}]},
            {
                "ports": [
                    {"port": 80, "protocol": "TCP"},
                    {"protocol": "TCP"},
                    {"port": 443, "protocol": "UDP"},
                ]
            },
        ),
        (
            {"pools": {"a": {"zone": "z"}, "b": None}},
            {"pools": {"a": {"zone": "z", "size": 3}, "b": {"size": 1}}},
        ),
    ],
)
def test_defaults_fill_absent_and_null_fields(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    obj: dict[str, Any] = {"spec": spec}
    apply_defaults(obj, SCHEMA)
    for key, value in expected.items():
        assert obj["spec"][key] == value


def test_defaults_apply_to_a_defaulted_parent() -> None:
    obj: dict[str, Any] = {}
    apply_defaults(obj, SCHEMA)
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["strategy"] == {"type": "RollingUpdate", "maxSurge": 1}


def test_null_defaults_are_never_applied() -> None:
    obj: dict[str, Any] = {"spec": {}}
    apply_defaults(obj, SCHEMA)
    assert "nullDefault" not in obj["spec"]


def test_defaults_are_deep_copies_never_shared_with_the_schema_or_other_objects() -> None:
    first: dict[str, Any] = {"spec": {}}
    second: dict[str, Any] = {"spec": {}}
    apply_defaults(first, SCHEMA)
    apply_defaults(second, SCHEMA)
    first["spec"]["tags"].append("mutated")
    first["spec"]["strategy"]["type"] = "mutated"
    assert second["spec"]["tags"] == ["a"]
    assert SCHEMA["properties"]["spec"]["properties"]["tags"]["default"] == ["a"]
    assert SCHEMA["properties"]["spec"]["properties"]["strategy"]["default"] == {"type": "RollingUpdate"}


def test_defaulting_leaves_wrongly_typed_values_for_validation_to_report() -> None:
    obj: dict[str, Any] = {"spec": {"strategy": "not-an-object", "ports": "nope"}}
    apply_defaults(obj, SCHEMA)
    assert obj["spec"]["strategy"] == "not-an-object"
    assert obj["spec"]["ports"] == "nope"
