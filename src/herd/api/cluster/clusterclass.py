"""ClusterClass: the shape of a family of Clusters (templates, worker classes, variables, patches), from which a
Cluster's managed topology is generated."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import PAUSED_COLUMN, age_column, condition_column
from herd.api.common import Condition, V1Beta1Condition, conditions_field, kind_field
from herd.api.crdgen import CRDSpec
from herd.api.fields import Str256, atomic_list, int32_field, list_map, observed_generation_field

from .cluster import ClusterAvailabilityGate
from .clusterclass_types import (
    ClusterClassPatch,
    ClusterClassStatusVariable,
    ClusterClassTemplateReference,
    ClusterClassUpgrade,
    ClusterClassVariable,
    NamingSpec,
)
from .machinedeployment import MachineDeploymentRolloutStrategy
from .shared import (
    GROUP,
    VERSION,
    ClusterAPIObject,
    CoreDeprecatedStatus,
    FailureDomainName,
    MachineDeletionSpec,
    MachineHealthCheckChecks,
    MachineHealthCheckRemediation,
    MachineReadinessGate,
    MachineTaint,
    TemplateMetadata,
    deprecated_field,
    v1beta1_conditions_field,
)
from .topology import MachineDeploymentTopologyHealthCheckRemediation, MachineDeploymentTopologyMachineDeletionSpec

CLUSTER_CLASS_KIND = "ClusterClass"

# --- conditions -----------------------------------------------------------------------------------------------

# VariablesReady: the class's variables (inline and discovered) are known, so Clusters using it can be checked.
VARIABLES_READY = "VariablesReady"
VARIABLES_READY_REASON = "VariablesReady"
VARIABLES_READY_VARIABLE_DISCOVERY_FAILED_REASON = "VariableDiscoveryFailed"

# RefVersionsUpToDate: every template reference uses the apiVersion its CRD serves for the current contract.
REF_VERSIONS_UP_TO_DATE = "RefVersionsUpToDate"
REF_VERSIONS_UP_TO_DATE_REASON = "RefVersionsUpToDate"
REF_VERSIONS_NOT_UP_TO_DATE_REASON = "RefVersionsNotUpToDate"
REF_VERSIONS_UP_TO_DATE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# status.variables[].definitions[].from for the variables written in spec.variables.
VARIABLE_DEFINITION_FROM_INLINE = "inline"


# --- templates of the class ---------------------------------------------------------------------------------------


class TemplateRefHolder(APIModel):
    """A template of the class."""

    template_ref: ClusterClassTemplateReference = Field(description="The template.")


class InfrastructureClass(TemplateRefHolder):
    """The infrastructure cluster object of Clusters using the class."""

    naming: NamingSpec | None = Field(default=None, description="How the infrastructure clusters are named.")


class ControlPlaneClassHealthCheck(APIModel):
    """Health checking of the control plane Machines of Clusters using the class."""

    model_config = NOT_EMPTY

    checks: MachineHealthCheckChecks | None = Field(default=None, description="The tests that decide whether a "
                                                    "Machine is healthy.")
    remediation: MachineHealthCheckRemediation | None = Field(default=None, description="Whether and how unhealthy "
                                                              "Machines are remediated.")


class ControlPlaneClass(TemplateRefHolder):
    """The control plane of Clusters using the class."""

    metadata: TemplateMetadata | None = Field(default=None, description="Labels and annotations for the control "
                                              "plane object and, when machine based, its Machines.")
    machine_infrastructure: TemplateRefHolder | None = Field(
        default=None, description="The infrastructure template of the control plane Machines, for control plane "
        "providers that run Machines.")
    health_check: ControlPlaneClassHealthCheck | None = Field(default=None, description="Health checking of the "
                                                              "control plane Machines.")
    naming: NamingSpec | None = Field(default=None, description="How the control plane objects are named.")
    deletion: MachineDeletionSpec | None = Field(default=None, description="Settings for deleting control plane "
                                                 "Machines.")
    readiness_gates: list[MachineReadinessGate] | None = list_map(
        "Further conditions the control plane Machines' Ready condition includes.", "conditionType", max_items=32)
    taints: list[MachineTaint] | None = list_map(
        "Taints Cluster API manages on the control plane Nodes.", "key", "effect", max_items=64)


class MachineDeploymentClassHealthCheck(ControlPlaneClassHealthCheck):
    """Health checking of the Machines of a MachineDeployment class."""

    remediation: MachineDeploymentTopologyHealthCheckRemediation | None = Field(
        default=None, description="Whether and how unhealthy Machines are remediated.")


class MachineDeploymentClassRollout(APIModel):
    """Settings for replacing a MachineDeployment's Machines."""

    model_config = NOT_EMPTY

    strategy: MachineDeploymentRolloutStrategy | None = Field(default=None, description="How old Machines are "
                                                              "replaced with new ones.")


class WorkerClassBase(APIModel):
    """What every worker class has: a name, its templates, metadata and machine settings."""

    class_: str = Field(alias="class", min_length=1, max_length=256, description="The name of the class, unique "
                        "in its list; topologies refer to it.")
    metadata: TemplateMetadata | None = Field(default=None, description="Labels and annotations for the objects "
                                              "made from the class.")
    bootstrap: TemplateRefHolder = Field(description="The bootstrap config template.")
    infrastructure: TemplateRefHolder = Field(description="The infrastructure machine template.")
    naming: NamingSpec | None = Field(default=None, description="How the objects made from the class are named.")
    min_ready_seconds: int | None = int32_field(
        "How many seconds a new machine must have been Ready before it counts as Available; defaults to 0.", ge=0)
    taints: list[MachineTaint] | None = list_map("Taints Cluster API manages on the Nodes.", "key", "effect",
                                                 max_items=64)


