"""MachineDeployment: declarative, rolling updates of Machines through MachineSets, like a Deployment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import (
    CLUSTER_NAME_COLUMN,
    MACHINE_COUNT_COLUMNS,
    PAUSED_COLUMN,
    age_column,
    column,
    condition_column,
)
from herd.api.common import Condition, V1Beta1Condition, conditions_field, kind_field
from herd.api.crdgen import REPLICAS_SCALE, CRDSpec
from herd.api.fields import int32_field, int_or_string, list_map, observed_generation_field, timestamp

from .shared import (
    GROUP,
    VERSION,
    ClusterAPIObject,
    CoreDeprecatedStatus,
    IntOrString,
    LabelSelector,
    MachineNamingSpec,
    MachineSetDeletionSpec,
    MachineTemplateSpec,
    RolloutStrategyType,
    VersionReplicas,
    deprecated_field,
    v1beta1_conditions_field,
)

# --- conditions -----------------------------------------------------------------------------------------------

# Available: enough Machines are available for the rollout strategy (desired - maxUnavailable).
AVAILABLE = conditions.AVAILABLE_CONDITION
AVAILABLE_WAITING_FOR_REPLICAS_SET_REASON = conditions.WAITING_FOR_REPLICAS_SET_REASON
AVAILABLE_WAITING_FOR_AVAILABLE_REPLICAS_SET_REASON = "WaitingForAvailableReplicasSet"
AVAILABLE_REASON = conditions.AVAILABLE_REASON
NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON
AVAILABLE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# MachinesReady: summary of the Machines' Ready conditions.
MACHINES_READY = conditions.MACHINES_READY_CONDITION
MACHINES_READY_REASON = conditions.READY_REASON
MACHINES_NOT_READY_REASON = conditions.NOT_READY_REASON
MACHINES_READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON
MACHINES_READY_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
MACHINES_READY_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# MachinesUpToDate: summary of the Machines' UpToDate conditions.
MACHINES_UP_TO_DATE = conditions.MACHINES_UP_TO_DATE_CONDITION
MACHINES_UP_TO_DATE_REASON = conditions.UP_TO_DATE_REASON
MACHINES_NOT_UP_TO_DATE_REASON = conditions.NOT_UP_TO_DATE_REASON
MACHINES_UP_TO_DATE_UNKNOWN_REASON = conditions.UP_TO_DATE_UNKNOWN_REASON
MACHINES_UP_TO_DATE_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# RollingOut: at least one Machine is not up to date.
ROLLING_OUT = conditions.ROLLING_OUT_CONDITION
ROLLING_OUT_REASON = conditions.ROLLING_OUT_REASON
NOT_ROLLING_OUT_REASON = conditions.NOT_ROLLING_OUT_REASON
ROLLING_OUT_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

SCALING_UP = conditions.SCALING_UP_CONDITION
SCALING_UP_REASON = conditions.SCALING_UP_REASON
NOT_SCALING_UP_REASON = conditions.NOT_SCALING_UP_REASON
SCALING_UP_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_UP_WAITING_FOR_REPLICAS_SET_REASON = conditions.WAITING_FOR_REPLICAS_SET_REASON

SCALING_DOWN = conditions.SCALING_DOWN_CONDITION
SCALING_DOWN_REASON = conditions.SCALING_DOWN_REASON
NOT_SCALING_DOWN_REASON = conditions.NOT_SCALING_DOWN_REASON
SCALING_DOWN_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_DOWN_WAITING_FOR_REPLICAS_SET_REASON = conditions.WAITING_FOR_REPLICAS_SET_REASON

REMEDIATING = conditions.REMEDIATING_CONDITION
REMEDIATING_REASON = conditions.REMEDIATING_REASON
NOT_REMEDIATING_REASON = conditions.NOT_REMEDIATING_REASON
REMEDIATING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

DELETING = conditions.DELETING_CONDITION
NOT_DELETING_REASON = conditions.NOT_DELETING_REASON
DELETING_REASON = conditions.DELETING_REASON
DELETING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# --- phases ---------------------------------------------------------------------------------------------------

MachineDeploymentPhase = Literal["ScalingUp", "ScalingDown", "Running", "Failed", "Unknown"]
PHASE_SCALING_UP: MachineDeploymentPhase = "ScalingUp"
PHASE_SCALING_DOWN: MachineDeploymentPhase = "ScalingDown"
PHASE_RUNNING: MachineDeploymentPhase = "Running"
PHASE_FAILED: MachineDeploymentPhase = "Failed"  # no longer set; kept for objects converted from v1beta1
PHASE_UNKNOWN: MachineDeploymentPhase = "Unknown"

# Rolling update defaults when spec.rollout.strategy.rollingUpdate leaves them out.
DEFAULT_MAX_SURGE = 1
DEFAULT_MAX_UNAVAILABLE = 0


# --- spec -----------------------------------------------------------------------------------------------------


class MachineDeploymentRolloutStrategyRollingUpdate(APIModel):
    """How fast a rolling update replaces Machines."""

    model_config = NOT_EMPTY

    max_unavailable: IntOrString | None = int_or_string(
        "How many Machines may be unavailable during the update: a number (5) or a percentage of the desired "
        "Machines (\"10%\", rounded down). Cannot be 0 when maxSurge is 0. Defaults to 0.")
    max_surge: IntOrString | None = int_or_string(
        "How many Machines may exist above the desired count during the update: a number (5) or a percentage of "
        "the desired Machines (\"10%\", rounded up). Cannot be 0 when maxUnavailable is 0. Defaults to 1.")


class MachineDeploymentRolloutStrategy(APIModel):
    """How old Machines are replaced with new ones."""

    model_config = NOT_EMPTY

    type: RolloutStrategyType = Field(description="RollingUpdate (the default) replaces Machines gradually; OnDelete "
                                      "replaces a Machine only after it has been deleted.")
    rolling_update: MachineDeploymentRolloutStrategyRollingUpdate | None = Field(
        default=None, description="Settings for the RollingUpdate type.")


class MachineDeploymentRolloutSpec(APIModel):
    """Settings for replacing Machines."""

    model_config = NOT_EMPTY

    after: str | None = timestamp("Replace all Machines created before this time, even without a spec change "
                                  "(RFC 3339, e.g. \"2025-03-09T09:00:00Z\").")
    strategy: MachineDeploymentRolloutStrategy | None = Field(default=None, description="How old Machines are "
                                                              "replaced with new ones.")


class MachineDeploymentRemediationSpec(APIModel):
    """How unhealthy Machines are remediated."""

    model_config = NOT_EMPTY

    max_in_flight: IntOrString | None = int_or_string(
        "How many remediations may run at once: a number or a percentage of the desired Machines. Only the newest "
        "MachineSet remediates. Unset means no limit beyond the number of replicas.")


class MachineDeploymentDeletionSpec(MachineSetDeletionSpec):
    """Settings for removing Machines when scaling down; passed on to the MachineSets."""


class MachineDeploymentSpec(APIModel):
    """The desired state of a MachineDeployment."""

    cluster_name: str = Field(min_length=1, max_length=63, description="The name of the Cluster the "
                              "MachineDeployment belongs to, in the same namespace.")
    replicas: int | None = int32_field(
        "How many Machines to run. When unset it is defaulted: from the cluster autoscaler's min/max size "
        "annotations when those are set (the min size for a new MachineDeployment, the old value clamped to the "
        "range otherwise), else to 1.")
    rollout: MachineDeploymentRolloutSpec | None = Field(default=None, description="Settings for replacing Machines.")
    selector: LabelSelector = Field(description="Which Machines belong to the MachineDeployment; MachineSets whose "
                                    "Machines match are the ones it manages. It must match the labels of the template.")
    template: MachineTemplateSpec = Field(description="The Machines to run.")
    machine_naming: MachineNamingSpec | None = Field(default=None, description="How new Machines are named.")
    remediation: MachineDeploymentRemediationSpec | None = Field(default=None, description="How unhealthy Machines "
                                                                 "are remediated.")
    deletion: MachineDeploymentDeletionSpec | None = Field(default=None, description="Settings for removing Machines "
                                                           "when scaling down.")
    paused: bool | None = Field(default=None, description="Stops the MachineDeployment controller from acting on "
                                "the MachineDeployment while true.")


# --- status ---------------------------------------------------------------------------------------------------


class MachineDeploymentV1Beta1DeprecatedStatus(APIModel):
    """MachineDeployment status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("MachineDeployment")
    updated_replicas: int | None = int32_field("How many Machines match the current template (v1beta1 only).")
    ready_replicas: int | None = int32_field("How many Machines have a ready Node (v1beta1 meaning).")
    available_replicas: int | None = int32_field("How many Machines have been ready for at least minReadySeconds "
                                                 "(v1beta1 meaning).")
    unavailable_replicas: int | None = int32_field("How many more available Machines are needed to reach the desired "
                                                   "count (v1beta1 only).")


