"""What the kubeadm bootstrap and control plane kinds share: the object envelope, the deprecated
v1beta1 condition format and the condition names every Cluster API kind uses."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from herd.api.base import APIModel

# Condition types and reasons shared by every Cluster API kind; the per-kind constants refer to these.
READY_CONDITION = "Ready"
AVAILABLE_CONDITION = "Available"
PAUSED_CONDITION = "Paused"
DELETING_CONDITION = "Deleting"
PAUSED_REASON = "Paused"
NOT_PAUSED_REASON = "NotPaused"
READY_REASON = "Ready"
NOT_READY_REASON = "NotReady"
READY_UNKNOWN_REASON = "ReadyUnknown"
AVAILABLE_REASON = "Available"
NOT_AVAILABLE_REASON = "NotAvailable"
INTERNAL_ERROR_REASON = "InternalError"
INSPECTION_FAILED_REASON = "InspectionFailed"
CONNECTION_DOWN_REASON = "ConnectionDown"


def api_version_field(api_version: str) -> Any:
    """The apiVersion field of a kind, defaulting to its group/version."""
    return Field(default=api_version, description="The versioned schema of this object.")


def kind_field(kind: str) -> Any:
    """The kind field of a kind, defaulting to its name."""
    return Field(default=kind, description="The REST resource this object represents.")


def metadata_field() -> Any:
    """The standard object metadata, kept as wire data."""
    return Field(default_factory=dict, description="The object's name, namespace, labels, annotations, owner "
                 "references and the other standard object metadata.")


class APIObject(APIModel):
    """A top-level object: type information, standard metadata and helpers to read the usual parts of it."""

    api_version: str = api_version_field("")
    kind: str = kind_field("")
    metadata: dict[str, Any] = metadata_field()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Parse wire data (as the API server returns it)."""
        return cls.model_validate(data)

    @property
    def name(self) -> str:
        """metadata.name, or "" when unset."""
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        """metadata.namespace, or "" when unset."""
        return str(self.metadata.get("namespace", ""))

    @property
    def labels(self) -> dict[str, str]:
        """metadata.labels (a copy), empty when unset."""
        return dict(self.metadata.get("labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        """metadata.annotations (a copy), empty when unset."""
        return dict(self.metadata.get("annotations") or {})


