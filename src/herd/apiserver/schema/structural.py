"""Is a CRD schema structural? The checks kube-apiserver requires before it serves a CRD.

A structural schema says, outside of any allOf/anyOf/oneOf/not, what every field is: each
node has a type (or is int-or-string / preserves unknown fields), and the logical junctors
only add value validations, never new structure. Pruning and defaulting depend on it.
Errors come back sorted by their rendered text, as kube sorts them.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.regex import pattern_error

_ROOT, _ITEM, _FIELD = "root", "item", "field"
_EMPTY_TYPE_DETAIL = {
    _ROOT: "must not be empty at the root",
    _ITEM: "must not be empty for specified array items",
    _FIELD: "must not be empty for specified object fields",
}
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def props_of(s: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `properties` of a raw schema node that are themselves schemas."""
    props = s.get("properties")
    if not isinstance(props, dict):
        return {}
    return {k: v for k, v in props.items() if isinstance(v, dict)}


def subschemas(s: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The schemas listed under `allOf`/`anyOf`/`oneOf` of a raw schema node."""
    subs = s.get(key)
    return [x for x in subs if isinstance(x, dict)] if isinstance(subs, list) else []


def type_of(s: dict[str, Any]) -> str:
    """The declared `type` of a raw schema node, "" when absent."""
    t = s.get("type")
    return t if isinstance(t, str) else ""


def structural_errors(schema: dict[str, Any], path: str) -> list[Cause]:
    """Everything that keeps `schema` (a CRD version's openAPIV3Schema at `path`) from being structural."""
    out: list[Cause] = []
    _invariants(schema, _ROOT, path, out)
    _value_validation_completeness(schema, schema, path, path, out)
    out.sort(key=lambda c: f"{c.field}: {c.message}")
    return out


def _invariants(s: dict[str, Any], lvl: str, path: str, out: list[Cause]) -> None:
    t = type_of(s)
    items = s.get("items")
    if t == "array" and items is None:
        out.append(m.required(f"{path}.items", "must be specified"))
    if isinstance(items, dict):
        _invariants(items, _ITEM, f"{path}.items", out)
    props = props_of(s)
    for k, v in props.items():
        _invariants(v, _FIELD, f"{path}.properties[{k}]", out)
    additional = s.get("additionalProperties")
    if additional is not None:
        if lvl == _ROOT:
            out.append(m.forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(additional, dict):
            _invariants(additional, _FIELD, f"{path}.additionalProperties", out)
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if int_or_string and preserve:
        out.append(
            m.invalid(
                f"{path}.x-kubernetes-preserve-unknown-fields",
                True,
                "must be false if x-kubernetes-int-or-string is true",
            )
        )
    if int_or_string and embedded:
        out.append(
            m.invalid(
                f"{path}.x-kubernetes-embedded-resource",
                True,
                "must be false if x-kubernetes-int-or-string is true",
            )
        )
    # The two spellings of int-or-string (anyOf: [integer, string], possibly as allOf[0]) are allowed.
    skip_any_of = subschemas(s, "anyOf") == _INT_OR_STRING_ANY_OF
    all_of = subschemas(s, "allOf")
    skip_first = bool(all_of) and subschemas(all_of[0], "anyOf") == _INT_OR_STRING_ANY_OF
    _value_validation(s, skip_any_of, skip_first, lvl, path, out)

    if embedded and t != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        out.append(m.invalid(f"{path}.type", t, detail) if t else m.required(f"{path}.type", detail))
    elif not t and not int_or_string and not preserve:
        out.append(m.required(f"{path}.type", _EMPTY_TYPE_DETAIL[lvl]))
    if embedded and additional is not None:
        out.append(
            m.forbidden(
                f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set"
            )
        )
    if lvl == _ROOT and t and t != "object":
        out.append(m.invalid(f"{path}.type", t, "must be object at the root"))
    if lvl == _ROOT or embedded:
        _meta_types(props, path, out)
    if lvl == _ROOT and "metadata" in props and not _metadata_is_restricted_to_names(props["metadata"]):
        out.append(
            m.forbidden(
                f"{path}.properties[metadata]",
                "must not specify anything other than name and generateName, "
                "but metadata is implicitly specified",
            )
        )
    if embedded and not preserve and not props:
        out.append(
            m.required(
                f"{path}.properties",
                "must not be empty if x-kubernetes-embedded-resource is "
                "true without x-kubernetes-preserve-unknown-fields",
            )
        )


def _meta_types(props: dict[str, dict[str, Any]], path: str, out: list[Cause]) -> None:
    for key, want in (("kind", "string"), ("apiVersion", "string"), ("metadata", "object")):
        if key in props and type_of(props[key]) != want:
            out.append(m.invalid(f"{path}.properties[{key}].type", type_of(props[key]), f"must be {want}"))


def _metadata_is_restricted_to_names(meta: dict[str, Any]) -> bool:
    # Only `type`, a `default` (rejected elsewhere) and properties for name/generateName may appear.
    for key, value in meta.items():
        if key in ("type", "default") or value in (None, False, "", [], {}):
            continue
        if key == "properties" and isinstance(value, dict) and set(value) <= {"name", "generateName"}:
            continue
        return False
    return True


def _value_validation(
    v: dict[str, Any],
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: str,
    path: str,
    out: list[Cause],
) -> None:
    if not skip_any_of:
        for i, sub in enumerate(subschemas(v, "anyOf")):
            _nested(sub, False, False, lvl, f"{path}.anyOf[{i}]", out)
    for i, sub in enumerate(subschemas(v, "allOf")):
        _nested(sub, skip_first_all_of_any_of and i == 0, False, lvl, f"{path}.allOf[{i}]", out)
    for i, sub in enumerate(subschemas(v, "oneOf")):
        _nested(sub, False, False, lvl, f"{path}.oneOf[{i}]", out)
    not_ = v.get("not")
    if isinstance(not_, dict):
        _nested(not_, False, False, lvl, f"{path}.not", out)
    pattern = v.get("pattern")
    if isinstance(pattern, str) and pattern:
        problem = pattern_error(pattern)
        if problem is not None:
            out.append(
                m.invalid(
                    f"{path}.pattern", pattern, f"must be a valid regular expression, but isn't: {problem}"
                )
            )


_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
)


def _nested(
    v: dict[str, Any], skip_any_of: bool, skip_all_of_any_of: bool, lvl: str, path: str, out: list[Cause]
) -> None:
    """A schema under allOf/anyOf/oneOf/not: value validations only, no structure of its own."""
    _value_validation(v, skip_any_of, skip_all_of_any_of, lvl, path, out)
    items = v.get("items")
    if isinstance(items, dict):
        _nested(items, False, False, lvl, f"{path}.items", out)
    props = props_of(v)
    for k, sub in props.items():
        _nested(sub, False, False, _FIELD, f"{path}.properties[{k}]", out)
    for key, detail in _NESTED_FORBIDDEN:
        value = v.get(key)
        # Zero values count as unset, except additionalProperties where even `false` is structure.
        unset = value is None or (key != "additionalProperties" and value in (False, "", []))
        if not unset:
            out.append(m.forbidden(f"{path}.{key}", detail))
    if "metadata" in props:
        out.append(m.forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))


def _value_validation_completeness(
    v: dict[str, Any], s: dict[str, Any], s_path: str, v_path: str, out: list[Cause]
) -> None:
    not_ = v.get("not")
    if isinstance(not_, dict):
        _nested_completeness(not_, s, s_path, f"{v_path}.not", out)
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(subschemas(v, key)):
            _nested_completeness(sub, s, s_path, f"{v_path}.{key}[{i}]", out)


def _nested_completeness(
    v: dict[str, Any], s: dict[str, Any] | None, s_path: str, v_path: str, out: list[Cause]
) -> None:
    """Every property or items a junctor talks about must also exist in the structural schema."""
    if s is None:
        out.append(m.required(s_path, f"because it is defined in {v_path}"))
        return
    _value_validation_completeness(v, s, s_path, v_path, out)
    items = v.get("items")
    if isinstance(items, dict):
        s_items = s.get("items")
        _nested_completeness(
            items, s_items if isinstance(s_items, dict) else None, f"{s_path}.items", f"{v_path}.items", out
        )
    s_props = props_of(s)
    for k, sub in props_of(v).items():
        _nested_completeness(
            sub, s_props.get(k), f"{s_path}.properties[{k}]", f"{v_path}.properties[{k}]", out
        )
