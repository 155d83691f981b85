"""Cluster: a workload cluster, tying together its infrastructure, control plane, workers and topology."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.columns import PAUSED_COLUMN, age_column, column, condition_column
from herd.api.common import (
    CONDITION_TYPE,
    Condition,
    ContractVersionedObjectReference,
    V1Beta1Condition,
    conditions_field,
    kind_field,
)
from herd.api.crdgen import CRDSpec
from herd.api.fields import atomic_list, int32_field, list_map, observed_generation_field

from .shared import (
    GROUP,
    VERSION,
    CIDRBlock,
    ClusterAPIObject,
    ConditionPolarity,
    CoreDeprecatedStatus,
    UpgradeStep,
    VersionReplicas,
    deprecated_field,
    failure_message_field,
    failure_reason_field,
    v1beta1_conditions_field,
)
from .topology import Topology

CLUSTER_KIND = "Cluster"

# --- conditions -----------------------------------------------------------------------------------------------

# Available: not deleting, and RemoteConnectionProbe, InfrastructureReady, ControlPlaneAvailable, WorkersAvailable,
# TopologyReconciled (if present) and every availability gate hold.
AVAILABLE = conditions.AVAILABLE_CONDITION
AVAILABLE_REASON = conditions.AVAILABLE_REASON
NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON
AVAILABLE_UNKNOWN_REASON = conditions.AVAILABLE_UNKNOWN_REASON
AVAILABLE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# TopologyReconciled: the topology controller is working properly (only for Clusters with a topology).
TOPOLOGY_RECONCILED = "TopologyReconciled"
TOPOLOGY_RECONCILE_SUCCEEDED_REASON = "ReconcileSucceeded"
TOPOLOGY_RECONCILED_FAILED_REASON = "ReconcileFailed"
TOPOLOGY_RECONCILED_CLUSTER_CREATING_REASON = "ClusterCreating"
TOPOLOGY_RECONCILED_CONTROL_PLANE_UPGRADE_PENDING_REASON = "ControlPlaneUpgradePending"  # deprecated upstream
TOPOLOGY_RECONCILED_MACHINE_DEPLOYMENTS_CREATE_PENDING_REASON = "MachineDeploymentsCreatePending"  # deprecated
TOPOLOGY_RECONCILED_MACHINE_DEPLOYMENTS_UPGRADE_PENDING_REASON = "MachineDeploymentsUpgradePending"  # deprecated
TOPOLOGY_RECONCILED_MACHINE_DEPLOYMENTS_UPGRADE_DEFERRED_REASON = "MachineDeploymentsUpgradeDeferred"
TOPOLOGY_RECONCILED_MACHINE_POOLS_UPGRADE_PENDING_REASON = "MachinePoolsUpgradePending"  # deprecated
TOPOLOGY_RECONCILED_MACHINE_POOLS_CREATE_PENDING_REASON = "MachinePoolsCreatePending"  # deprecated
TOPOLOGY_RECONCILED_MACHINE_POOLS_UPGRADE_DEFERRED_REASON = "MachinePoolsUpgradeDeferred"
TOPOLOGY_RECONCILED_HOOK_BLOCKING_REASON = "LifecycleHookBlocking"  # deprecated
TOPOLOGY_RECONCILED_CLUSTER_UPGRADING_REASON = "ClusterUpgrading"
TOPOLOGY_RECONCILED_CLUSTER_CLASS_NOT_RECONCILED_REASON = "ClusterClassNotReconciled"
TOPOLOGY_RECONCILED_DELETING_REASON = conditions.DELETING_REASON
TOPOLOGY_RECONCILE_PAUSED_REASON = conditions.PAUSED_REASON

# InfrastructureReady: mirrors the infrastructure cluster's Ready condition.
INFRASTRUCTURE_READY = conditions.INFRASTRUCTURE_READY_CONDITION
INFRASTRUCTURE_READY_REASON = conditions.READY_REASON
INFRASTRUCTURE_NOT_READY_REASON = conditions.NOT_READY_REASON
INFRASTRUCTURE_INVALID_CONDITION_REPORTED_REASON = conditions.INVALID_CONDITION_REPORTED_REASON
INFRASTRUCTURE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
INFRASTRUCTURE_DOES_NOT_EXIST_REASON = conditions.OBJECT_DOES_NOT_EXIST_REASON
INFRASTRUCTURE_DELETED_REASON = conditions.OBJECT_DELETED_REASON

# ControlPlaneInitialized: the control plane accepts requests; once true, stays true.
CONTROL_PLANE_INITIALIZED = "ControlPlaneInitialized"
CONTROL_PLANE_INITIALIZED_REASON = "Initialized"
CONTROL_PLANE_NOT_INITIALIZED_REASON = "NotInitialized"
CONTROL_PLANE_INITIALIZED_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# ControlPlaneAvailable: mirrors the control plane's Available condition.
CONTROL_PLANE_AVAILABLE = "ControlPlaneAvailable"
CONTROL_PLANE_AVAILABLE_REASON = conditions.AVAILABLE_REASON
CONTROL_PLANE_NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON
CONTROL_PLANE_INVALID_CONDITION_REPORTED_REASON = conditions.INVALID_CONDITION_REPORTED_REASON
CONTROL_PLANE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
CONTROL_PLANE_DOES_NOT_EXIST_REASON = conditions.OBJECT_DOES_NOT_EXIST_REASON
CONTROL_PLANE_DELETED_REASON = conditions.OBJECT_DELETED_REASON

# WorkersAvailable: summary of the MachineDeployments' and MachinePools' Available conditions.
WORKERS_AVAILABLE = "WorkersAvailable"
WORKERS_AVAILABLE_REASON = conditions.AVAILABLE_REASON
WORKERS_NOT_AVAILABLE_REASON = conditions.NOT_AVAILABLE_REASON
WORKERS_AVAILABLE_UNKNOWN_REASON = conditions.AVAILABLE_UNKNOWN_REASON
WORKERS_AVAILABLE_NO_WORKERS_REASON = "NoWorkers"
WORKERS_AVAILABLE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# ControlPlaneMachinesReady / WorkerMachinesReady: summaries of the Machines' Ready conditions.
CONTROL_PLANE_MACHINES_READY = "ControlPlaneMachinesReady"
CONTROL_PLANE_MACHINES_READY_REASON = conditions.READY_REASON
CONTROL_PLANE_MACHINES_NOT_READY_REASON = conditions.NOT_READY_REASON
CONTROL_PLANE_MACHINES_READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON
CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
CONTROL_PLANE_MACHINES_READY_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
WORKER_MACHINES_READY = "WorkerMachinesReady"
WORKER_MACHINES_READY_REASON = conditions.READY_REASON
WORKER_MACHINES_NOT_READY_REASON = conditions.NOT_READY_REASON
WORKER_MACHINES_READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON
WORKER_MACHINES_READY_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
WORKER_MACHINES_READY_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# ControlPlaneMachinesUpToDate / WorkerMachinesUpToDate: summaries of the Machines' UpToDate conditions.
CONTROL_PLANE_MACHINES_UP_TO_DATE = "ControlPlaneMachinesUpToDate"
CONTROL_PLANE_MACHINES_UP_TO_DATE_REASON = conditions.UP_TO_DATE_REASON
CONTROL_PLANE_MACHINES_NOT_UP_TO_DATE_REASON = conditions.NOT_UP_TO_DATE_REASON
CONTROL_PLANE_MACHINES_UP_TO_DATE_UNKNOWN_REASON = conditions.UP_TO_DATE_UNKNOWN_REASON
CONTROL_PLANE_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
CONTROL_PLANE_MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
WORKER_MACHINES_UP_TO_DATE = "WorkerMachinesUpToDate"
WORKER_MACHINES_UP_TO_DATE_REASON = conditions.UP_TO_DATE_REASON
WORKER_MACHINES_NOT_UP_TO_DATE_REASON = conditions.NOT_UP_TO_DATE_REASON
WORKER_MACHINES_UP_TO_DATE_UNKNOWN_REASON = conditions.UP_TO_DATE_UNKNOWN_REASON
WORKER_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON = conditions.NO_REPLICAS_REASON
WORKER_MACHINES_UP_TO_DATE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# RemoteConnectionProbe: the workload cluster's API server can be reached (false only after a grace period).
REMOTE_CONNECTION_PROBE = "RemoteConnectionProbe"
REMOTE_CONNECTION_PROBE_FAILED_REASON = "ProbeFailed"
REMOTE_CONNECTION_PROBE_SUCCEEDED_REASON = "ProbeSucceeded"

# RollingOut / ScalingUp / ScalingDown: summaries over the control plane, MachineDeployments, MachinePools
# (and, for scaling, stand-alone MachineSets).
ROLLING_OUT = conditions.ROLLING_OUT_CONDITION
ROLLING_OUT_REASON = conditions.ROLLING_OUT_REASON
NOT_ROLLING_OUT_REASON = conditions.NOT_ROLLING_OUT_REASON
ROLLING_OUT_UNKNOWN_REASON = "RollingOutUnknown"
ROLLING_OUT_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_UP = conditions.SCALING_UP_CONDITION
SCALING_UP_REASON = conditions.SCALING_UP_REASON
NOT_SCALING_UP_REASON = conditions.NOT_SCALING_UP_REASON
SCALING_UP_UNKNOWN_REASON = "ScalingUpUnknown"
SCALING_UP_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
SCALING_DOWN = conditions.SCALING_DOWN_CONDITION
SCALING_DOWN_REASON = conditions.SCALING_DOWN_REASON
NOT_SCALING_DOWN_REASON = conditions.NOT_SCALING_DOWN_REASON
SCALING_DOWN_UNKNOWN_REASON = "ScalingDownUnknown"
SCALING_DOWN_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

REMEDIATING = conditions.REMEDIATING_CONDITION
REMEDIATING_REASON = conditions.REMEDIATING_REASON
NOT_REMEDIATING_REASON = conditions.NOT_REMEDIATING_REASON
REMEDIATING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# Deleting: progress of the deletion workflow.
DELETING = conditions.DELETING_CONDITION
NOT_DELETING_REASON = conditions.NOT_DELETING_REASON
DELETING_WAITING_FOR_BEFORE_DELETE_HOOK_REASON = "WaitingForBeforeDeleteHook"
DELETING_WAITING_FOR_WORKERS_DELETION_REASON = "WaitingForWorkersDeletion"
DELETING_WAITING_FOR_CONTROL_PLANE_DELETION_REASON = "WaitingForControlPlaneDeletion"
DELETING_WAITING_FOR_INFRASTRUCTURE_DELETION_REASON = "WaitingForInfrastructureDeletion"
DELETING_DELETION_COMPLETED_REASON = conditions.DELETION_COMPLETED_REASON
DELETING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# --- phases ---------------------------------------------------------------------------------------------------

ClusterPhase = Literal["Pending", "Provisioning", "Provisioned", "Deleting", "Failed", "Unknown"]
PHASE_PENDING: ClusterPhase = "Pending"
PHASE_PROVISIONING: ClusterPhase = "Provisioning"
PHASE_PROVISIONED: ClusterPhase = "Provisioned"
PHASE_DELETING: ClusterPhase = "Deleting"
PHASE_FAILED: ClusterPhase = "Failed"
PHASE_UNKNOWN: ClusterPhase = "Unknown"

DEFAULT_API_SERVER_PORT = 6443


# --- spec: network and endpoint -------------------------------------------------------------------------------


class NetworkRanges(APIModel):
    """A set of IP address ranges."""

    cidr_blocks: list[CIDRBlock] = Field(min_length=1, max_length=100, description="The ranges, in CIDR notation, "
                                         "e.g. 10.96.0.0/12.", json_schema_extra=k8s(x_kubernetes_list_type="atomic"))


class ClusterNetwork(APIModel):
    """The networking settings of a cluster."""

    model_config = NOT_EMPTY

    api_server_port: int | None = int32_field("The port the API server binds to; defaults to 6443.", ge=1,
                                              le=65535)
    services: NetworkRanges | None = Field(default=None, description="The ranges Service virtual IPs come from.")
    pods: NetworkRanges | None = Field(default=None, description="The ranges Pod IPs come from.")
    service_domain: str | None = Field(default=None, min_length=1, max_length=253,
                                       description="The DNS domain of Services, e.g. cluster.local.")


class APIEndpoint(APIModel):
    """Where a Kubernetes API server can be reached."""

    model_config = NOT_EMPTY

    host: str | None = Field(default=None, min_length=1, max_length=512,
                             description="The host name or IP address the API server answers on.")
    port: int | None = int32_field("The TCP port the API server answers on.", ge=1, le=65535)


class ClusterAvailabilityGate(APIModel):
    """An extra condition the Cluster's Available condition takes into account."""

    condition_type: str = Field(
        min_length=1, max_length=316, pattern=CONDITION_TYPE, description="The type of a condition in the Cluster's "
        "status.conditions, set by Cluster API or by any other controller; a missing condition counts as Unknown.")
    polarity: ConditionPolarity | None = Field(
        default=None, description="Which status is the healthy one: Positive (the default) means True is normal, "
        "Negative means False is normal.")


