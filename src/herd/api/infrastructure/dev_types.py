"""Parts shared by the Dev provider's kinds: the API endpoint, failure domains, addresses, the
in-memory provisioning settings, deprecated v1beta1 conditions and the object envelope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from herd.api.base import APIModel, k8s
from herd.api.common import V1Beta1Condition

GROUP = "infrastructure.cluster.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"

QUANTITY_PATTERN = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")

# A resource.Quantity on the wire: a number or a string such as "4Gi" or "500m".
Quantity = Annotated[int | str, WithJsonSchema({
    "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": QUANTITY_PATTERN,
    "x-kubernetes-int-or-string": True,
})]

MachineAddressType = Literal["Hostname", "ExternalIP", "InternalIP", "ExternalDNS", "InternalDNS"]

# Condition types and reasons every Cluster API object uses; the per-kind constants refer to these.
READY_CONDITION = "Ready"
PAUSED_CONDITION = "Paused"
DELETING_CONDITION = "Deleting"
READY_REASON = "Ready"
NOT_READY_REASON = "NotReady"
READY_UNKNOWN_REASON = "ReadyUnknown"
AVAILABLE_REASON = "Available"
NOT_AVAILABLE_REASON = "NotAvailable"
PROVISIONED_REASON = "Provisioned"
NOT_PROVISIONED_REASON = "NotProvisioned"
DELETING_REASON = "Deleting"
INTERNAL_ERROR_REASON = "InternalError"
WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON = "WaitingForClusterInfrastructureReady"
WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON = "WaitingForControlPlaneInitialized"
WAITING_FOR_BOOTSTRAP_DATA_REASON = "WaitingForBootstrapData"


class DevObject(APIModel):
    """The envelope of every Dev provider object: type information and object metadata."""

    api_version: str = Field(default=API_VERSION, description="The versioned schema of this object.")
    kind: str = Field(default="", description="The REST resource this object represents.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="The object's name, namespace, labels, "
                                     "annotations, owner references and the other standard object metadata.")

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


class APIEndpoint(APIModel):
    """Where a Kubernetes API server can be reached."""

    model_config = ConfigDict(json_schema_extra=k8s(minProperties=1))

    host: str | None = Field(default=None, min_length=1, max_length=512,
                             description="The host name or IP address the API server answers on.")
    port: int | None = Field(default=None, ge=1, le=65535, json_schema_extra=k8s(format="int32"),
                             description="The TCP port the API server answers on.")


class FailureDomain(APIModel):
    """A failure domain machines can be spread over."""

    name: str = Field(min_length=1, max_length=256, description="The failure domain's identifier, unique in its "
                      "list.")
    control_plane: bool | None = Field(default=None, description="Whether control plane machines may be placed "
                                       "in this failure domain.")
    attributes: dict[str, str] | None = Field(default=None, description="Free-form key/value information about "
                                              "the failure domain, for the provider's own use.")


def failure_domains_field(description: str) -> Any:
    """A `failureDomains` list field: a list-map keyed by name, 1 to 100 entries."""
    return Field(default=None, description=description, min_length=1, max_length=100,
                 json_schema_extra=k8s(x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["name"]))


class MachineAddress(APIModel):
    """One address through which a machine can be reached."""

    type: MachineAddressType = Field(description="What kind of address this is: Hostname, ExternalIP, InternalIP, "
                                     "ExternalDNS or InternalDNS.")
    address: str = Field(min_length=1, max_length=256, description="The address itself, e.g. an IP address or a "
                         "DNS name.")



class V1Beta1DeprecatedStatus(APIModel):
    """Status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = Field(
        default=None, description="The object's conditions in the v1beta1 format; superseded by status.conditions.")


class DeprecatedStatus(APIModel):
    """Status fields kept only for older API versions; they go away when v1beta1 is no longer served."""

    v1beta1: V1Beta1DeprecatedStatus | None = Field(
        default=None, alias="v1beta1", description="Status fields as the v1beta1 API reported them.")


class CommonProvisioningSettings(APIModel):
    """How long a simulated component takes to come up."""

    startup_duration: str = Field(description="How long provisioning takes, as a duration such as 10s or 1m30s.")
    startup_jitter: str | None = Field(default=None, description="Randomness added to startupDuration: a decimal "
                                       "fraction such as \"0.2\"; each start waits an extra random time between zero "
                                       "and this fraction of startupDuration.")


# Printer columns shared by the kinds.
CLUSTER_NAME_COLUMN = {"name": "Cluster", "type": "string", "description": "The Cluster this object belongs to.",
                       "jsonPath": ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"}


def age_column(kind: str) -> dict[str, str]:
    """The Age printer column."""
    return {"name": "Age", "type": "date", "description": f"How long ago the {kind} was created.",
            "jsonPath": ".metadata.creationTimestamp"}
