"""The contract's fields every infrastructure kind carries, as pydantic bases a provider's models extend.

    class ExampleClusterSpec(ClusterSpec):          # controlPlaneEndpoint comes with it
        region: str = Field(description="Where the cluster lives.")

    class ExampleMachineSpec(MachineSpec):          # providerID comes with it
        image: str = Field(default="debian", description="What the machine boots.")

The SDK writes the contract's fields (`spec.controlPlaneEndpoint`, `spec.providerID`, `status.initialization`,
`status.conditions`, `status.addresses`, `status.failureDomains`); a provider writes its own.
"""

from __future__ import annotations

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel
from herd.api.common import Condition, conditions_field
from herd.api.infrastructure.dev_types import APIEndpoint, FailureDomain, MachineAddress, failure_domains_field


class Initialization(APIModel):
    """How far the object's initial provisioning has got, as the infrastructure contract reports it."""

    model_config = NOT_EMPTY

    provisioned: bool | None = Field(default=None, description="True once the infrastructure is fully "
                                     "provisioned; Cluster API waits for it.")


class ClusterSpec(APIModel):
    """The contract's part of an infrastructure cluster's spec."""

    control_plane_endpoint: APIEndpoint | None = Field(
        default=None, description="Where the workload cluster's API server is reached; filled in by the provider "
                                  "when left empty.")


class ClusterStatus(APIModel):
    """The contract's part of an infrastructure cluster's status."""

    conditions: list[Condition] | None = conditions_field(
        "The latest observations of the object's state: Ready, Provisioned, Paused and the provider's own.")
    initialization: Initialization | None = Field(default=None, description="Progress of initial provisioning, "
                                                  "as the Cluster API contract expects it.")
    failure_domains: list[FailureDomain] | None = failure_domains_field(
        "The failure domains machines of this cluster may be placed in.")


class MachineSpec(APIModel):
    """The contract's part of an infrastructure machine's spec."""

    provider_id: str | None = Field(default=None, alias="providerID", min_length=1, max_length=512,
                                    description="The machine's identity at the provider, set once it exists; "
                                                "the Node of the machine carries the same value.")


class MachineStatus(APIModel):
    """The contract's part of an infrastructure machine's status."""

    conditions: list[Condition] | None = conditions_field(
        "The latest observations of the object's state: Ready, Provisioned, Paused and the provider's own.")
    initialization: Initialization | None = Field(default=None, description="Progress of initial provisioning, "
                                                  "as the Cluster API contract expects it.")
    addresses: list[MachineAddress] | None = Field(default=None, max_length=32,
                                                   description="The addresses the machine is reached at.")


# Status keys the SDK writes; a provider's typed status never overwrites them.
CONTRACT_STATUS_KEYS = ("conditions", "initialization", "addresses", "failureDomains", "observedGeneration")

__all__ = ["CONTRACT_STATUS_KEYS", "APIEndpoint", "ClusterSpec", "ClusterStatus", "FailureDomain", "Initialization",
           "MachineAddress", "MachineSpec", "MachineStatus"]