class ClusterSpec(APIModel):
    """The desired state of a Cluster."""

    model_config = NOT_EMPTY

    paused: bool | None = Field(default=None, description="Stops controllers from acting on the Cluster and all its "
                                "objects while true.")
    cluster_network: ClusterNetwork | None = Field(default=None, description="The cluster's networking settings.")
    control_plane_endpoint: APIEndpoint | None = Field(
        default=None, description="Where the control plane's API server can be reached; usually filled in from the "
        "infrastructure or control plane provider.")
    control_plane_ref: ContractVersionedObjectReference | None = Field(
        default=None, description="The control plane provider's object (e.g. a KubeadmControlPlane) for the cluster.")
    infrastructure_ref: ContractVersionedObjectReference | None = Field(
        default=None, description="The infrastructure provider's cluster object (e.g. a DevCluster) for the cluster.")
    topology: Topology | None = Field(default=None, description="A managed topology built from a ClusterClass; "
                                      "needs the ClusterTopology feature.")
    availability_gates: list[ClusterAvailabilityGate] | None = list_map(
        "Further conditions the Cluster's Available condition includes; with a topology and this unset, the "
        "ClusterClass's.", "conditionType", max_items=32)


# --- status ---------------------------------------------------------------------------------------------------


class ClusterInitializationStatus(APIModel):
    """How far initial provisioning has got; part of the Cluster API contract with providers."""

    model_config = NOT_EMPTY

    infrastructure_provisioned: bool | None = Field(
        default=None, description="True once the infrastructure provider reports the cluster's infrastructure fully "
        "provisioned; never changes back afterwards.")
    control_plane_initialized: bool | None = Field(
        default=None, description="True once the control plane accepts requests, the signal for joining workers and "
        "installing add-ons; never changes back afterwards.")


