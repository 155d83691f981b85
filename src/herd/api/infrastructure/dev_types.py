"""Parts shared by the Dev provider's kinds: the API endpoint, failure domains, addresses, the
in-memory provisioning settings, deprecated v1beta1 conditions and the group's object envelope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from herd.api import common
from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.common import APIObject, V1Beta1Condition, api_version_field

# Re-exported: the Dev provider reads these two here (every group's conditions come from herd.api.conditions).
from herd.api.conditions import DELETING_REASON as DELETING_REASON
from herd.api.conditions import PAUSED_CONDITION as PAUSED_CONDITION

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


class DevObject(APIObject):
    """The envelope of every Dev provider object: type information and object metadata."""

    api_version: str = api_version_field(API_VERSION)


class APIEndpoint(APIModel):
    """Where a Kubernetes API server can be reached."""

    model_config = NOT_EMPTY

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


# The deprecated status of every Dev kind.
DeprecatedStatus = common.DeprecatedStatus[V1Beta1DeprecatedStatus]


class CommonProvisioningSettings(APIModel):
    """How long a simulated component takes to come up."""

    startup_duration: str = Field(description="How long provisioning takes, as a duration such as 10s or 1m30s.")
    startup_jitter: str | None = Field(default=None, description="Randomness added to startupDuration: a decimal "
                                       "fraction such as \"0.2\"; each start waits an extra random time between zero "
                                       "and this fraction of startupDuration.")