class MachineDeploymentClass(WorkerClassBase):
    """A kind of worker MachineDeployment Clusters using the class may have."""

    health_check: MachineDeploymentClassHealthCheck | None = Field(default=None, description="Health checking of "
                                                                   "the Machines.")
    failure_domain: str | None = Field(default=None, min_length=1, max_length=256,
                                       description="The failure domain to create the Machines in.")
    deletion: MachineDeploymentTopologyMachineDeletionSpec | None = Field(default=None, description="Settings for "
                                                                          "deleting the Machines.")
    readiness_gates: list[MachineReadinessGate] | None = list_map(
        "Further conditions the Machines' Ready condition includes.", "conditionType", max_items=32)
    rollout: MachineDeploymentClassRollout | None = Field(default=None, description="Settings for replacing "
                                                          "Machines.")


class MachinePoolClass(WorkerClassBase):
    """A kind of worker MachinePool Clusters using the class may have."""

    failure_domains: list[FailureDomainName] | None = atomic_list(
        "The failure domains the pool's machines may be created in.", max_items=100)
    deletion: MachineDeletionSpec | None = Field(default=None, description="Settings for deleting the pool's "
                                                 "machines.")


class WorkersClass(APIModel):
    """The worker classes of the ClusterClass."""

    model_config = NOT_EMPTY

    machine_deployments: list[MachineDeploymentClass] | None = list_map(
        "The MachineDeployment classes.", "class", max_items=100)
    machine_pools: list[MachinePoolClass] | None = list_map("The MachinePool classes.", "class", max_items=100)


# --- spec and status ------------------------------------------------------------------------------------------


class ClusterClassSpec(APIModel):
    """The desired state of a ClusterClass."""

    availability_gates: list[ClusterAvailabilityGate] | None = list_map(
        "Further conditions the Available condition of Clusters using the class includes.", "conditionType",
        max_items=32)
    infrastructure: InfrastructureClass = Field(description="The infrastructure cluster template.")
    control_plane: ControlPlaneClass = Field(description="The control plane template.")
    workers: WorkersClass | None = Field(default=None, description="The worker classes.")
    variables: list[ClusterClassVariable] | None = atomic_list(
        "The variables Clusters using the class may or must set, with their schemas.", min_items=1, max_items=1000)
    patches: list[ClusterClassPatch] | None = atomic_list(
        "Changes to the objects made from the templates, driven by variables; applied in order.", min_items=1,
        max_items=1000)
    kubernetes_versions: list[Str256] | None = atomic_list(
        "The Kubernetes versions Clusters using the class may run, in order, for upgrade plans.", min_items=1,
        max_items=100)
    upgrade: ClusterClassUpgrade | None = Field(default=None, description="How Clusters using the class are "
                                                "upgraded.")


class ClusterClassV1Beta1DeprecatedStatus(APIModel):
    """ClusterClass status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("ClusterClass")


class ClusterClassStatus(APIModel):
    """The observed state of a ClusterClass."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The ClusterClass's conditions: VariablesReady, RefVersionsUpToDate and Paused.")
    variables: list[ClusterClassStatusVariable] | None = atomic_list(
        "Every variable of the class with its definitions; Clusters are checked against these.", max_items=1000)
    observed_generation: int | None = observed_generation_field()
    deprecated: CoreDeprecatedStatus[ClusterClassV1Beta1DeprecatedStatus] | None = deprecated_field()


class ClusterClass(ClusterAPIObject):
    """The shape of a family of Clusters."""

    kind: str = kind_field(CLUSTER_CLASS_KIND)
    spec: ClusterClassSpec = Field(description="The desired state of the ClusterClass.")
    status: ClusterClassStatus = Field(default_factory=ClusterClassStatus,
                                       description="The observed state of the ClusterClass.")


def worker_classes(spec: dict[str, Any], kind: str = "machineDeployments") -> list[dict[str, Any]]:
    """The worker classes of one kind (machineDeployments or machinePools) in a ClusterClass spec read as a dict."""
    workers = spec.get("workers") or {}
    classes = workers.get(kind) if isinstance(workers, dict) else None
    return [c for c in classes or () if isinstance(c, dict)]


CLUSTER_CLASS_CRD = CRDSpec(
    model=ClusterClass, group=GROUP, version=VERSION, kind=CLUSTER_CLASS_KIND, plural="clusterclasses",
    singular="clusterclass", short_names=("cc",),
    description="A ClusterClass describes a family of Clusters: the templates of their infrastructure, control "
                "plane and worker classes, the variables each Cluster may set and the patches that apply them. A "
                "Cluster with spec.topology names a ClusterClass and gets all its objects generated from it.",
    printer_columns=(
        PAUSED_COLUMN,
        condition_column("Variables Ready", VARIABLES_READY, "Whether the class's variables are ready for use."),
        age_column("ClusterClass"),
    ),
)