class ReplicasSummary(APIModel):
    """Counts of a group of a cluster's Machines."""

    desired_replicas: int | None = int32_field("How many Machines are wanted.")
    replicas: int | None = int32_field("How many Machines exist, including ones being provisioned or deleted.")
    up_to_date_replicas: int | None = int32_field("How many Machines have their UpToDate condition true.")
    ready_replicas: int | None = int32_field("How many Machines have their Ready condition true.")
    available_replicas: int | None = int32_field("How many Machines have their Available condition true.")
    versions: list[VersionReplicas] | None = atomic_list(
        "How many Machines run each Kubernetes version.", min_items=1, max_items=32)
    upgrade_plan: list[UpgradeStep] | None = atomic_list(
        "The Kubernetes versions an upgrade in progress goes through, in order.", min_items=1, max_items=32)


class ClusterControlPlaneStatus(ReplicasSummary):
    """Counts of the cluster's control plane Machines."""


class WorkersStatus(ReplicasSummary):
    """Counts of the cluster's worker Machines (from MachineDeployments and MachinePools)."""


class FailureDomain(APIModel):
    """A failure domain machines can be spread over."""

    name: str = Field(min_length=1, max_length=256, description="The failure domain's identifier, unique in its "
                      "list.")
    control_plane: bool | None = Field(default=None, description="Whether control plane Machines may be placed in "
                                       "this failure domain.")
    attributes: dict[str, str] | None = Field(default=None, description="Free-form key/value information about the "
                                              "failure domain, for the provider's own use.")


