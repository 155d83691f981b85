"""KubeadmControlPlane: a set of control plane Machines bootstrapped with kubeadm, kept at the desired
size and Kubernetes version."""

from __future__ import annotations

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.bootstrap.kubeadm_types import KubeadmConfigSpec
from herd.api.columns import CLUSTER_NAME_LABEL_COLUMN, PROVIDER_PAUSED_COLUMN, column, provider_age_column
from herd.api.common import (
    APIObject,
    Condition,
    DeprecatedStatus,
    V1Beta1Condition,
    WithConditions,
    api_version_field,
    conditions_field,
    kind_field,
)
from herd.api.crdgen import REPLICAS_SCALE, CRDSpec
from herd.api.fields import DATE_TIME, int32_field, observed_generation_field

from .kubeadmcontrolplane_types import (
    KubeadmControlPlaneMachineTemplate,
    KubeadmControlPlaneRemediationSpec,
    KubeadmControlPlaneRolloutSpec,
    MachineNamingSpec,
    spec_field,
)

GROUP = "controlplane.cluster.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"

KUBEADM_CONTROL_PLANE_FINALIZER = "kubeadm.controlplane.cluster.x-k8s.io"
SKIP_CORE_DNS_ANNOTATION = "controlplane.cluster.x-k8s.io/skip-coredns"
SKIP_KUBE_PROXY_ANNOTATION = "controlplane.cluster.x-k8s.io/skip-kube-proxy"
# Set while a remediation is between deleting the unhealthy Machine and creating its replacement.
REMEDIATION_IN_PROGRESS_ANNOTATION = "controlplane.cluster.x-k8s.io/remediation-in-progress"
# On a replacement Machine: the unhealthy Machine (the first of a chain of retries) it replaces.
REMEDIATION_FOR_ANNOTATION = "controlplane.cluster.x-k8s.io/remediation-for"
# Pre-terminate hook that removes the etcd member just before the infrastructure machine is deleted.
PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION = "pre-terminate.delete.hook.machine.cluster.x-k8s.io/kcp-cleanup"
DEFAULT_MIN_HEALTHY_PERIOD_SECONDS = 60 * 60

# Available: not deleted, certificates available, at least one Machine with healthy control plane components
# and, with stacked etcd, enough healthy etcd members for quorum.
KUBEADM_CONTROL_PLANE_AVAILABLE_CONDITION = conditions.AVAILABLE_CONDITION
KUBEADM_CONTROL_PLANE_AVAILABLE_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
KUBEADM_CONTROL_PLANE_AVAILABLE_REASON = conditions.AVAILABLE_REASON
KUBEADM_CONTROL_PLANE_NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON

# Initialized: the control plane accepts requests (it may not be fully provisioned yet).
KUBEADM_CONTROL_PLANE_INITIALIZED_CONDITION = "Initialized"
KUBEADM_CONTROL_PLANE_INITIALIZED_REASON = "Initialized"
KUBEADM_CONTROL_PLANE_NOT_INITIALIZED_REASON = "NotInitialized"

# CertificatesAvailable: all the cluster certificates exist, given by the user or generated.
KUBEADM_CONTROL_PLANE_CERTIFICATES_AVAILABLE_CONDITION = "CertificatesAvailable"
KUBEADM_CONTROL_PLANE_CERTIFICATES_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
KUBEADM_CONTROL_PLANE_CERTIFICATES_AVAILABLE_REASON = conditions.AVAILABLE_REASON
KUBEADM_CONTROL_PLANE_CERTIFICATES_NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON

# EtcdClusterHealthy: the stacked etcd cluster is healthy (not set with external etcd).
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_CONDITION = "EtcdClusterHealthy"
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_CONNECTION_DOWN_REASON = conditions.CONNECTION_DOWN_REASON
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_REASON = "Healthy"
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_NOT_HEALTHY_REASON = "NotHealthy"
KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTH_UNKNOWN_REASON = "HealthUnknown"

# ControlPlaneComponentsHealthy: API server, controller manager, scheduler (and etcd pods) are healthy.
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTHY_CONDITION = "ControlPlaneComponentsHealthy"
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_CONNECTION_DOWN_REASON = conditions.CONNECTION_DOWN_REASON
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTHY_REASON = "Healthy"
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_NOT_HEALTHY_REASON = "NotHealthy"
KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTH_UNKNOWN_REASON = "HealthUnknown"

