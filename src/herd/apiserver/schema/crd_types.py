"""The Go types of a CRD's `openAPIV3Schema` (apiextensions/v1 JSONSchemaProps), as schemas `TypeChecker` reads.

kube-apiserver decodes a CustomResourceDefinition into typed JSONSchemaProps, so a schema such as
`properties: "x"` or `required: 5` is refused at decoding (400) and can never reach the OpenAPI builder.
"""

from __future__ import annotations

from typing import Any

JSON_SCHEMA_PROPS = "JSONSchemaProps"
_PROPS = {"$ref": JSON_SCHEMA_PROPS}
_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer", "format": "int64"}
_NUMBER = {"type": "number"}
_STRINGS = {"type": "array", "items": _STRING}
_PROPS_MAP = {"type": "object", "additionalProperties": _PROPS}
_PROPS_LIST = {"type": "array", "items": _PROPS}

_SCHEMA_PROPS: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{name: _STRING for name in ("id", "$schema", "$ref", "description", "type", "format", "title",
                                      "pattern", "x-kubernetes-list-type", "x-kubernetes-map-type")},
        **{name: _NUMBER for name in ("maximum", "minimum", "multipleOf")},
        **{name: _BOOL for name in ("exclusiveMaximum", "exclusiveMinimum", "uniqueItems", "nullable",
                                    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
                                    "x-kubernetes-int-or-string")},
        **{name: _INT for name in ("maxLength", "minLength", "maxItems", "minItems", "maxProperties",
                                   "minProperties")},
        "required": _STRINGS,
        "x-kubernetes-list-map-keys": _STRINGS,
        "enum": {"type": "array"},
        "items": {"anyOf": [_PROPS, _PROPS_LIST], "x-go-type": "v1.JSONSchemaPropsOrArray"},
        "additionalItems": {"anyOf": [_BOOL, _PROPS], "x-go-type": "v1.JSONSchemaPropsOrBool"},
        "additionalProperties": {"anyOf": [_BOOL, _PROPS], "x-go-type": "v1.JSONSchemaPropsOrBool"},
        "allOf": _PROPS_LIST, "oneOf": _PROPS_LIST, "anyOf": _PROPS_LIST, "not": _PROPS,
        "properties": _PROPS_MAP, "patternProperties": _PROPS_MAP, "definitions": _PROPS_MAP,
        "dependencies": {"type": "object", "additionalProperties": {
            "anyOf": [_PROPS, _STRINGS], "x-go-type": "v1.JSONSchemaPropsOrStringArray"}},
        "externalDocs": {"type": "object", "properties": {"description": _STRING, "url": _STRING}},
        "x-kubernetes-validations": {"type": "array", "items": {"type": "object", "properties": {
            "rule": _STRING, "message": _STRING, "messageExpression": _STRING, "reason": _STRING,
            "fieldPath": _STRING, "optionalOldSelf": _BOOL}}},
    },
}

DEFINITIONS: dict[str, dict[str, Any]] = {JSON_SCHEMA_PROPS: _SCHEMA_PROPS}
