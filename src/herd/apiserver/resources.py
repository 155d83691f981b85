"""What the server knows about each resource it serves: names, scope, schema, subresources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScaleSubresource:
    """JSON paths (`.spec.replicas` style) a CRD's scale subresource reads and writes."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served group/version/resource.

    `schema` is the OpenAPI v3 schema of the whole object (for CRDs, the version's
    `openAPIV3Schema`); None means "accept anything" (built-ins validate in code).
    `storage_prefix` is shared by every version of one resource, so versions see the same objects.
    """

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )
    schema: dict[str, Any] | None = None
    status_subresource: bool = False
    scale: ScaleSubresource | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    builtin: bool = True
    storage_version: str = ""
    extra_subresources: tuple[str, ...] = ()
    preserve_unknown_fields: bool = False
    field_selectors: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        """The discovery path piece: `v1` for the core group, `g/v` otherwise."""
        return self.api_version

    @property
    def storage_prefix(self) -> str:
        return f"/registry/{self.group or 'core'}/{self.plural}/"

    def key(self, namespace: str, name: str) -> str:
        """Storage key; cluster-scoped objects use an empty namespace segment."""
        return f"{self.storage_prefix}{namespace if self.namespaced else ''}/{name}"

    def list_prefix(self, namespace: str) -> str:
        if self.namespaced and namespace:
            return f"{self.storage_prefix}{namespace}/"
        return self.storage_prefix

    @property
    def subresources(self) -> list[str]:
        out = []
        if self.status_subresource:
            out.append("status")
        if self.scale is not None:
            out.append("scale")
        out.extend(self.extra_subresources)
        return out

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural
