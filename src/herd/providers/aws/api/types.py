"""Parts shared by the AWS provider's kinds (CAPA's v1beta2 field names): tags and resource references."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel

GROUP = "infrastructure.cluster.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"

# The roles a security group plays for a cluster (CAPA's SecurityGroupRole values that herd builds).
SecurityGroupRole = Literal["bastion", "controlplane", "apiserver-lb", "lb", "node"]


def tags_field(description: str) -> Any:
    """A free-form map of AWS tags."""
    return Field(default=None, description=description)


class Filter(APIModel):
    """An EC2 describe filter: a resource field and the values it may take."""

    name: str = Field(description="The filter's name, e.g. tag:Name or vpc-id.")
    values: list[str] = Field(description="The values to match; any of them matches.")


class AWSResourceReference(APIModel):
    """An AWS resource named by its ID or found by filters."""

    model_config = NOT_EMPTY

    id: str | None = Field(default=None, description="The resource's ID, e.g. sg-0123.")
    filters: list[Filter] | None = Field(default=None, description="Filters that select the resource when no ID "
                                         "is given.")
