"""The managed topology of a Cluster: a ClusterClass plus the few values each Cluster sets (spec.topology)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.common import DNS_SUBDOMAIN
from herd.api.fields import atomic_list, int32_field, int_or_string, list_map, timestamp

from .machinedeployment import MachineDeploymentRolloutStrategy
from .shared import (
    DNS_LABEL,
    FailureDomainName,
    IntOrString,
    MachineDeletionSpec,
    MachineHealthCheckChecks,
    MachineHealthCheckRemediation,
    MachineReadinessGate,
    MachineSetDeletionOrder,
    MachineTaint,
    TemplateMetadata,
)


class ClusterClassRef(APIModel):
    """The ClusterClass a topology is built from."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="The name of the "
                      "ClusterClass.")
    namespace: str | None = Field(default=None, min_length=1, max_length=63, pattern=DNS_LABEL,
                                  description="The namespace of the ClusterClass; defaults to the Cluster's own.")


class ClusterVariable(APIModel):
    """A value for one of the variables a ClusterClass declares, used by its patches."""

    name: str = Field(min_length=1, max_length=256, description="The name of the variable.")
    value: Any = Field(description="The value: any JSON, checked against the variable's schema in the ClusterClass.",
                       json_schema_extra=k8s(x_kubernetes_preserve_unknown_fields=True))


class ControlPlaneVariables(APIModel):
    """Variable values for the control plane only."""

    model_config = NOT_EMPTY

    overrides: list[ClusterVariable] | None = list_map(
        "Values that replace, for this part of the topology, the Cluster-level values of the same variables.", "name",
        max_items=1000)


# The same values for one worker set; each class only says whose they are.
class MachineDeploymentVariables(ControlPlaneVariables):
    """Variable values for one MachineDeployment only."""


class MachinePoolVariables(ControlPlaneVariables):
    """Variable values for one MachinePool only."""


def _remediation_field() -> Any:
    return Field(default=None, description="Remediation settings replacing the ClusterClass's; setting checks or "
                 "remediation replaces both.")


class ControlPlaneTopologyHealthCheck(APIModel):
    """Whether to health check the control plane Machines, and any settings that override the ClusterClass's."""

    model_config = NOT_EMPTY

    enabled: bool | None = Field(
        default=None, description="false: no MachineHealthCheck is created. Unset: one is created if checks are "
        "defined here or in the ClusterClass. true: one is always created, and the Cluster is refused if no checks "
        "are defined anywhere.")
    checks: MachineHealthCheckChecks | None = Field(
        default=None, description="Health checks replacing the ClusterClass's; setting checks or remediation "
        "replaces both.")
    remediation: MachineHealthCheckRemediation | None = _remediation_field()


class ControlPlaneTopologyRolloutSpec(APIModel):
    """Settings for replacing control plane Machines."""

    model_config = NOT_EMPTY

    after: str | None = timestamp("Replace all control plane Machines created before this time, even without a "
                                  "spec change.")


class ControlPlaneTopology(APIModel):
    """The control plane of a Cluster with a topology."""

    model_config = NOT_EMPTY

    metadata: TemplateMetadata | None = Field(
        default=None, description="Labels and annotations for the control plane object and, when the control plane "
        "is machine based, its Machines; merged with the ClusterClass's.")
    replicas: int | None = int32_field(
        "How many control plane Machines to run; unset leaves the count to the control plane provider.")
    rollout: ControlPlaneTopologyRolloutSpec | None = Field(default=None, description="Settings for replacing "
                                                            "control plane Machines.")
    health_check: ControlPlaneTopologyHealthCheck | None = Field(
        default=None, description="Health checking of the control plane Machines, overriding the ClusterClass.")
    deletion: MachineDeletionSpec | None = Field(default=None, description="Settings for deleting control plane "
                                                 "Machines.")
    readiness_gates: list[MachineReadinessGate] | None = list_map(
        "Further conditions the control plane Machines' Ready condition includes; unset means the ClusterClass's. "
        "Control plane providers may add their own.", "conditionType", max_items=32)
    taints: list[MachineTaint] | None = list_map(
        "Taints Cluster API manages on the control plane Nodes.", "key", "effect", max_items=64)
    variables: ControlPlaneVariables | None = Field(default=None, description="Variable values for the control "
                                                    "plane only.")


class MachineDeploymentTopologyHealthCheckRemediation(MachineHealthCheckRemediation):
    """Whether and how unhealthy Machines of a MachineDeployment are remediated."""

    max_in_flight: IntOrString | None = int_or_string(
        "How many remediations may run at once: a number or a percentage of the desired Machines; unset means no "
        "limit beyond the number of replicas.")


class MachineDeploymentTopologyHealthCheck(ControlPlaneTopologyHealthCheck):
    """Whether to health check a MachineDeployment's Machines, and any settings that override the ClusterClass's."""

    remediation: MachineDeploymentTopologyHealthCheckRemediation | None = _remediation_field()


class MachineDeploymentTopologyMachineDeletionSpec(MachineDeletionSpec):
    """Settings for deleting a MachineDeployment's Machines."""

    order: MachineSetDeletionOrder | None = Field(
        default=None, description="Which Machines go first when scaling down: Random (the default), Newest or "
        "Oldest.")


