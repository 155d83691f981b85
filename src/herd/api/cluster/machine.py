"""Machine: one Kubernetes node's worth of infrastructure, bootstrap data and lifecycle."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import CLUSTER_NAME_COLUMN, PAUSED_COLUMN, age_column, column, condition_column
from herd.api.common import DNS_SUBDOMAIN, Condition, V1Beta1Condition, conditions_field, kind_field
from herd.api.crdgen import CRDSpec
from herd.api.fields import atomic_list, observed_generation_field, timestamp

from .shared import (
    GROUP,
    VERSION,
    ClusterAPIObject,
    CoreDeprecatedStatus,
    MachineSpec,
    deprecated_field,
    failure_message_field,
    failure_reason_field,
    v1beta1_conditions_field,
)

# --- conditions -----------------------------------------------------------------------------------------------

# Available: Ready for at least spec.minReadySeconds.
AVAILABLE = conditions.AVAILABLE_CONDITION
WAITING_FOR_MIN_READY_SECONDS_REASON = "WaitingForMinReadySeconds"
AVAILABLE_REASON = conditions.AVAILABLE_REASON
AVAILABLE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# Ready: not deleting, and BootstrapConfigReady, InfrastructureReady, NodeHealthy, HealthCheckSucceeded (if
# present) and every readiness gate hold; Updating is not true.
READY = conditions.READY_CONDITION
READY_REASON = conditions.READY_REASON
NOT_READY_REASON = conditions.NOT_READY_REASON
READY_UNKNOWN_REASON = conditions.READY_UNKNOWN_REASON
READY_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON

# UpToDate: the Machine matches its owner's (e.g. MachineDeployment's) current spec; set by the owner.
UP_TO_DATE = "UpToDate"
UP_TO_DATE_REASON = "UpToDate"
NOT_UP_TO_DATE_REASON = "NotUpToDate"
UP_TO_DATE_UPDATING_REASON = "Updating"

# Updating: an in-place update is in progress.
UPDATING = "Updating"
NOT_UPDATING_REASON = "NotUpdating"
IN_PLACE_UPDATING_REASON = "InPlaceUpdating"
IN_PLACE_UPDATE_FAILED_REASON = "InPlaceUpdateFailed"

# BootstrapConfigReady: mirrors the bootstrap config's Ready condition.
BOOTSTRAP_CONFIG_READY = conditions.BOOTSTRAP_CONFIG_READY_CONDITION
BOOTSTRAP_DATA_SECRET_PROVIDED_REASON = "DataSecretProvided"
BOOTSTRAP_CONFIG_READY_REASON = conditions.READY_REASON
BOOTSTRAP_CONFIG_NOT_READY_REASON = conditions.NOT_READY_REASON
BOOTSTRAP_CONFIG_INVALID_CONDITION_REPORTED_REASON = conditions.INVALID_CONDITION_REPORTED_REASON
BOOTSTRAP_CONFIG_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
BOOTSTRAP_CONFIG_DOES_NOT_EXIST_REASON = conditions.OBJECT_DOES_NOT_EXIST_REASON
BOOTSTRAP_CONFIG_DELETED_REASON = conditions.OBJECT_DELETED_REASON

# InfrastructureReady: mirrors the infrastructure machine's Ready condition.
INFRASTRUCTURE_READY = conditions.INFRASTRUCTURE_READY_CONDITION
INFRASTRUCTURE_READY_REASON = conditions.READY_REASON
INFRASTRUCTURE_NOT_READY_REASON = conditions.NOT_READY_REASON
INFRASTRUCTURE_INVALID_CONDITION_REPORTED_REASON = conditions.INVALID_CONDITION_REPORTED_REASON
INFRASTRUCTURE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
INFRASTRUCTURE_DOES_NOT_EXIST_REASON = conditions.OBJECT_DOES_NOT_EXIST_REASON
INFRASTRUCTURE_DELETED_REASON = conditions.OBJECT_DELETED_REASON

# NodeHealthy (Node ready, no memory/disk/PID pressure) and NodeReady (mirrors the Node's Ready condition).
NODE_HEALTHY = "NodeHealthy"
NODE_READY = "NodeReady"
NODE_READY_REASON = "NodeReady"
NODE_NOT_READY_REASON = "NodeNotReady"
NODE_READY_UNKNOWN_REASON = "NodeReadyUnknown"
NODE_HEALTHY_REASON = "NodeHealthy"
NODE_NOT_HEALTHY_REASON = "NodeNotHealthy"
NODE_HEALTH_UNKNOWN_REASON = "NodeHealthyUnknown"
NODE_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
NODE_DOES_NOT_EXIST_REASON = "NodeDoesNotExist"
NODE_DELETED_REASON = "NodeDeleted"
NODE_INSPECTION_FAILED_REASON = conditions.INSPECTION_FAILED_REASON
NODE_CONNECTION_DOWN_REASON = conditions.CONNECTION_DOWN_REASON

# HealthCheckSucceeded: set by MachineHealthChecks targeting the Machine.
HEALTH_CHECK_SUCCEEDED = "HealthCheckSucceeded"
HEALTH_CHECK_SUCCEEDED_REASON = "HealthCheckSucceeded"
HEALTH_CHECK_UNHEALTHY_NODE_REASON = "UnhealthyNode"
HEALTH_CHECK_UNHEALTHY_MACHINE_REASON = "UnhealthyMachine"
HEALTH_CHECK_NODE_STARTUP_TIMEOUT_REASON = "NodeStartupTimeout"
HEALTH_CHECK_NODE_DELETED_REASON = "NodeDeleted"
HEALTH_CHECK_HAS_REMEDIATE_ANNOTATION_REASON = "HasRemediateAnnotation"

# OwnerRemediated: a MachineHealthCheck asks the Machine's owner to remediate it.
OWNER_REMEDIATED = "OwnerRemediated"
OWNER_REMEDIATED_WAITING_FOR_REMEDIATION_REASON = "WaitingForRemediation"

# ExternallyRemediated: a MachineHealthCheck hands remediation to an external remediation controller.
EXTERNALLY_REMEDIATED = "ExternallyRemediated"
EXTERNALLY_REMEDIATED_WAITING_FOR_REMEDIATION_REASON = "WaitingForRemediation"
EXTERNALLY_REMEDIATED_REMEDIATION_TEMPLATE_NOT_FOUND_REASON = "RemediationTemplateNotFound"
EXTERNALLY_REMEDIATED_REMEDIATION_REQUEST_CREATION_FAILED_REASON = "RemediationRequestCreationFailed"

# Deleting: progress of the deletion workflow.
DELETING = conditions.DELETING_CONDITION
NOT_DELETING_REASON = conditions.NOT_DELETING_REASON
DELETING_REASON = conditions.DELETING_REASON
DELETING_INTERNAL_ERROR_REASON = conditions.INTERNAL_ERROR_REASON
DELETING_WAITING_FOR_PRE_DRAIN_HOOK_REASON = "WaitingForPreDrainHook"
DELETING_DRAINING_NODE_REASON = "DrainingNode"
DELETING_WAITING_FOR_VOLUME_DETACH_REASON = "WaitingForVolumeDetach"
DELETING_WAITING_FOR_PRE_TERMINATE_HOOK_REASON = "WaitingForPreTerminateHook"
DELETING_WAITING_FOR_INFRASTRUCTURE_DELETION_REASON = "WaitingForInfrastructureDeletion"
DELETING_WAITING_FOR_BOOTSTRAP_DELETION_REASON = "WaitingForBootstrapDeletion"
DELETING_DELETING_NODE_REASON = "DeletingNode"
DELETING_DELETION_COMPLETED_REASON = conditions.DELETION_COMPLETED_REASON

# Paused: reconciliation is paused (Cluster spec.paused or the paused annotation).
PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# --- phases ---------------------------------------------------------------------------------------------------

MachinePhase = Literal["Pending", "Provisioning", "Provisioned", "Running", "Updating", "Deleting", "Deleted",
                       "Failed", "Unknown"]
PHASE_PENDING: MachinePhase = "Pending"
PHASE_PROVISIONING: MachinePhase = "Provisioning"
PHASE_PROVISIONED: MachinePhase = "Provisioned"
PHASE_RUNNING: MachinePhase = "Running"
PHASE_UPDATING: MachinePhase = "Updating"
PHASE_DELETING: MachinePhase = "Deleting"
PHASE_DELETED: MachinePhase = "Deleted"
PHASE_FAILED: MachinePhase = "Failed"
PHASE_UNKNOWN: MachinePhase = "Unknown"

MachineAddressType = Literal["Hostname", "ExternalIP", "InternalIP", "ExternalDNS", "InternalDNS"]
ADDRESS_HOSTNAME: MachineAddressType = "Hostname"
ADDRESS_EXTERNAL_IP: MachineAddressType = "ExternalIP"
ADDRESS_INTERNAL_IP: MachineAddressType = "InternalIP"
ADDRESS_EXTERNAL_DNS: MachineAddressType = "ExternalDNS"
ADDRESS_INTERNAL_DNS: MachineAddressType = "InternalDNS"

# How long the Machine controller keeps trying to delete the Node when spec.deletion does not say.
DEFAULT_NODE_DELETION_TIMEOUT_SECONDS = 10


# --- status ---------------------------------------------------------------------------------------------------


class MachineAddress(APIModel):
    """One address the machine can be reached at."""

    type: MachineAddressType = Field(description="What kind of address this is: Hostname, ExternalIP, InternalIP, "
                                     "ExternalDNS or InternalDNS.")
    address: str = Field(min_length=1, max_length=256, description="The address itself, e.g. an IP address or a "
                         "DNS name.")


class MachineInitializationStatus(APIModel):
    """How far initial provisioning has got; part of the Cluster API contract with providers."""

    model_config = NOT_EMPTY

    infrastructure_provisioned: bool | None = Field(
        default=None, description="True once the infrastructure provider reports the machine's infrastructure fully "
        "provisioned; never changes back afterwards.")
    bootstrap_data_secret_created: bool | None = Field(
        default=None, description="True once the bootstrap provider reports the bootstrap data Secret created; never "
        "changes back afterwards.")


class MachineNodeReference(APIModel):
    """The Node that runs on a Machine."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="The name of the Node.")