# MachinesReady: an aggregate of the Machines' Ready conditions.
KUBEADM_CONTROL_PLANE_MACHINES_READY_CONDITION = "MachinesReady"
KUBEADM_CONTROL_PLANE_MACHINES_READY_REASON = conditions.READY_REASON
KUBEADM_CONTROL_PLANE_MACHINES_NOT_READY_REASON = conditions.NOT_READY_REASON
KUBEADM_CONTROL_PLANE_MACHINES_READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON
KUBEADM_CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON = "NoReplicas"
KUBEADM_CONTROL_PLANE_MACHINES_READY_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# MachinesUpToDate: an aggregate of the Machines' UpToDate conditions.
KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_CONDITION = "MachinesUpToDate"
KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_REASON = "UpToDate"
KUBEADM_CONTROL_PLANE_MACHINES_NOT_UP_TO_DATE_REASON = "NotUpToDate"
KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_UNKNOWN_REASON = "UpToDateUnknown"
KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON = "NoReplicas"
KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# RollingOut: at least one Machine is not up to date.
KUBEADM_CONTROL_PLANE_ROLLING_OUT_CONDITION = "RollingOut"
KUBEADM_CONTROL_PLANE_ROLLING_OUT_REASON = "RollingOut"
KUBEADM_CONTROL_PLANE_NOT_ROLLING_OUT_REASON = "NotRollingOut"

# ScalingUp: fewer Machines than desired.
KUBEADM_CONTROL_PLANE_SCALING_UP_CONDITION = "ScalingUp"
KUBEADM_CONTROL_PLANE_SCALING_UP_REASON = "ScalingUp"
KUBEADM_CONTROL_PLANE_NOT_SCALING_UP_REASON = "NotScalingUp"
KUBEADM_CONTROL_PLANE_SCALING_UP_WAITING_FOR_REPLICAS_SET_REASON = "WaitingForReplicasSet"

# ScalingDown: more Machines than desired.
KUBEADM_CONTROL_PLANE_SCALING_DOWN_CONDITION = "ScalingDown"
KUBEADM_CONTROL_PLANE_SCALING_DOWN_REASON = "ScalingDown"
KUBEADM_CONTROL_PLANE_NOT_SCALING_DOWN_REASON = "NotScalingDown"
KUBEADM_CONTROL_PLANE_SCALING_DOWN_WAITING_FOR_REPLICAS_SET_REASON = "WaitingForReplicasSet"

# Remediating: a Machine failed its health check and has OwnerRemediated False.
KUBEADM_CONTROL_PLANE_REMEDIATING_CONDITION = "Remediating"
KUBEADM_CONTROL_PLANE_REMEDIATING_REASON = "Remediating"
KUBEADM_CONTROL_PLANE_NOT_REMEDIATING_REASON = "NotRemediating"
KUBEADM_CONTROL_PLANE_REMEDIATING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# Reasons of the OwnerRemediated condition the control plane sets on Machines it remediates.
KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
KUBEADM_CONTROL_PLANE_MACHINE_CANNOT_BE_REMEDIATED_REASON = "CannotBeRemediated"
KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_DEFERRED_REASON = "RemediationDeferred"
KUBEADM_CONTROL_PLANE_MACHINE_REMEDIATION_MACHINE_DELETING_REASON = "MachineDeleting"

