"""Field helpers every group's models share: bounded strings, integer and time formats, list semantics.

Upstream bounds almost every string and list; these aliases and helpers keep those bounds short to state and
identical wherever the same kind of value appears.
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


def int32_field(description: str, *, ge: int | None = None, le: int | None = None) -> Any:
    """An optional 32-bit integer."""
    return Field(default=None, description=description, ge=ge, le=le, json_schema_extra=k8s(format="int32"))


def timestamp(description: str) -> Any:
    """An optional RFC 3339 timestamp field (metav1.Time), kept as the string the server sent."""
    return Field(default=None, description=description, json_schema_extra=k8s(format="date-time"))


def observed_generation_field(description: str = "The metadata.generation the controller last acted on.") -> Any:
    """A status.observedGeneration field: int64, at least 1."""
    return Field(default=None, ge=1, description=description, json_schema_extra=k8s(format="int64"))


def int_or_string(description: str) -> Any:
    """An optional int-or-string field: an absolute number or a percentage such as "20%"."""
    return Field(default=None, description=description, json_schema_extra=k8s(x_kubernetes_int_or_string=True))


def list_map(description: str, *keys: str, min_items: int | None = 1, max_items: int | None = None) -> Any:
    """An optional list whose entries are merged by the given key fields (x-kubernetes-list-type map)."""
    return Field(default=None, min_length=min_items, max_length=max_items, description=description,
                 json_schema_extra=k8s(x_kubernetes_list_type="map", x_kubernetes_list_map_keys=list(keys)))


def atomic_list(description: str, *, min_items: int | None = None, max_items: int | None = None) -> Any:
    """An optional list replaced as a whole on merge (x-kubernetes-list-type atomic)."""
    return Field(default=None, min_length=min_items, max_length=max_items, description=description,
                 json_schema_extra=k8s(x_kubernetes_list_type="atomic"))


def extra_args_field(description: str, *, field_name: str = "extraArgs") -> Any:
    """A list of command line arguments: a list-map keyed by name and value, each name at most once."""
    return Field(default=None, description=description, min_length=1, max_length=100, json_schema_extra=k8s(
        x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["name", "value"],
        x_kubernetes_validations=[{"message": f"{field_name} name must be unique",
                                   "rule": "self.all(x, self.exists_one(y, x.name == y.name))"}]))