class NodeSwapStatus(APIModel):
    """Swap memory on a Node."""

    capacity: int | None = Field(default=None, description="The swap size in bytes.",
                                 json_schema_extra={"format": "int64"})


class NodeSystemInfo(APIModel):
    """Identifiers and software versions a Node reports (corev1.NodeSystemInfo)."""

    machine_id: str = Field(alias="machineID", description="The machine-id of the host (/etc/machine-id).")
    system_uuid: str = Field(alias="systemUUID", description="The system UUID the host's firmware reports.")
    boot_id: str = Field(alias="bootID", description="The boot ID; changes on every reboot.")
    kernel_version: str = Field(description="The kernel version (uname -r).")
    os_image: str = Field(description="The operating system image, e.g. \"Ubuntu 24.04 LTS\".")
    container_runtime_version: str = Field(description="The container runtime and its version, e.g. "
                                           "containerd://1.7.20.")
    kubelet_version: str = Field(description="The kubelet version.")
    kube_proxy_version: str = Field(description="The kube-proxy version the kubelet reports (deprecated upstream).")
    operating_system: str = Field(description="The operating system, e.g. linux.")
    architecture: str = Field(description="The CPU architecture, e.g. amd64.")
    swap: NodeSwapStatus | None = Field(default=None, description="Swap memory on the Node.")