class MachineDeploymentTopologyRolloutSpec(APIModel):
    """Settings for replacing a MachineDeployment's Machines."""

    model_config = NOT_EMPTY

    after: str | None = timestamp("Replace all Machines created before this time, even without a spec change.")
    strategy: MachineDeploymentRolloutStrategy | None = Field(default=None, description="How old Machines are "
                                                              "replaced with new ones.")


class MachineDeploymentTopology(APIModel):
    """One set of worker Machines in a topology, run as a MachineDeployment the Cluster controller manages."""

    class_: str = Field(alias="class", min_length=1, max_length=256, description="The name of the "
                        "MachineDeploymentClass in the ClusterClass to build the MachineDeployment from.")
    name: str = Field(min_length=1, max_length=63, pattern=DNS_SUBDOMAIN,
                      description="A name for this entry, unique in the list; it goes into the MachineDeployment's "
                      "name (hashed when too long).")
    metadata: TemplateMetadata | None = Field(default=None, description="Labels and annotations for the "
                                              "MachineDeployment and its Machines; merged with the ClusterClass's.")
    failure_domain: str | None = Field(default=None, min_length=1, max_length=256,
                                       description="The failure domain to create the Machines in.")
    replicas: int | None = int32_field(
        "How many Machines to run; unset creates the MachineDeployment without a count (so it defaults to 1) and "
        "leaves it to something else, e.g. the cluster autoscaler.")
    health_check: MachineDeploymentTopologyHealthCheck | None = Field(
        default=None, description="Health checking of the Machines, overriding the ClusterClass.")
    deletion: MachineDeploymentTopologyMachineDeletionSpec | None = Field(default=None, description="Settings for "
                                                                          "deleting the Machines.")
    min_ready_seconds: int | None = int32_field(
        "How many seconds a new Machine must have been Ready before it counts as Available; defaults to 0.", ge=0)
    readiness_gates: list[MachineReadinessGate] | None = list_map(
        "Further conditions the Machines' Ready condition includes; unset means the MachineDeploymentClass's.",
        "conditionType", max_items=32)
    rollout: MachineDeploymentTopologyRolloutSpec | None = Field(default=None, description="Settings for replacing "
                                                                 "Machines.")
    taints: list[MachineTaint] | None = list_map(
        "Taints Cluster API manages on the Machines' Nodes.", "key", "effect", max_items=64)
    variables: MachineDeploymentVariables | None = Field(default=None, description="Variable values for this "
                                                         "MachineDeployment only.")


class MachinePoolTopology(APIModel):
    """One pool of worker nodes in a topology, run as a MachinePool the Cluster controller manages."""

    class_: str = Field(alias="class", min_length=1, max_length=256, description="The name of the MachinePoolClass "
                        "in the ClusterClass to build the MachinePool from.")
    name: str = Field(min_length=1, max_length=63, pattern=DNS_SUBDOMAIN,
                      description="A name for this entry, unique in the list; it goes into the MachinePool's name "
                      "(hashed when too long).")
    metadata: TemplateMetadata | None = Field(default=None, description="Labels and annotations for the MachinePool; "
                                              "merged with the ClusterClass's.")
    failure_domains: list[FailureDomainName] | None = atomic_list(
        "The failure domains the pool's machines may be created in.", min_items=1, max_items=100)
    deletion: MachineDeletionSpec | None = Field(default=None, description="Settings for deleting the pool's "
                                                 "machines.")
    min_ready_seconds: int | None = int32_field(
        "How many seconds a new machine must have been ready before it counts as available; defaults to 0.", ge=0)
    replicas: int | None = int32_field(
        "How many nodes the pool runs; unset creates the MachinePool without a count (so it defaults to 1) and "
        "leaves it to something else, e.g. the cluster autoscaler.")
    taints: list[MachineTaint] | None = list_map(
        "Taints Cluster API manages on the pool's Nodes.", "key", "effect", max_items=64)
    variables: MachinePoolVariables | None = Field(default=None, description="Variable values for this MachinePool "
                                                   "only.")


class WorkersTopology(APIModel):
    """The worker Machines of a Cluster with a topology."""

    model_config = NOT_EMPTY

    machine_deployments: list[MachineDeploymentTopology] | None = list_map(
        "The MachineDeployments of the cluster.", "name", max_items=2000)
    machine_pools: list[MachinePoolTopology] | None = list_map(
        "The MachinePools of the cluster.", "name", max_items=2000)


class Topology(APIModel):
    """A Cluster described by a ClusterClass plus a few values, from which its objects are generated and kept
    up to date."""

    class_ref: ClusterClassRef = Field(description="The ClusterClass to build the cluster from.")
    version: str = Field(min_length=1, max_length=256, description="The Kubernetes version of the cluster; changing "
                         "it upgrades the control plane and then the workers.")
    control_plane: ControlPlaneTopology | None = Field(default=None, description="The control plane.")
    workers: WorkersTopology | None = Field(default=None, description="The worker Machines.")
    variables: list[ClusterVariable] | None = list_map(
        "Values for the variables the ClusterClass declares, used by its patches.", "name", max_items=1000)
