"""Which OpenAPI v3 constructs a CRD schema may use, and how the Kubernetes extensions combine.

These are kube-apiserver's per-node rules for CRD schemas, independent of structurality:
unsupported JSON-Schema keywords, defaults where they would be ambiguous (top-level metadata),
`uniqueItems`, list/map types and their keys, and the shape of x-kubernetes-validations
entries (the CEL rules are compiled here; cel_budget checks their types and cost).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.cel import compile_error
from herd.apiserver.schema.cel_budget import cel_schema_errors
from herd.apiserver.schema.structural import props_of, subschemas, type_of

_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))
_RULE_REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]


@dataclass(frozen=True)
class _Context:
    allow_defaults: bool = True
    defaults_reason: str = ""
    inside_meta: bool = False

    def without_defaults(self, reason: str) -> _Context:
        return replace(self, allow_defaults=False, defaults_reason=reason)


def schema_rule_errors(schema: dict[str, Any], path: str) -> list[Cause]:
    """Rule violations anywhere in a CRD version's openAPIV3Schema found at `path`."""
    out: list[Cause] = []
    _walk(schema, path, _Context(), True, out)
    return out + cel_schema_errors(schema, path)  # rules that compile, checked against their schema


def _keywords(s: dict[str, Any], path: str, ctx: _Context, out: list[Cause]) -> None:
    t = s.get("type")
    if isinstance(t, str) and t and t not in _TYPES:
        out.append(m.not_supported(f"{path}.type", t, _TYPES))
    if s.get("default") is not None and not ctx.allow_defaults:
        reason = f"must not be set {ctx.defaults_reason}" if ctx.defaults_reason else "must not be set"
        out.append(m.forbidden(f"{path}.default", reason))
    if s.get("id"):
        out.append(m.forbidden(f"{path}.id", "id is not supported"))
    if s.get("additionalItems") is not None:
        out.append(m.forbidden(f"{path}.additionalItems", "additionalItems is not supported"))
    if s.get("patternProperties"):
        out.append(m.forbidden(f"{path}.patternProperties", "patternProperties is not supported"))
    if s.get("definitions"):
        out.append(m.forbidden(f"{path}.definitions", "definitions is not supported"))
    if s.get("dependencies") is not None:
        out.append(m.forbidden(f"{path}.dependencies", "dependencies is not supported"))
    if s.get("$ref") is not None:
        out.append(m.forbidden(f"{path}.$ref", "$ref is not supported"))
    if t == "null":
        out.append(m.forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list) and s["items"]:
        out.append(m.forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if ctx.inside_meta and s.get("x-kubernetes-embedded-resource") is True:
        out.append(
            m.forbidden(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta")
        )
    if s.get("uniqueItems") is True:
        out.append(
            m.forbidden(
                f"{path}.uniqueItems",
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        )


def _walk(s: dict[str, Any], path: str, ctx: _Context, is_root: bool, out: list[Cause]) -> None:
    _keywords(s, path, ctx, out)
    props = props_of(s)
    additional = s.get("additionalProperties")
    if additional is not None:
        if props and (additional is False or isinstance(additional, dict)):
            out.append(
                m.forbidden(
                    f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"
                )
            )
        if isinstance(additional, dict):
            sub = (
                ctx.without_defaults("inside additionalProperties applying to object metadata")
                if ctx.inside_meta
                else ctx
            )
            _walk(additional, f"{path}.additionalProperties", sub, False, out)
    embedded = s.get("x-kubernetes-embedded-resource") is True
    for key, prop in props.items():
        sub = ctx
        if (is_root or embedded) and key in _META_FIELDS:
            sub = replace(sub, inside_meta=True)
            if is_root:
                sub = sub.without_defaults(f"in top-level {key}")
        _walk(prop, f"{path}.properties[{key}]", sub, False, out)
    not_ = s.get("not")
    if isinstance(not_, dict):
        _walk(not_, f"{path}.not", ctx, False, out)
    for junctor in ("allOf", "oneOf", "anyOf"):
        for i, sub_schema in enumerate(subschemas(s, junctor)):
            _walk(sub_schema, f"{path}.{junctor}[{i}]", ctx, False, out)
    items = s.get("items")
    if isinstance(items, dict):
        _walk(items, f"{path}.items", ctx, False, out)
    elif isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _walk(item, f"{path}.items[{i}]", ctx, False, out)
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        out.append(
            m.invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined")
        )
    _map_and_list_types(s, path, out)
    _validation_rules(s, path, out)


def _required_or_invalid(field: str, value: str, detail: str) -> Cause:
    return m.invalid(field, value, detail) if value else m.required(field, detail)


def _map_and_list_types(s: dict[str, Any], path: str, out: list[Cause]) -> None:
    t = type_of(s)
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None:
        if t != "object":
            out.append(
                _required_or_invalid(
                    f"{path}.type", t, "must be object if x-kubernetes-map-type is specified"
                )
            )
        if map_type not in ("atomic", "granular"):
            out.append(m.not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    list_type = s.get("x-kubernetes-list-type")
    items = s.get("items")
    if list_type is not None and t != "array":
        out.append(
            _required_or_invalid(f"{path}.type", t, "must be array if x-kubernetes-list-type is specified")
        )
    elif list_type == "set" and isinstance(items, dict):
        item_type = type_of(items)
        detail = "must be atomic as item of a list with x-kubernetes-list-type=set"
        if item_type == "array" and items.get("x-kubernetes-list-type") not in (None, "atomic"):
            out.append(
                m.invalid(f"{path}.items.x-kubernetes-list-type", items.get("x-kubernetes-list-type"), detail)
            )
        if item_type == "object" and items.get("x-kubernetes-map-type") != "atomic":
            out.append(
                m.invalid(f"{path}.items.x-kubernetes-map-type", items.get("x-kubernetes-map-type"), detail)
            )
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        out.append(m.not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys")
    keys = [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []
    if keys and list_type != "map":
        detail = "must be map if x-kubernetes-list-map-keys is non-empty"
        field = f"{path}.x-kubernetes-list-type"
        out.append(m.required(field, detail) if list_type is None else m.invalid(field, list_type, detail))
    if list_type == "map":
        _map_list(keys, items, path, out)
    if list_type in ("set", "map") and isinstance(items, dict):
        _set_and_map_items(list_type, keys, items, path, out)


def _map_list(keys: list[str], items: Any, path: str, out: list[Cause]) -> None:
    if not keys:
        out.append(
            m.required(
                f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"
            )
        )
    if items is None:
        out.append(m.required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
        return
    if not isinstance(items, dict):
        out.append(
            m.invalid(
                f"{path}.items", items, "must only have a single schema if x-kubernetes-list-type is map"
            )
        )
        return
    item_type = type_of(items)
    if item_type != "object":
        out.append(
            m.invalid(
                f"{path}.items.type",
                item_type,
                "must be object if parent array's x-kubernetes-list-type is map",
            )
        )
        return
    item_props = props_of(items)
    seen: set[str] = set()
    for key in keys:
        if key in item_props:
            if type_of(item_props[key]) in ("array", "object"):
                out.append(
                    m.invalid(
                        f"{path}.items.properties[{key}].type",
                        item_type,
                        "must be a scalar type if parent array's x-kubernetes-list-type is map",
                    )
                )
        else:
            out.append(
                m.invalid(
                    f"{path}.x-kubernetes-list-map-keys", keys, "entries must all be names of item properties"
                )
            )
        if key in seen:
            out.append(
                m.invalid(f"{path}.x-kubernetes-list-map-keys", keys, "must not contain duplicate entries")
            )
        seen.add(key)


def _set_and_map_items(
    list_type: str, keys: list[str], items: dict[str, Any], path: str, out: list[Cause]
) -> None:
    if items.get("nullable") is True:
        out.append(
            m.forbidden(
                f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type is {list_type}"
            )
        )
    if list_type != "map":
        return
    required = items.get("required")
    required = required if isinstance(required, list) else []
    item_props = props_of(items)
    for key in keys:
        prop = item_props.get(key)
        if prop is None:
            continue  # reported above as not an item property
        if key not in required and prop.get("default") is None:
            out.append(
                m.required(
                    f"{path}.items.properties[{key}].default",
                    "this property is in x-kubernetes-list-map-keys, "
                    "so it must have a default or be a required property",
                )
            )
        if prop.get("nullable") is True:
            out.append(
                m.forbidden(
                    f"{path}.items.properties[{key}].nullable",
                    "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                )
            )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _has_newline(s: str) -> bool:
    return "\n" in s or "\r" in s


def _validation_rules(s: dict[str, Any], path: str, out: list[Cause]) -> None:
    rules = s.get("x-kubernetes-validations")
    if not isinstance(rules, list):
        return
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            out.append(m.invalid(f"{path}.x-kubernetes-validations[{i}]", rule, "must be an object"))
            continue
        base = f"{path}.x-kubernetes-validations[{i}]"
        text = _text(rule.get("rule"))
        message = _text(rule.get("message"))
        if not text.strip():
            out.append(m.required(f"{base}.rule", "rule is not specified"))
        elif (problem := compile_error(rule)) is not None:
            out.append(m.invalid(f"{base}.{problem[0]}", rule.get(problem[0]), problem[1]))
        elif message and not message.strip():
            out.append(m.invalid(f"{base}.message", message, "message must be non-empty if specified"))
        elif _has_newline(message.strip()):
            out.append(m.invalid(f"{base}.message", message, "message must not contain line breaks"))
        elif _has_newline(text.strip()) and not message.strip():
            out.append(
                m.required(f"{base}.message", "message must be specified if rule contains line breaks")
            )
        expression = rule.get("messageExpression")
        if isinstance(expression, str) and expression and not expression.strip():
            out.append(
                m.required(f"{base}.messageExpression", "messageExpression must be non-empty if specified")
            )
        reason = rule.get("reason")
        if reason is not None and reason not in _RULE_REASONS:
            out.append(m.not_supported(f"{base}.reason", reason, _RULE_REASONS))
        field_path = rule.get("fieldPath")
        if isinstance(field_path, str) and field_path:
            if not field_path.strip():
                out.append(
                    m.invalid(f"{base}.fieldPath", field_path, "fieldPath must be non-empty if specified")
                )
            if _has_newline(field_path):
                out.append(
                    m.invalid(f"{base}.fieldPath", field_path, "fieldPath must not contain line breaks")
                )
