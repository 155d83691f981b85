"""Checks that every `default` in a CRD schema is a value the schema itself would accept.

A default is copied into objects verbatim, so kube-apiserver refuses a CRD whose defaults
would be pruned (unknown fields) or fail validation: otherwise every object defaulted from it
would be born invalid. Defaults inside ObjectMeta/TypeMeta are only validated, not pruned,
because metadata is pruned by other means.
"""

from __future__ import annotations

from typing import Any

from herd.apiserver.errors import Cause
from herd.apiserver.schema import messages as m
from herd.apiserver.schema.defaulting import deep_copy_json
from herd.apiserver.schema.node import Node
from herd.apiserver.schema.pruning import prune_value
from herd.apiserver.schema.structural import props_of
from herd.apiserver.schema.validation import validate_value

_META_FIELDS = frozenset(("apiVersion", "kind", "metadata"))


def default_errors(schema: dict[str, Any], path: str) -> list[Cause]:
    """Problems with the defaults of a (structural) CRD version schema found at `path`."""
    out: list[Cause] = []
    _walk(schema, path, True, False, out)
    return out


def _walk(s: dict[str, Any], path: str, resource_root: bool, inside_meta: bool, out: list[Cause]) -> None:
    resource_root = resource_root or s.get("x-kubernetes-embedded-resource") is True
    default = s.get("default")
    if default is not None:
        node = Node(s)
        field = f"{path}.default"
        if not inside_meta and prune_value(deep_copy_json(default), node):
            out.append(m.invalid(field, default, "must not have unknown fields"))
        else:
            out.extend(validate_value(default, node, field))
    # additionalProperties is not followed: kube does not look for defaults below it either.
    items = s.get("items")
    if isinstance(items, dict):
        _walk(items, f"{path}.items", False, inside_meta, out)
    for key, prop in props_of(s).items():
        sub_meta = inside_meta or (resource_root and key in _META_FIELDS)
        _walk(prop, f"{path}.properties[{key}]", False, sub_meta, out)
