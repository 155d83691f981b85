"""Building blocks for the kubeadm API models: bounded strings, list fields and integer formats.

Upstream bounds almost every string and list; these aliases and helpers keep those bounds short to
state and identical wherever the same kind of value appears.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from herd.api.base import k8s

# Non-empty strings with an upper bound, as list items or field types.
Str36 = Annotated[str, Field(min_length=1, max_length=36)]
Str128 = Annotated[str, Field(min_length=1, max_length=128)]
Str253 = Annotated[str, Field(min_length=1, max_length=253)]
Str256 = Annotated[str, Field(min_length=1, max_length=256)]
Str512 = Annotated[str, Field(min_length=1, max_length=512)]
Str2048 = Annotated[str, Field(min_length=1, max_length=2048)]
Str10240 = Annotated[str, Field(min_length=1, max_length=10240)]

INT32 = k8s(format="int32")
INT64 = k8s(format="int64")
DATE_TIME = k8s(format="date-time")


def atomic_list(description: str, *, max_items: int, min_items: int | None = 1) -> Any:
    """An optional list replaced as a whole on merge (x-kubernetes-list-type: atomic)."""
    return Field(default=None, description=description, min_length=min_items, max_length=max_items,
                 json_schema_extra=k8s(x_kubernetes_list_type="atomic"))


def extra_args_field(description: str, *, field_name: str = "extraArgs") -> Any:
    """A list of command line arguments: a list-map keyed by name and value, each name at most once."""
    return Field(default=None, description=description, min_length=1, max_length=100, json_schema_extra=k8s(
        x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["name", "value"],
        x_kubernetes_validations=[{"message": f"{field_name} name must be unique",
                                   "rule": "self.all(x, self.exists_one(y, x.name == y.name))"}]))


def int32_field(description: str, *, ge: int | None = None, le: int | None = None) -> Any:
    """An optional 32-bit integer."""
    return Field(default=None, description=description, ge=ge, le=le, json_schema_extra=k8s(format="int32"))