class MachineDeletionStatus(APIModel):
    """When the steps of deleting the Machine started; present only once the Machine is being deleted."""

    node_drain_start_time: str | None = timestamp(
        "When draining the Node began; compared with spec.deletion.nodeDrainTimeoutSeconds.")
    wait_for_node_volume_detach_start_time: str | None = timestamp(
        "When waiting for the Node's volumes to detach began; compared with "
        "spec.deletion.nodeVolumeDetachTimeoutSeconds.")
    wait_for_pre_drain_hook_start_time: str | None = timestamp(
        "When waiting for pre-drain hooks (annotations with the pre-drain.delete.hook.machine.cluster.x-k8s.io "
        "prefix) began.")
    wait_for_pre_terminate_hook_start_time: str | None = timestamp(
        "When waiting for pre-terminate hooks (annotations with the pre-terminate.delete.hook.machine.cluster.x-k8s.io "
        "prefix) began.")


class MachineV1Beta1DeprecatedStatus(APIModel):
    """Machine status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("Machine")
    failure_reason: str | None = failure_reason_field("Machine")
    failure_message: str | None = failure_message_field("Machine")


class MachineStatus(APIModel):
    """The observed state of a Machine."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The Machine's conditions: Available, Ready, UpToDate, BootstrapConfigReady, InfrastructureReady, NodeReady, "
        "NodeHealthy, Updating, Deleting and Paused; HealthCheckSucceeded and OwnerRemediated when a "
        "MachineHealthCheck targets it; control plane providers may add their own (e.g. APIServerPodHealthy).")
    initialization: MachineInitializationStatus | None = Field(
        default=None, description="Progress of initial provisioning, as the Cluster API contract defines it.")
    node_ref: MachineNodeReference | None = Field(default=None, description="The Node running on this Machine, once "
                                                  "it exists.")
    node_info: NodeSystemInfo | None = Field(default=None, description="Identifiers and versions the Node reports.")
    last_updated: str | None = timestamp("When the phase last changed.")
    failure_domain: str | None = Field(default=None, min_length=1, max_length=256,
                                       description="The failure domain the Machine actually runs in, as the "
                                       "infrastructure provider reports it.")
    addresses: list[MachineAddress] | None = atomic_list(
        "The addresses the machine can be reached at, copied from the infrastructure machine.", max_items=256)
    phase: MachinePhase | None = Field(default=None, description="Where the Machine is in its lifecycle: Pending, "
                                       "Provisioning, Provisioned, Running, Updating, Deleting, Deleted, Failed or "
                                       "Unknown.")
    certificates_expiry_date: str | None = timestamp(
        "When the machine's certificates expire; set for control plane machines only.")
    observed_generation: int | None = observed_generation_field()
    deletion: MachineDeletionStatus | None = Field(
        default=None, description="Progress of deletion; present only once the Machine is being deleted and draining "
        "or waiting has begun.")
    deprecated: CoreDeprecatedStatus[MachineV1Beta1DeprecatedStatus] | None = deprecated_field()


