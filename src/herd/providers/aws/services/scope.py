"""What every service call needs: the clients, the cluster's name and the tags the user adds to everything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import tags as tagging
from .clients import AWSClients


@dataclass(frozen=True)
class AWSScope:
    """One cluster's view of AWS."""

    clients: AWSClients
    cluster: str
    additional_tags: Mapping[str, str] = field(default_factory=dict)

    def tags(self, role: str, name: str | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The tags of a resource the provider creates for this cluster."""
        return tagging.build(self.cluster, role, name, {**self.additional_tags, **(extra or {})})

    def filters(self, role: str | None = None, name: str | None = None, **extra: list[str]) -> list[dict[str, Any]]:
        """EC2 filters for this cluster's owned resources."""
        return tagging.filters(self.cluster, role, name, **extra)

    def owns(self, aws_tags: list[dict[str, str]] | None) -> bool:
        """Whether a resource with these AWS tags was made by the provider for this cluster."""
        return tagging.is_owned(tagging.as_dict(aws_tags), self.cluster)
