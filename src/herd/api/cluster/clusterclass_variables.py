"""The variables a ClusterClass declares, checked at admission (upstream: ValidateClusterClassVariables).

A schema must be one a CustomResourceDefinition could carry for that value: known types, nested schemas that are
schemas, properties and additionalProperties not both, compiling patterns and CEL rules, and a default, example
and enum values that the schema itself accepts.
"""

from __future__ import annotations

import re
from typing import Any

from herd.api.objects import nested
from herd.cel import compile_error, one_line
from herd.runtime.webhook import FieldError, validate_annotations, validate_labels

from .variables import child_path, quote_value, unsupported, validate_value

Obj = dict[str, Any]

BUILTIN = "builtin"
TYPES = ("object", "array", "string", "integer", "number", "boolean")
RULE_REASONS = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate")
MAX_RULE_MESSAGE = 2048


def validate_class_variables(variables: Any, path: str = "spec.variables") -> list[FieldError]:
    """Names unique, not reserved, without dots; metadata valid; every schema well formed."""
    if not isinstance(variables, list):
        return []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, variable in enumerate(variables):
        name, where = nested(variable, "name"), f"{path}[{i}]"
        if not isinstance(name, str):
            continue
        if name in seen:
            errors.append(FieldError.invalid(f"{where}.name", name, f"variable name must be unique. Variable with "
                                             f"name {quote_value(name)} is defined more than once"))
        seen.add(name)
        if name == BUILTIN:
            errors.append(FieldError.invalid(f"{where}.name", name, f"{quote_value(BUILTIN)} is a reserved variable "
                                             "name"))
        if "." in name:
            errors.append(FieldError.invalid(f"{where}.name", name, 'variable name cannot contain "."'))
        errors += _metadata_errors(nested(variable, "deprecatedV1Beta1Metadata"), f"{where}.deprecatedV1Beta1Metadata")
        schema = nested(variable, "schema", "openAPIV3Schema")
        if isinstance(schema, dict):
            errors += schema_errors(schema, f"{where}.schema.openAPIV3Schema", name)
    return errors


def _metadata_errors(meta: Any, path: str) -> list[FieldError]:
    return validate_labels(nested(meta, "labels"), f"{path}.labels") + \
        validate_annotations(nested(meta, "annotations"), f"{path}.annotations")


def _sub_schemas(schema: Obj, path: str) -> tuple[list[tuple[Obj, str]], list[FieldError]]:
    """The schemas nested in this one, with their paths, and the places where a schema was expected but something
    else is."""
    found: list[tuple[Obj, str]] = []
    errors: list[FieldError] = []

    def take(value: Any, where: str) -> None:
        if isinstance(value, dict):
            found.append((value, where))
        else:
            errors.append(FieldError.invalid(where, value, "must be a schema (an object)"))

    properties = schema.get("properties")
    if properties is not None:
        if isinstance(properties, dict):
            for key, sub in properties.items():
                take(sub, f"{path}.properties[{key}]")
        else:
            errors.append(FieldError.invalid(f"{path}.properties", properties, "must map field names to schemas"))
    for key in ("items", "not"):
        if key in schema:
            take(schema[key], f"{path}.{key}")
    if "additionalProperties" in schema:  # a schema, never a boolean, in a ClusterClass
        take(schema["additionalProperties"], f"{path}.additionalProperties")
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            items = schema[key]
            if not isinstance(items, list):
                errors.append(FieldError.invalid(f"{path}.{key}", items, "must be a list of schemas"))
                continue
            for i, sub in enumerate(items):
                take(sub, f"{path}.{key}[{i}]")
    return found, errors


def schema_errors(schema: Obj, path: str, name: str) -> list[FieldError]:
    """The problems of one variable schema (and of everything nested in it)."""
    errors: list[FieldError] = []
    kind = schema.get("type")
    if kind is not None and kind not in TYPES:
        return [unsupported(f"{path}.type", kind, sorted(TYPES))]
    if isinstance(schema.get("properties"), dict) and schema["properties"] and \
            isinstance(schema.get("additionalProperties"), dict):
        errors.append(FieldError.forbidden(path, "additionalProperties and properties are mutually exclusive"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as err:
            errors.append(FieldError.invalid(f"{path}.pattern", pattern, f"must be a valid regular expression: {err}"))
    errors += _metadata_errors(schema.get("x-metadata"), f"{path}.x-metadata")
    errors += _rule_errors(schema.get("x-kubernetes-validations"), f"{path}.x-kubernetes-validations")
    subs, shape_errors = _sub_schemas(schema, path)
    errors += shape_errors
    for sub, where in subs:
        errors += schema_errors(sub, where, name)
    if errors:
        return errors
    # The schema's own examples must pass it (checked once, at the top; nested ones are part of it).
    if "default" in schema:
        errors += validate_value(schema["default"], schema, f"{path}.default", name=name)
    if "example" in schema:
        errors += validate_value(schema["example"], schema, f"{path}.example", name=name)
    for i, value in enumerate(schema.get("enum") or []):
        without_enum = {k: v for k, v in schema.items() if k != "enum"}
        errors += validate_value(value, without_enum, child_path(f"{path}.enum", i), name=name)
    return errors


def _rule_errors(rules: Any, path: str) -> list[FieldError]:
    if not isinstance(rules, list):
        return []
    errors: list[FieldError] = []
    for i, raw in enumerate(rules):
        where = f"{path}[{i}]"
        if not isinstance(raw, dict):
            continue
        message = raw.get("message")
        if isinstance(message, str):
            if len(message) > MAX_RULE_MESSAGE:
                errors.append(FieldError.invalid(f"{where}.message", message[:10] + "...",
                                                 f"message must have a maximum length of {MAX_RULE_MESSAGE} "
                                                 "characters"))
            if "\n" in message:
                errors.append(FieldError.invalid(f"{where}.message", message, "message must not contain line "
                                                 "breaks"))
        elif "\n" in str(raw.get("rule") or ""):
            errors.append(FieldError.required(f"{where}.message", "message must be specified if rule contains line "
                                              "breaks"))
        reason = raw.get("reason")
        if reason is not None and reason not in RULE_REASONS:
            errors.append(unsupported(f"{where}.reason", reason, RULE_REASONS))
        field_path = raw.get("fieldPath")
        if isinstance(field_path, str) and not re.match(r"^(\.[A-Za-z_][A-Za-z0-9_-]*|\[[^\]\n]+\])+$", field_path):
            errors.append(FieldError.invalid(f"{where}.fieldPath", field_path, "fieldPath must be a valid path"))
        if (problem := compile_error(raw)) is not None:  # a webhook's field error is one line
            key, why = problem
            errors.append(FieldError.invalid(f"{where}.{key}", raw.get(key), one_line(why)))
    return errors
