"""The base of every Cluster API model: camelCase on the wire, unknown fields kept, CRD hints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class APIModel(BaseModel):
    """A Kubernetes API object or a part of one.

    Field names are snake_case in Python and camelCase on the wire. Unknown fields are kept, so
    reading and writing back an object made by a newer client loses nothing.
    """

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="allow",
                              validate_assignment=False, protected_namespaces=())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Parse wire data (as the API server returns it)."""
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """Wire data: camelCase keys, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def k8s(**extensions: Any) -> dict[str, Any]:
    """`json_schema_extra` for a Field: OpenAPI keywords and `x-kubernetes-*` extensions passed through to
    the generated CRD schema, e.g. `Field(json_schema_extra=k8s(x_kubernetes_int_or_string=True))`.

    Underscores in keyword names become dashes for `x_kubernetes_*` names.
    """
    out: dict[str, Any] = {}
    for key, value in extensions.items():
        out[key.replace("_", "-") if key.startswith("x_") else key] = value
    return out


def non_empty(**extra: Any) -> ConfigDict:
    """model_config for a struct that, when present, must set at least one field (minProperties 1)."""
    return ConfigDict(json_schema_extra=k8s(minProperties=1, **extra))


NOT_EMPTY = non_empty()
"""model_config for a struct that, when present, must set at least one field."""
