"""CustomResourceDefinitions generated from the pydantic models.

pydantic produces JSON Schema (with `$defs`, `anyOf` for optionals, titles); a CRD needs a
structural OpenAPI v3 schema (everything inline, a `type` on every node, no titles). This module
converts one into the other; the CRD envelope (names, printer columns, subresources) is declared
beside each kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from herd.runtime.objects import Kind

CONTRACT_LABEL = {"cluster.x-k8s.io/v1beta2": "v1beta2"}
_DROP = frozenset({"title", "$defs", "additionalProperties_false"})


# The scale subresource of a kind that keeps a number of Machines and reports their selector.
REPLICAS_SCALE = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                  "labelSelectorPath": ".status.selector"}


@dataclass(frozen=True)
class CRDSpec:
    """How one kind is served: the CRD envelope around the model's schema."""

    model: type[BaseModel]
    group: str
    kind: str
    plural: str
    singular: str
    version: str = "v1beta2"
    scope: str = "Namespaced"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ("cluster-api",)
    printer_columns: tuple[dict[str, Any], ...] = ()
    status_subresource: bool = True
    scale: dict[str, str] | None = None
    description: str = ""
    labels: dict[str, str] = field(default_factory=lambda: dict(CONTRACT_LABEL))


def kind_of(spec: CRDSpec) -> Kind:
    """The runtime's handle on a kind (REST path, scope, whether status goes through `/status`), from its CRD."""
    return Kind(f"{spec.group}/{spec.version}", spec.kind, spec.plural, namespaced=spec.scope == "Namespaced",
                status_subresource=spec.status_subresource)


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema as a CRD's openAPIV3Schema: refs inlined, optionals unwrapped, titles gone."""
    raw = model.model_json_schema(by_alias=True, mode="serialization")
    defs = raw.get("$defs", {})
    schema: dict[str, Any] = _convert(raw, defs)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": "The versioned schema of this object."}
    properties["kind"] = {"type": "string", "description": "The REST resource this object represents."}
    properties["metadata"] = {"type": "object"}
    schema["type"] = "object"
    return schema


def _convert(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_convert(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs)
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        non_null = [branch for branch in any_of if branch.get("type") != "null"]
        if len(non_null) == 1 and len(non_null) < len(any_of):
            merged = {**non_null[0], **{k: v for k, v in node.items() if k != "anyOf"}}
            if merged.get("default", 0) is None:
                merged.pop("default")
            return _convert(merged, defs)
        if len(non_null) < len(any_of):  # e.g. int | str | None: an optional int-or-string
            node = {**node, "anyOf": non_null}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs":
            continue
        if key == "additionalProperties" and value is True:
            continue  # pydantic's extra="allow"; a CRD prunes unknown fields instead
        if key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _convert(value, defs)
    if out.get("default", 0) is None:
        out.pop("default")
    return out


def generate_crd(spec: CRDSpec) -> dict[str, Any]:
    """The CustomResourceDefinition object for one kind."""
    schema = structural_schema(spec.model)
    if spec.description:
        schema["description"] = spec.description
    version: dict[str, Any] = {
        "name": spec.version, "served": True, "storage": True,
        "schema": {"openAPIV3Schema": schema},
    }
    subresources: dict[str, Any] = {}
    if spec.status_subresource:
        subresources["status"] = {}
    if spec.scale:
        subresources["scale"] = dict(spec.scale)
    if subresources:
        version["subresources"] = subresources
    if spec.printer_columns:
        version["additionalPrinterColumns"] = [dict(c) for c in spec.printer_columns]
    names: dict[str, Any] = {"kind": spec.kind, "listKind": spec.kind + "List", "plural": spec.plural,
                             "singular": spec.singular}
    if spec.short_names:
        names["shortNames"] = list(spec.short_names)
    if spec.categories:
        names["categories"] = list(spec.categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{spec.plural}.{spec.group}", "labels": dict(spec.labels)},
        "spec": {"group": spec.group, "names": names, "scope": spec.scope, "versions": [version]},
    }