class ClusterV1Beta1DeprecatedStatus(APIModel):
    """Cluster status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("Cluster")
    failure_reason: str | None = failure_reason_field("Cluster")
    failure_message: str | None = failure_message_field("Cluster")


class ClusterStatus(APIModel):
    """The observed state of a Cluster."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The Cluster's conditions: Available, InfrastructureReady, ControlPlaneInitialized, ControlPlaneAvailable, "
        "WorkersAvailable, ControlPlaneMachinesReady, WorkerMachinesReady, ControlPlaneMachinesUpToDate, "
        "WorkerMachinesUpToDate, RemoteConnectionProbe, RollingOut, ScalingUp, ScalingDown, Remediating, Deleting and "
        "Paused; TopologyReconciled as well when the Cluster has a topology.")
    initialization: ClusterInitializationStatus | None = Field(
        default=None, description="Progress of initial provisioning, as the Cluster API contract defines it.")
    control_plane: ClusterControlPlaneStatus | None = Field(default=None, description="Counts of the control plane "
                                                            "Machines.")
    workers: WorkersStatus | None = Field(default=None, description="Counts of the worker Machines.")
    failure_domains: list[FailureDomain] | None = list_map(
        "The failure domains the infrastructure provider offers, copied from the infrastructure cluster.", "name",
        max_items=100)
    phase: ClusterPhase | None = Field(default=None, description="Where the Cluster is in its lifecycle: Pending, "
                                       "Provisioning, Provisioned, Deleting, Failed or Unknown.")
    observed_generation: int | None = observed_generation_field()
    deprecated: CoreDeprecatedStatus[ClusterV1Beta1DeprecatedStatus] | None = deprecated_field()


