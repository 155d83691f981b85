"""CustomResourceDefinitions are defaulted and validated like kube-apiserver does before serving them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from herd.apiserver.schema import default_crd, validate_crd

UPSTREAM_FILES = sorted(p.name for p in Path("/work/shared/upstream/crds").glob("*.yaml"))
ROOT = "spec.versions[0].schema.openAPIV3Schema"


def minimal_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "replicas": {"type": "integer"},
                                        "name": {"type": "string"},
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def causes(crd: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c.field, c.reason, c.message) for c in validate_crd(crd)]


@pytest.mark.parametrize("filename", UPSTREAM_FILES)
def test_upstream_cluster_api_crds_are_valid(filename: str, upstream: Any) -> None:
    crd = upstream.crd(filename)
    default_crd(crd)
    assert validate_crd(crd) == []


def test_minimal_crd_is_valid() -> None:
    assert validate_crd(minimal_crd()) == []


def test_default_crd_fills_names_and_conversion() -> None:
    crd = minimal_crd()
    del crd["spec"]["names"]["singular"]
    del crd["spec"]["names"]["listKind"]
    crd["spec"]["versions"][0]["served"] = False
    default_crd(crd)
    assert crd["spec"]["names"]["singular"] == "widget"
    assert crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert crd["spec"]["versions"][0]["served"] is False
    assert validate_crd(crd) == []


def test_default_crd_keeps_what_is_given() -> None:
    crd = minimal_crd()
    crd["spec"]["names"]["singular"] = "wdgt"
    crd["spec"]["conversion"] = {"strategy": "None"}
    default_crd(crd)
    assert crd["spec"]["names"]["singular"] == "wdgt"
    assert crd["spec"]["names"]["listKind"] == "WidgetList"


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(crd: dict[str, Any]) -> None:
        target = crd
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(crd: dict[str, Any]) -> None:
        target = crd
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _spec_prop(name: str, schema: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(crd: dict[str, Any]) -> None:
        spec_schema(crd)["properties"][name] = schema

    return mutate


def _second_version(**overrides: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(crd: dict[str, Any]) -> None:
        version = dict(crd["spec"]["versions"][0], **overrides)
        crd["spec"]["versions"].append(version)

    return mutate


V0 = ["spec", "versions", 0]

MISTAKES: list[tuple[str, Callable[[dict[str, Any]], None], list[tuple[str, str, str]]]] = [
    (
        "name not plural.group",
        _set(["metadata", "name"], "gadgets.example.com"),
        [
            (
                "metadata.name",
                "FieldValueInvalid",
                'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group',
            )
        ],
    ),
    (
        "group without a dot",
        lambda crd: (
            _set(["spec", "group"], "example")(crd),
            _set(["metadata", "name"], "widgets.example")(crd),
        ),
        [
            (
                "spec.group",
                "FieldValueInvalid",
                'Invalid value: "example": should be a domain with at least one dot',
            )
        ],
    ),
    ("group missing", _set(["spec", "group"], ""), None),
    (
        "unknown scope",
        _set(["spec", "scope"], "Global"),
        [
            (
                "spec.scope",
                "FieldValueNotSupported",
                'Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
            )
        ],
    ),
    ("scope missing", _drop(["spec", "scope"]), [("spec.scope", "FieldValueRequired", "Required value")]),
    (
        "no versions",
        _set(["spec", "versions"], []),
        [
            (
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: []: must have exactly one version marked as storage version",
            )
        ],
    ),
    (
        "two storage versions",
        _second_version(name="v2"),
        [("spec.versions", "FieldValueInvalid", "must have exactly one version marked as storage version")],
    ),
    (
        "duplicate version names",
        _second_version(storage=False),
        [("spec.versions", "FieldValueInvalid", "must contain unique version names")],
    ),
    (
        "version name not a DNS-1035 label",
        _set([*V0, "name"], "V1"),
        [
            (
                "spec.versions[0].name",
                "FieldValueInvalid",
                'Invalid value: "V1": a DNS-1035 label must consist of lower case alphanumeric characters '
                "or '-', start with an alphabetic character, and end with an alphanumeric character "
                "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            )
        ],
    ),
    (
        "unserved version without schema",
        _second_version(name="v2", storage=False, served=False, schema={}),
        [
            (
                "spec.versions[1].schema.openAPIV3Schema",
                "FieldValueRequired",
                "Required value: schemas are required",
            )
        ],
    ),
    (
        "field without type",
        _spec_prop("untyped", {"description": "no type"}),
        [
            (
                f"{ROOT}.properties[spec].properties[untyped].type",
                "FieldValueRequired",
                "Required value: must not be empty for specified object fields",
            )
        ],
    ),
    (
        "array without items",
        _spec_prop("list", {"type": "array"}),
        [
            (
                f"{ROOT}.properties[spec].properties[list].items",
                "FieldValueRequired",
                "Required value: must be specified",
            )
        ],
    ),
    (
        "properties and additionalProperties together",
        _spec_prop(
            "both",
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
        ),
        [
            (
                f"{ROOT}.properties[spec].properties[both].additionalProperties",
                "FieldValueForbidden",
                "Forbidden: additionalProperties and properties are mutual exclusive",
            )
        ],
    ),
    (
        "metadata restricted beyond name",
        lambda crd: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"].update(
            metadata={"type": "object", "properties": {"labels": {"type": "object"}}}
        ),
        [
            (
                f"{ROOT}.properties[metadata]",
                "FieldValueForbidden",
                "Forbidden: must not specify anything other than name and generateName, "
                "but metadata is implicitly specified",
            )
        ],
    ),
    (
        "type inside anyOf",
        _spec_prop("mixed", {"type": "string", "anyOf": [{"type": "string", "maxLength": 3}]}),
        [
            (
                f"{ROOT}.properties[spec].properties[mixed].anyOf[0].type",
                "FieldValueForbidden",
                "Forbidden: must be empty to be structural",
            )
        ],
    ),
    (
        "unsupported type name",
        _spec_prop("weird", {"type": "float"}),
        [
            (
                f"{ROOT}.properties[spec].properties[weird].type",
                "FieldValueNotSupported",
                'Unsupported value: "float": supported values: '
                '"array", "boolean", "integer", "number", "object", "string"',
            )
        ],
    ),
    (
        "uniqueItems",
        _spec_prop("uniq", {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        [
            (
                f"{ROOT}.properties[spec].properties[uniq].uniqueItems",
                "FieldValueForbidden",
                "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        ],
    ),
    (
        "map list without keys",
        _spec_prop("ml", {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}),
        [
            (
                f"{ROOT}.properties[spec].properties[ml].x-kubernetes-list-map-keys",
                "FieldValueRequired",
                "Required value: must not be empty if x-kubernetes-list-type is map",
            )
        ],
    ),
    (
        "default of the wrong type",
        _spec_prop("count", {"type": "integer", "default": "three"}),
        [
            (
                f"{ROOT}.properties[spec].properties[count].default",
                "FieldValueTypeInvalid",
                'Invalid value: "string":  in body must be of type integer: "string"',
            )
        ],
    ),
    (
        "default with unknown fields",
        _spec_prop(
            "obj", {"type": "object", "properties": {"a": {"type": "string"}}, "default": {"a": "x", "b": 1}}
        ),
        [
            (
                f"{ROOT}.properties[spec].properties[obj].default",
                "FieldValueInvalid",
                'Invalid value: {"a":"x","b":1}: must not have unknown fields',
            )
        ],
    ),
    (
        "default in top-level metadata",
        lambda crd: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"].update(
            metadata={"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}
        ),
        [
            (
                f"{ROOT}.properties[metadata].properties[name].default",
                "FieldValueForbidden",
                "Forbidden: must not be set in top-level metadata",
            )
        ],
    ),
    (
        "root not an object",
        lambda crd: crd["spec"]["versions"][0]["schema"].update(openAPIV3Schema={"type": "string"}),
        [(f"{ROOT}.type", "FieldValueInvalid", 'Invalid value: "string": must be object at the root')],
    ),
    (
        "printer column with unknown type",
        _set(
            [*V0, "additionalPrinterColumns"], [{"name": "R", "type": "float", "jsonPath": ".spec.replicas"}]
        ),
        [
            (
                "spec.versions[0].additionalPrinterColumns[0].type",
                "FieldValueInvalid",
                'Invalid value: "float": must be one of boolean,date,integer,number,string',
            )
        ],
    ),
    (
        "printer column without name and jsonPath",
        _set([*V0, "additionalPrinterColumns"], [{"type": "string"}]),
        [
            ("spec.versions[0].additionalPrinterColumns[0].name", "FieldValueRequired", "Required value"),
            ("spec.versions[0].additionalPrinterColumns[0].JSONPath", "FieldValueRequired", "Required value"),
        ],
    ),
    (
        "scale path outside .spec",
        _set(
            [*V0, "subresources"],
            {"scale": {"specReplicasPath": ".status.replicas", "statusReplicasPath": ".status.replicas"}},
        ),
        [
            (
                "spec.versions[0].subresources.scale.specReplicasPath",
                "FieldValueInvalid",
                'Invalid value: ".status.replicas": should be a json path under .spec',
            )
        ],
    ),
    (
        "webhook conversion",
        _set(["spec", "conversion"], {"strategy": "Webhook"}),
        [
            (
                "spec.conversion.strategy",
                "FieldValueNotSupported",
                'Unsupported value: "Webhook": supported values: "None"',
            )
        ],
    ),
    (
        "plural not lowercase",
        lambda crd: (
            _set(["spec", "names", "plural"], "Widgets")(crd),
            _set(["metadata", "name"], "Widgets.example.com")(crd),
        ),
        None,
    ),
    (
        "kind equal to listKind",
        _set(["spec", "names", "listKind"], "Widget"),
        [
            (
                "spec.names.listKind",
                "FieldValueInvalid",
                'Invalid value: "Widget": kind and listKind may not be the same',
            )
        ],
    ),
    (
        "kind missing",
        _drop(["spec", "names", "kind"]),
        [("spec.names.kind", "FieldValueRequired", "Required value")],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in MISTAKES], ids=[name for name, _, _ in MISTAKES]
)
def test_crd_mistakes_are_refused(
    mutate: Callable[[dict[str, Any]], None], expected: list[tuple[str, str, str]] | None
) -> None:
    crd = minimal_crd()
    mutate(crd)
    found = causes(crd)
    assert found, "expected the CRD to be refused"
    if expected is None:
        return
    for field, reason, message in expected:
        assert any(f == field and r == reason and message in msg for f, r, msg in found), found


def test_plural_and_group_problems_name_their_fields() -> None:
    crd = minimal_crd()
    crd["spec"]["names"]["plural"] = "Widgets"
    crd["spec"]["group"] = ""
    fields = {c.field for c in validate_crd(crd)}
    assert {"spec.names.plural", "spec.group", "metadata.name"} <= fields


def test_int_or_string_spelled_with_any_of_is_structural() -> None:
    crd = minimal_crd()
    spec_schema(crd)["properties"]["surge"] = {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": "^[0-9]+%?$",
    }
    assert validate_crd(crd) == []