# Deleting: progress of deleting the control plane.
KUBEADM_CONTROL_PLANE_DELETING_CONDITION = conditions.DELETING_CONDITION
KUBEADM_CONTROL_PLANE_NOT_DELETING_REASON = "NotDeleting"
KUBEADM_CONTROL_PLANE_DELETING_WAITING_FOR_WORKERS_DELETION_REASON = "WaitingForWorkersDeletion"
KUBEADM_CONTROL_PLANE_DELETING_WAITING_FOR_MACHINE_DELETION_REASON = "WaitingForMachineDeletion"
KUBEADM_CONTROL_PLANE_DELETING_DELETION_COMPLETED_REASON = "DeletionCompleted"
KUBEADM_CONTROL_PLANE_DELETING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# Paused: reconciliation of the control plane (or of its Cluster) is paused.
KUBEADM_CONTROL_PLANE_PAUSED_CONDITION = conditions.PAUSED_CONDITION
KUBEADM_CONTROL_PLANE_PAUSED_REASON = conditions.PAUSED_REASON
KUBEADM_CONTROL_PLANE_NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# Conditions the control plane sets on each of its Machines, about the static pods on it.
KUBEADM_CONTROL_PLANE_MACHINE_API_SERVER_POD_HEALTHY_CONDITION = "APIServerPodHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_CONTROLLER_MANAGER_POD_HEALTHY_CONDITION = "ControllerManagerPodHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_SCHEDULER_POD_HEALTHY_CONDITION = "SchedulerPodHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_POD_HEALTHY_CONDITION = "EtcdPodHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_POD_RUNNING_REASON = "Running"
KUBEADM_CONTROL_PLANE_MACHINE_POD_PROVISIONING_REASON = "Provisioning"
KUBEADM_CONTROL_PLANE_MACHINE_POD_DOES_NOT_EXIST_REASON = "DoesNotExist"
KUBEADM_CONTROL_PLANE_MACHINE_POD_FAILED_REASON = "Failed"
KUBEADM_CONTROL_PLANE_MACHINE_POD_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
KUBEADM_CONTROL_PLANE_MACHINE_POD_CONNECTION_DOWN_REASON = conditions.CONNECTION_DOWN_REASON
KUBEADM_CONTROL_PLANE_MACHINE_POD_DELETING_REASON = "Deleting"

# The condition the control plane sets on each of its Machines about the etcd member on it.
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_HEALTHY_CONDITION = "EtcdMemberHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_NOT_HEALTHY_REASON = "NotHealthy"
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_HEALTHY_REASON = "Healthy"
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_CONNECTION_DOWN_REASON = conditions.CONNECTION_DOWN_REASON
KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_DELETING_REASON = "Deleting"

class KubeadmControlPlaneSpec(APIModel):
    """The desired control plane: how many Machines, which Kubernetes version, and how they are built."""

    replicas: int | None = int32_field(
        "How many control plane Machines to run; 1 when not given. With stacked etcd only odd numbers are "
        "allowed, so etcd keeps a quorum.")
    version: str = Field(min_length=1, max_length=256, description="The Kubernetes version of the control "
                         "plane, e.g. v1.34.0.")
    machine_template: KubeadmControlPlaneMachineTemplate = spec_field("machine_template", required=True)
    kubeadm_config_spec: KubeadmConfigSpec | None = spec_field("kubeadm_config_spec")
    rollout: KubeadmControlPlaneRolloutSpec | None = spec_field("rollout")
    remediation: KubeadmControlPlaneRemediationSpec | None = spec_field("remediation")
    machine_naming: MachineNamingSpec | None = spec_field("machine_naming")


class KubeadmControlPlaneInitializationStatus(APIModel):
    """How far the control plane got in its first provisioning; part of the control plane provider contract."""

    model_config = NOT_EMPTY

    control_plane_initialized: bool | None = Field(
        default=None, description="True once the control plane accepts requests, whether or not it is fully "
                                  "provisioned; the Cluster waits for it before creating worker Machines.")


class StatusVersion(APIModel):
    """How many Machines run one Kubernetes version."""

    version: str = Field(min_length=1, max_length=256, description="The Kubernetes version.")
    replicas: int | None = int32_field("How many Machines run it.", ge=1)


class LastRemediationStatus(APIModel):
    """The most recent remediation. When this record is lost the retry count starts again from zero."""

    machine: str = Field(min_length=1, max_length=253, description="The name of the Machine remediated last.")
    time: str = Field(json_schema_extra=DATE_TIME, description="When the remediation happened, in UTC.")
    retry_count: int = Field(ge=0, json_schema_extra=k8s(format="int32"), description="How many retries of the "
                             "remediation of the same original Machine have happened so far.")