class MachineDeploymentStatus(APIModel):
    """The observed state of a MachineDeployment."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The MachineDeployment's conditions: Available, MachinesReady, MachinesUpToDate, RollingOut, ScalingUp, "
        "ScalingDown, Remediating, Deleting and Paused.")
    observed_generation: int | None = observed_generation_field()
    selector: str | None = Field(default=None, min_length=1, max_length=4096,
                                 description="spec.selector in query-parameter syntax, for the scale subresource and "
                                 "for clients that do not want to parse a LabelSelector.")
    replicas: int | None = int32_field("How many Machines the MachineDeployment has, in any state, across its "
                                       "MachineSets.")
    ready_replicas: int | None = int32_field("How many of the Machines have their Ready condition true.")
    available_replicas: int | None = int32_field("How many of the Machines have their Available condition true.")
    up_to_date_replicas: int | None = int32_field("How many of the Machines have their UpToDate condition true.")
    versions: list[VersionReplicas] | None = list_map(
        "How many of the Machines run each Kubernetes version.", "version", max_items=100)
    phase: MachineDeploymentPhase | None = Field(default=None, description="What the MachineDeployment is doing: "
                                                 "ScalingUp, ScalingDown, Running, Failed or Unknown.")
    deprecated: CoreDeprecatedStatus[MachineDeploymentV1Beta1DeprecatedStatus] | None = deprecated_field()


class MachineDeployment(ClusterAPIObject):
    """A set of Machines rolled out declaratively through MachineSets."""

    kind: str = kind_field("MachineDeployment")
    spec: MachineDeploymentSpec = Field(description="The desired state of the MachineDeployment.")
    status: MachineDeploymentStatus = Field(default_factory=MachineDeploymentStatus,
                                            description="The observed state of the MachineDeployment.")


MACHINE_DEPLOYMENT_CRD = CRDSpec(
    model=MachineDeployment, group=GROUP, version=VERSION, kind="MachineDeployment", plural="machinedeployments",
    singular="machinedeployment", short_names=("md",),
    description="A MachineDeployment runs a number of Machines from a template and rolls out changes to that "
                "template by creating a new MachineSet and moving Machines over to it, as a rolling update or on "
                "deletion, keeping older MachineSets as revision history.",
    scale=REPLICAS_SCALE,
    printer_columns=(
        CLUSTER_NAME_COLUMN,
        condition_column("Available", AVAILABLE, "Whether enough Machines are available."),
        *MACHINE_COUNT_COLUMNS,
        PAUSED_COLUMN,
        column("Phase", "string", ".status.phase", "What the MachineDeployment is doing."),
        age_column("MachineDeployment"),
        column("Version", "string", ".spec.template.spec.version", "The Kubernetes version of the Machines."),
    ),
)
