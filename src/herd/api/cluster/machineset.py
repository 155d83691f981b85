"""MachineSet: keeps a number of identical Machines running, like a ReplicaSet does for Pods."""

from __future__ import annotations

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import CLUSTER_NAME_COLUMN, MACHINE_COUNT_COLUMNS, PAUSED_COLUMN, age_column, column
from herd.api.common import Condition, V1Beta1Condition, conditions_field, kind_field
from herd.api.crdgen import REPLICAS_SCALE, CRDSpec
from herd.api.fields import int32_field, list_map, observed_generation_field

from .shared import (
    GROUP,
    VERSION,
    ClusterAPIObject,
    CoreDeprecatedStatus,
    LabelSelector,
    MachineNamingSpec,
    MachineSetDeletionSpec,
    MachineTemplateSpec,
    VersionReplicas,
    deprecated_field,
    failure_message_field,
    failure_reason_field,
    v1beta1_conditions_field,
)

# --- conditions -----------------------------------------------------------------------------------------------

# ScalingUp: fewer Machines than desired (a preflight check blocking scale up shows in the message).
SCALING_UP = conditions.SCALING_UP_CONDITION
SCALING_UP_REASON = conditions.SCALING_UP_REASON
NOT_SCALING_UP_REASON = conditions.NOT_SCALING_UP_REASON
SCALING_UP_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_UP_WAITING_FOR_REPLICAS_SET_REASON = conditions.WAITING_FOR_REPLICAS_SET_REASON

# ScalingDown: more Machines than desired.
SCALING_DOWN = conditions.SCALING_DOWN_CONDITION
SCALING_DOWN_REASON = conditions.SCALING_DOWN_REASON
NOT_SCALING_DOWN_REASON = conditions.NOT_SCALING_DOWN_REASON
SCALING_DOWN_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_DOWN_WAITING_FOR_REPLICAS_SET_REASON = conditions.WAITING_FOR_REPLICAS_SET_REASON

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

# Remediating: some Machines failed a health check and are waiting for, or under, remediation.
REMEDIATING = conditions.REMEDIATING_CONDITION
REMEDIATING_REASON = conditions.REMEDIATING_REASON
NOT_REMEDIATING_REASON = conditions.NOT_REMEDIATING_REASON
REMEDIATING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# Reasons for the OwnerRemediated condition the MachineSet sets on the Machines it remediates.
MACHINE_CANNOT_BE_REMEDIATED_REASON = "CannotBeRemediated"
MACHINE_REMEDIATION_DEFERRED_REASON = "RemediationDeferred"
MACHINE_REMEDIATION_MACHINE_DELETING_REASON = "MachineDeleting"

# Deleting: progress of deleting the MachineSet's Machines.
DELETING = conditions.DELETING_CONDITION
NOT_DELETING_REASON = conditions.NOT_DELETING_REASON
DELETING_REASON = conditions.DELETING_REASON
DELETING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# Preflight checks that the machineset.cluster.x-k8s.io/skip-preflight-checks annotation can name.
PREFLIGHT_CHECK_ALL = "All"
PREFLIGHT_CHECK_KUBEADM_VERSION_SKEW = "KubeadmVersionSkew"
PREFLIGHT_CHECK_KUBERNETES_VERSION_SKEW = "KubernetesVersionSkew"
PREFLIGHT_CHECK_CONTROL_PLANE_IS_STABLE = "ControlPlaneIsStable"
PREFLIGHT_CHECK_CONTROL_PLANE_VERSION_SKEW = "ControlPlaneVersionSkew"


# --- spec and status ------------------------------------------------------------------------------------------


class MachineSetSpec(APIModel):
    """The desired state of a MachineSet."""

    cluster_name: str = Field(min_length=1, max_length=63, description="The name of the Cluster the MachineSet "
                              "belongs to, in the same namespace.")
    replicas: int | None = int32_field(
        "How many Machines to keep. When unset it is defaulted: from the cluster autoscaler's min/max size "
        "annotations when those are set (the min size for a new MachineSet, the old value clamped to the range "
        "otherwise), else to 1.")
    selector: LabelSelector = Field(description="Which Machines the MachineSet counts as its own; it must match the "
                                    "labels of the Machine template.")
    template: MachineTemplateSpec = Field(description="The Machine to create when there are too few; its bootstrap "
                                          "and infrastructure references point to templates that are cloned.")
    machine_naming: MachineNamingSpec | None = Field(default=None, description="How new Machines are named.")
    deletion: MachineSetDeletionSpec | None = Field(default=None, description="Settings for removing Machines when "
                                                    "scaling down.")


class MachineSetV1Beta1DeprecatedStatus(APIModel):
    """MachineSet status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("MachineSet")
    failure_reason: str | None = failure_reason_field("MachineSet")
    failure_message: str | None = failure_message_field("MachineSet")
    fully_labeled_replicas: int | None = int32_field("How many Machines carry all the labels of the template (v1beta1 "
                                                     "only).")
    ready_replicas: int | None = int32_field("How many Machines have a ready Node (v1beta1 meaning).")
    available_replicas: int | None = int32_field("How many Machines have been ready for at least minReadySeconds "
                                                 "(v1beta1 meaning).")


class MachineSetStatus(APIModel):
    """The observed state of a MachineSet."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The MachineSet's conditions: MachinesReady, MachinesUpToDate, ScalingUp, ScalingDown, Remediating, Deleting "
        "and Paused.")
    selector: str | None = Field(default=None, min_length=1, max_length=4096,
                                 description="spec.selector in query-parameter syntax, for the scale subresource and "
                                 "for clients that do not want to parse a LabelSelector.")
    replicas: int | None = int32_field("How many Machines the MachineSet has, in any state.")
    ready_replicas: int | None = int32_field("How many of the Machines have their Ready condition true.")
    available_replicas: int | None = int32_field("How many of the Machines have their Available condition true.")
    up_to_date_replicas: int | None = int32_field("How many of the Machines have their UpToDate condition true.")
    versions: list[VersionReplicas] | None = list_map(
        "How many of the Machines run each Kubernetes version.", "version", max_items=100)
    observed_generation: int | None = observed_generation_field()
    deprecated: CoreDeprecatedStatus[MachineSetV1Beta1DeprecatedStatus] | None = deprecated_field()


class MachineSet(ClusterAPIObject):
    """A set of Machines made from one template, kept at a desired count."""

    kind: str = kind_field("MachineSet")
    spec: MachineSetSpec = Field(description="The desired state of the MachineSet.")
    status: MachineSetStatus = Field(default_factory=MachineSetStatus,
                                     description="The observed state of the MachineSet.")


MACHINE_SET_CRD = CRDSpec(
    model=MachineSet, group=GROUP, version=VERSION, kind="MachineSet", plural="machinesets", singular="machineset",
    short_names=("ms",),
    description="A MachineSet keeps a given number of Machines, all made from the same template, in existence: it "
                "creates Machines when there are too few, deletes some when there are too many, and remediates "
                "unhealthy ones. MachineSets are usually managed by a MachineDeployment.",
    scale=REPLICAS_SCALE,
    printer_columns=(
        CLUSTER_NAME_COLUMN,
        *MACHINE_COUNT_COLUMNS,
        PAUSED_COLUMN,
        age_column("MachineSet"),
        column("Version", "string", ".spec.template.spec.version", "The Kubernetes version of the Machines."),
    ),
)