class KubeadmControlPlaneV1Beta1DeprecatedStatus(APIModel):
    """Status fields in the form the v1beta1 API reported them."""

    conditions: list[V1Beta1Condition] | None = Field(default=None, description="The conditions in the v1beta1 "
                                                      "format; superseded by status.conditions.")
    failure_reason: str | None = Field(default=None, description="A word for a problem that needs a person to "
                                       "fix it; superseded by conditions.")
    failure_message: str | None = Field(default=None, min_length=1, max_length=10240, description="A description "
                                        "of a problem that needs a person to fix it; superseded by conditions.")
    updated_replicas: int | None = int32_field("Machines with the desired spec; superseded by upToDateReplicas.")
    ready_replicas: int | None = int32_field("Machines fully running and ready, by the v1beta1 definition.")
    unavailable_replicas: int | None = int32_field("Machines still needed for full availability, running but not "
                                                   "ready or not created yet.")


class KubeadmControlPlaneStatus(WithConditions, APIModel):
    """What the control plane controller observed."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The current observations of the control plane: Available, CertificatesAvailable, Initialized, "
        "EtcdClusterHealthy, ControlPlaneComponentsHealthy, MachinesReady, MachinesUpToDate, RollingOut, "
        "ScalingUp, ScalingDown, Remediating, Deleting and Paused.")
    initialization: KubeadmControlPlaneInitializationStatus | None = Field(
        default=None, description="Progress of the first provisioning, as the Cluster API contract defines it.")
    selector: str | None = Field(default=None, min_length=1, max_length=4096, description="The label selector of "
                                 "the control plane Machines in string form, for the scale subresource and kubectl.")
    replicas: int | None = int32_field("How many Machines, not being deleted, the control plane has.")
    ready_replicas: int | None = int32_field("How many of them have a Ready condition that is True.")
    available_replicas: int | None = int32_field("How many of them have an Available condition that is True.")
    up_to_date_replicas: int | None = int32_field("How many of them have an UpToDate condition that is True.")
    versions: list[StatusVersion] | None = Field(
        default=None, min_length=1, max_length=100, json_schema_extra=k8s(
            x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["version"]),
        description="The Kubernetes versions the Machines run, with how many run each.")
    version: str | None = Field(default=None, min_length=1, max_length=256, description="The lowest Kubernetes "
                                "version among the Machines. Deprecated: use versions.")
    observed_generation: int | None = observed_generation_field()
    last_remediation: LastRemediationStatus | None = Field(default=None, description="The most recent "
                                                           "remediation.")
    deprecated: DeprecatedStatus[KubeadmControlPlaneV1Beta1DeprecatedStatus] | None = Field(
        default=None, description="Status fields kept for clients of older API versions.")


class KubeadmControlPlane(APIObject):
    """A Kubernetes control plane run on Machines bootstrapped with kubeadm. The controller creates the first
    Machine with kubeadm init and the others with kubeadm join, keeps the number of Machines and their
    Kubernetes version as desired, rolls out changes one Machine at a time, and tracks the health of the
    control plane components and of stacked etcd."""

    api_version: str = api_version_field(API_VERSION)
    kind: str = kind_field("KubeadmControlPlane")
    spec: KubeadmControlPlaneSpec = Field(description="The desired control plane.")
    status: KubeadmControlPlaneStatus | None = Field(default=None, description="What the control plane controller "
                                                     "observed.")


KUBEADM_CONTROL_PLANE_CRD = CRDSpec(
    model=KubeadmControlPlane, group=GROUP, kind="KubeadmControlPlane", plural="kubeadmcontrolplanes",
    singular="kubeadmcontrolplane", short_names=("kcp",),
    scale=REPLICAS_SCALE,
    printer_columns=(
        CLUSTER_NAME_LABEL_COLUMN,
        column("Available", "string", '.status.conditions[?(@.type=="Available")].status',
                "Whether the control plane is available."),
        column("Desired", "integer", ".spec.replicas", "The desired number of Machines."),
        column("Current", "integer", ".status.replicas", "The number of Machines."),
        column("Ready", "integer", ".status.readyReplicas", "The number of ready Machines."),
        column("Available", "integer", ".status.availableReplicas", "The number of available Machines."),
        column("Up-to-date", "integer", ".status.upToDateReplicas", "The number of up-to-date Machines."),
        PROVIDER_PAUSED_COLUMN,
        column("Initialized", "boolean", ".status.initialization.controlPlaneInitialized",
                "Whether the control plane accepts requests."),
        provider_age_column(),
        column("Version", "string", ".spec.version", "The desired Kubernetes version."),
    ),
)
