"""Custom resources are validated with kube-apiserver's rules, reasons, fields and messages."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema import validate

INT_OR_STRING = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}


def resource(field_schema: dict[str, Any], value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A schema with `spec.x` described by `field_schema`, and an object with `spec.x = value`."""
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": {"x": field_schema}},
        },
    }
    obj = {"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "n"}, "spec": {"x": value}}
    return schema, obj


def causes(obj: dict[str, Any], schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c.field, c.reason, c.message) for c in validate(obj, schema)]


VALID = [
    ({"type": "integer"}, 3),
    ({"type": "integer"}, 3.0),
    ({"type": "number"}, 3),
    ({"type": "number"}, 2.5),
    ({"type": "string"}, ""),
    ({"type": "boolean"}, False),
    ({"type": "array", "items": {"type": "string"}}, ["a"]),
    ({"type": "object"}, {}),
    ({"type": "string", "nullable": True}, None),
    (INT_OR_STRING, 5),
    (INT_OR_STRING, "50%"),
    ({"type": "string", "enum": ["a", "b"]}, "b"),
    ({"type": "integer", "enum": [1, 2]}, 2),
    ({"type": "string", "pattern": "^[a-z]+$"}, "abc"),
    ({"type": "string", "pattern": "[0-9]"}, "abc1def"),
    ({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05Z"),
    ({"type": "string", "format": "some-unknown-format"}, "whatever"),
    ({"type": "integer", "format": "int32"}, 2**31 - 1),
    ({"type": "integer", "minimum": 1, "maximum": 3}, 3),
    ({"type": "number", "multipleOf": 0.1}, 0.3),
    ({"type": "integer", "multipleOf": 5}, -15),
    ({"type": "string", "minLength": 2, "maxLength": 3}, "héé"),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2}, [1, 2]),
    ({"type": "array", "uniqueItems": True}, [1, "1", True, {"a": 1}, {"a": 2}]),
    ({"type": "object", "minProperties": 1, "maxProperties": 1}, {"a": 1}),
    ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, {"any": {"thing": [1]}}),
    ({"type": "string", "allOf": [{"minLength": 1}, {"maxLength": 3}]}, "ab"),
    ({"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "^b"}]}, "abc"),
    ({"type": "string", "not": {"enum": ["forbidden"]}}, "fine"),
    ({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}, ["a", "b"]),
    ({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}, [1, 1.0]),
]


@pytest.mark.parametrize(("field_schema", "value"), VALID)
def test_conforming_values_produce_no_causes(field_schema: dict[str, Any], value: Any) -> None:
    schema, obj = resource(field_schema, value)
    assert causes(obj, schema) == []


INVALID = [
    (
        {"type": "integer"},
        "string",
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "string": spec.x in body must be of type integer: "string"',
            )
        ],
    ),
    (
        {"type": "integer"},
        1.5,
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "number": spec.x in body must be of type integer: "number"',
            )
        ],
    ),
    (
        {"type": "integer"},
        True,
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "boolean": spec.x in body must be of type integer: "boolean"',
            )
        ],
    ),
    (
        {"type": "object"},
        None,
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "null": spec.x in body must be of type object: "null"',
            )
        ],
    ),
    (
        INT_OR_STRING,
        True,
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean"',
            ),
            (
                "spec.x",
                "FieldValueInvalid",
                'Invalid value: "": "spec.x" must validate at least one schema (anyOf)',
            ),
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "boolean": spec.x in body must be of type integer: "boolean"',
            ),
        ],
    ),
    (
        {"type": "string", "enum": ["a", "b"]},
        "c",
        [("spec.x", "FieldValueNotSupported", 'Unsupported value: "c": supported values: "a", "b"')],
    ),
    (
        {"type": "integer", "enum": [1, 2]},
        3,
        [("spec.x", "FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"')],
    ),
    (
        {"type": "string", "pattern": "^[a-z]+$"},
        "abc\n",
        [
            (
                "spec.x",
                "FieldValueInvalid",
                "Invalid value: \"abc\\n\": spec.x in body should match '^[a-z]+$'",
            )
        ],
    ),
    (
        {"type": "string", "maxLength": 3},
        "abcd",
        [("spec.x", "FieldValueTooLong", "Too long: may not be more than 3 bytes")],
    ),
    (
        {"type": "string", "minLength": 1},
        "",
        [
            (
                "spec.x",
                "FieldValueInvalid",
                'Invalid value: "": spec.x in body should be at least 1 chars long',
            )
        ],
    ),
    (
        {"type": "string", "format": "date-time"},
        "yesterday",
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday"',
            )
        ],
    ),
    (
        {"type": "string", "format": "byte"},
        "%%%",
        [
            (
                "spec.x",
                "FieldValueTypeInvalid",
                'Invalid value: "%%%": spec.x in body must be of type byte: "%%%"',
            )
        ],
    ),
    (
        {"type": "integer", "format": "int32"},
        2**31,
        [
            (
                "spec.x",
                "FieldValueInvalid",
                "Invalid value: 2147483648: "
                "Checked value must be of type integer with format int32 in spec.x",
            )
        ],
    ),
    (
        {"type": "integer", "minimum": 1},
        0,
        [
            (
                "spec.x",
                "FieldValueInvalid",
                "Invalid value: 0: spec.x in body should be greater than or equal to 1",
            )
        ],
    ),
    (
        {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
        1,
        [("spec.x", "FieldValueInvalid", "Invalid value: 1: spec.x in body should be greater than 1")],
    ),
    (
        {"type": "number", "maximum": 2.5},
        3.5,
        [
            (
                "spec.x",
                "FieldValueInvalid",
                "Invalid value: 3.5: spec.x in body should be less than or equal to 2.5",
            )
        ],
    ),
    (
        {"type": "number", "maximum": 10, "exclusiveMaximum": True},
        10.0,
        [("spec.x", "FieldValueInvalid", "Invalid value: 10: spec.x in body should be less than 10")],
    ),
    (
        {"type": "integer", "multipleOf": 5},
        7,
        [("spec.x", "FieldValueInvalid", "Invalid value: 7: spec.x in body should be a multiple of 5")],
    ),
    (
        {"type": "number", "multipleOf": 0.5},
        0.7,
        [("spec.x", "FieldValueInvalid", "Invalid value: 0.7: spec.x in body should be a multiple of 0.5")],
    ),
    (
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
        [],
        [("spec.x", "FieldValueInvalid", "Invalid value: 0: spec.x in body should have at least 1 items")],
    ),
    (
        {"type": "array", "items": {"type": "string"}, "maxItems": 1},
        ["a", "b"],
        [("spec.x", "FieldValueTooMany", "Too many: 2: must have at most 1 item")],
    ),
    (
        {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        ["a", "a"],
        [("spec.x", "FieldValueInvalid", 'Invalid value: "": spec.x in body shouldn\'t contain duplicates')],
    ),
    (
        {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        [{"name": "ok"}, {"name": 1}],
        [
            (
                "spec.x[1].name",
                "FieldValueTypeInvalid",
                'Invalid value: "integer": spec.x[1].name in body must be of type string: "integer"',
            )
        ],
    ),
    (
        {"type": "object", "minProperties": 1, "required": ["a"]},
        {},
        [
            (
                "spec.x",
                "FieldValueInvalid",
                "Invalid value: 0: spec.x in body should have at least 1 properties",
            )
        ],
    ),
    (
        {"type": "object", "maxProperties": 1},
        {"a": 1, "b": 2},
        [("spec.x", "FieldValueTooMany", "Too many: 2: must have at most 1 item")],
    ),
    (
        {
            "type": "object",
            "required": ["a", "b"],
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        },
        {"a": "x"},
        [("spec.x.b", "FieldValueRequired", "Required value")],
    ),
    (
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"good": 1, "bad": "no"},
        [
            (
                "spec.x.bad",
                "FieldValueTypeInvalid",
                'Invalid value: "string": spec.x.bad in body must be of type integer: "string"',
            )
        ],
    ),
    (
        {"type": "string", "allOf": [{"minLength": 5}, {"pattern": "^a"}]},
        "b",
        [
            (
                "spec.x",
                "FieldValueInvalid",
                'Invalid value: "b": spec.x in body should be at least 5 chars long',
            ),
            ("spec.x", "FieldValueInvalid", "Invalid value: \"b\": spec.x in body should match '^a'"),
            (
                "spec.x",
                "FieldValueInvalid",
                'Invalid value: "": "spec.x" must validate all the schemas (allOf). None validated',
            ),
        ],
    ),
    (
        {"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]},
        "ab",
        [
            (
                "spec.x",
                "FieldValueInvalid",
                'Invalid value: "": "spec.x" must validate one and only one schema (oneOf). '
                "Found 2 valid alternatives",
            )
        ],
    ),
    (
        {"type": "string", "not": {"enum": ["forbidden"]}},
        "forbidden",
        [("spec.x", "FieldValueInvalid", 'Invalid value: "": "spec.x" must not validate the schema (not)')],
    ),
    (
        {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        ["a", "b", "a", "a"],
        [("spec.x[2]", "FieldValueDuplicate", 'Duplicate value: "a"')],
    ),
    (
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}},
        },
        [{"name": "a", "v": 1}, {"name": "b"}, {"name": "a", "v": 2}],
        [("spec.x[2]", "FieldValueDuplicate", 'Duplicate value: {"name":"a"}')],
    ),
    (
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["key", "effect"],
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "effect": {"type": "string"}},
            },
        },
        [{"key": "k", "effect": "A"}, {"key": "k", "effect": "B"}, {"key": "k", "effect": "A"}],
        [("spec.x[2]", "FieldValueDuplicate", 'Duplicate value: {"effect":"A","key":"k"}')],
    ),
    (
        {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        },
        {"metadata": {"name": "x"}},
        [
            ("spec.x.apiVersion", "FieldValueRequired", "Required value: must not be empty"),
            ("spec.x.kind", "FieldValueRequired", "Required value: must not be empty"),
        ],
    ),
    (
        {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        },
        {"apiVersion": "a/b/c", "kind": "Not_A_Kind"},
        [
            (
                "spec.x.apiVersion",
                "FieldValueInvalid",
                'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
            ),
            (
                "spec.x.kind",
                "FieldValueInvalid",
                'Invalid value: "Not_A_Kind": may have mixed case, but should otherwise match: '
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character "
                "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("field_schema", "value", "expected"), INVALID)
def test_violations_are_reported_with_kube_fields_reasons_and_messages(
    field_schema: dict[str, Any], value: Any, expected: list[tuple[str, str, str]]
) -> None:
    schema, obj = resource(field_schema, value)
    assert causes(obj, schema) == expected


def test_root_type_meta_and_object_meta_are_left_to_the_api_server() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "integer"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 2}}},
            "spec": {"type": "object"},
        },
    }
    obj = {"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "too-long"}, "spec": {}}
    assert causes(obj, schema) == []
    del obj["spec"]
    assert causes(obj, schema) == [("spec", "FieldValueRequired", "Required value")]


def test_every_violation_in_an_object_is_reported_not_just_the_first() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "replicas": {"type": "integer", "minimum": 0},
                    "mode": {"type": "string", "enum": ["A", "B"]},
                },
            }
        },
    }
    obj = {"spec": {"replicas": -1, "mode": "C"}}
    assert [c.field for c in validate(obj, schema)] == ["spec.replicas", "spec.mode", "spec.name"]


def test_validation_does_not_mutate_the_object() -> None:
    schema, obj = resource({"type": "object", "properties": {"a": {"type": "string", "default": "d"}}}, {})
    validate(obj, schema)
    assert obj["spec"] == {"x": {}}


def test_validating_with_the_same_schema_reuses_the_compiled_form() -> None:
    schema, good = resource({"type": "string", "pattern": "^ok$"}, "ok")
    _, bad = resource({"type": "string"}, "nope")
    assert validate(good, schema) == []
    assert [c.field for c in validate(bad, schema)] == ["spec.x"]
    assert validate(good, schema) == []