class Cluster(ClusterAPIObject):
    """A workload cluster."""

    kind: str = kind_field(CLUSTER_KIND)
    spec: ClusterSpec = Field(description="The desired state of the Cluster.")
    status: ClusterStatus = Field(default_factory=ClusterStatus, description="The observed state of the Cluster.")


CLUSTER_CRD = CRDSpec(
    model=Cluster, group=GROUP, version=VERSION, kind="Cluster", plural="clusters", singular="cluster",
    short_names=("cl",),
    description="A Cluster is a Kubernetes workload cluster managed by Cluster API. It names the infrastructure "
                "provider's cluster object and the control plane provider's object, carries the network settings and "
                "the control plane endpoint, and reports the overall state; with a topology, all of its objects are "
                "generated from a ClusterClass.",
    printer_columns=(
        column("ClusterClass", "string", ".spec.topology.classRef.name",
               "The ClusterClass the Cluster is built from, if any."),
        condition_column("Available", AVAILABLE, "Whether the Cluster passes all availability checks."),
        column("CP Desired", "integer", ".status.controlPlane.desiredReplicas",
               "How many control plane Machines are wanted."),
        column("CP Current", "integer", ".status.controlPlane.replicas", "How many control plane Machines exist.",
               priority=10),
        column("CP Ready", "integer", ".status.controlPlane.readyReplicas",
               "How many control plane Machines are Ready.", priority=10),
        column("CP Available", "integer", ".status.controlPlane.availableReplicas",
               "How many control plane Machines are Available."),
        column("CP Up-to-date", "integer", ".status.controlPlane.upToDateReplicas",
               "How many control plane Machines are UpToDate."),
        column("W Desired", "integer", ".status.workers.desiredReplicas", "How many worker Machines are wanted."),
        column("W Current", "integer", ".status.workers.replicas", "How many worker Machines exist.", priority=10),
        column("W Ready", "integer", ".status.workers.readyReplicas", "How many worker Machines are Ready.",
               priority=10),
        column("W Available", "integer", ".status.workers.availableReplicas", "How many worker Machines are "
               "Available."),
        column("W Up-to-date", "integer", ".status.workers.upToDateReplicas", "How many worker Machines are "
               "UpToDate."),
        PAUSED_COLUMN,
        column("Phase", "string", ".status.phase", "Where the Cluster is in its lifecycle."),
        age_column("Cluster"),
        column("Version", "string", ".spec.topology.version", "The Kubernetes version of the Cluster's topology."),
    ),
)
