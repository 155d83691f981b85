"""Set and map lists must not repeat elements or keys, wherever they sit in the object."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema import validate

SET_OF_STRINGS = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
MAP_BY_NAME = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
    "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "integer"}}},
}


def schema_with(spec_props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": spec_props}}}


def duplicates(schema: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (c.field, c.message) for c in validate({"spec": spec}, schema) if c.reason == "FieldValueDuplicate"
    ]


@pytest.mark.parametrize(
    ("spec_props", "spec", "expected"),
    [
        (
            {"s": SET_OF_STRINGS},
            {"s": ["a", "b", "a", "b", "a"]},
            [("spec.s[2]", 'Duplicate value: "a"'), ("spec.s[3]", 'Duplicate value: "b"')],
        ),
        (
            {"s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}},
            {"s": [1, 1.0, 2, 2]},
            [("spec.s[3]", "Duplicate value: 2")],
        ),
        (
            {"m": MAP_BY_NAME},
            {"m": [{"name": "a"}, {"name": "b", "value": 1}, {"name": "b", "value": 2}]},
            [("spec.m[2]", 'Duplicate value: {"name":"b"}')],
        ),
        ({"m": MAP_BY_NAME}, {"m": [{"value": 1}, {"value": 2}]}, [("spec.m[1]", "Duplicate value: {}")]),
        (
            {
                "groups": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"m": MAP_BY_NAME}},
                }
            },
            {"groups": {"g1": {"m": [{"name": "x"}, {"name": "x"}]}}},
            [("spec.groups[g1].m[1]", 'Duplicate value: {"name":"x"}')],
        ),
        (
            {"outer": {"type": "array", "items": {"type": "object", "properties": {"s": SET_OF_STRINGS}}}},
            {"outer": [{"s": ["q"]}, {"s": ["q", "q"]}]},
            [("spec.outer[1].s[1]", 'Duplicate value: "q"')],
        ),
    ],
)
def test_repeated_set_elements_and_map_keys_are_duplicates(
    spec_props: dict[str, Any], spec: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert duplicates(schema_with(spec_props), spec) == expected


def test_atomic_lists_may_repeat_elements() -> None:
    schema = schema_with(
        {"l": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "string"}}}
    )
    assert validate({"spec": {"l": ["a", "a"]}}, schema) == []


def test_map_list_elements_must_be_objects() -> None:
    schema = schema_with(
        {"m": {**MAP_BY_NAME, "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    )
    found = [(c.field, c.message) for c in validate({"spec": {"m": [{"name": "a"}, "oops"]}}, schema)]
    assert ("spec.m[1]", 'Invalid value: "oops": must be an object for an array of list-type map') in found