class Machine(ClusterAPIObject):
    """One machine that is, or will become, a Node of a workload cluster."""

    kind: str = kind_field("Machine")
    spec: MachineSpec = Field(description="The desired state of the Machine.")
    status: MachineStatus = Field(default_factory=MachineStatus, description="The observed state of the Machine.")


MACHINE_CRD = CRDSpec(
    model=Machine, group=GROUP, version=VERSION, kind="Machine", plural="machines", singular="machine",
    short_names=("ma",),
    description="A Machine is the declarative description of one host that becomes a Node of a workload cluster: "
                "it ties a bootstrap config (what to run at first boot) to an infrastructure machine (where it "
                "runs), follows it through provisioning, and drains and deletes the Node when the Machine goes away. "
                "Machines are usually created and replaced by MachineSets or control plane providers rather than by "
                "hand.",
    printer_columns=(
        CLUSTER_NAME_COLUMN,
        column("Node Name", "string", ".status.nodeRef.name", "The Node running on the Machine."),
        column("Provider ID", "string", ".spec.providerID", "The infrastructure provider's ID for the machine.",
               priority=10),
        column("Failure domain", "string", ".status.failureDomain", "The failure domain the Machine runs in."),
        condition_column("Ready", READY, "Whether the Machine passes all readiness checks."),
        condition_column("Available", AVAILABLE, "Whether the Machine has been Ready for at least minReadySeconds."),
        condition_column("Up-to-date", UP_TO_DATE, "Whether the Machine matches its owner's current spec."),
        column("Internal-IP", "string", '.status.addresses[?(@.type=="InternalIP")].address',
               "The Machine's internal IP address.", priority=10),
        column("External-IP", "string", '.status.addresses[?(@.type=="ExternalIP")].address',
               "The Machine's external IP address.", priority=10),
        column("OS-Image", "string", ".status.nodeInfo.osImage", "The operating system image the Node reports.",
               priority=10),
        PAUSED_COLUMN,
        column("Phase", "string", ".status.phase", "Where the Machine is in its lifecycle."),
        age_column("Machine"),
        column("Version", "string", ".spec.version", "The Kubernetes version of the Machine."),
    ),
)
