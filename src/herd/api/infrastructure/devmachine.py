"""DevMachine: the Dev provider's machine (a simulated VM, or a docker container)."""

from __future__ import annotations

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import CLUSTER_NAME_LABEL_COLUMN, provider_age_column
from herd.api.common import Condition, conditions_field, kind_field
from herd.api.conditions import (
    DELETING_REASON,
    INTERNAL_ERROR_REASON,
    NOT_PROVISIONED_REASON,
    NOT_READY_REASON,
    PROVISIONED_REASON,
    READY_CONDITION,
    READY_REASON,
    READY_UNKNOWN_REASON,
    WAITING_FOR_BOOTSTRAP_DATA_REASON,
    WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON,
)
from herd.api.crdgen import CRDSpec

from .dev_types import (
    GROUP,
    VERSION,
    CommonProvisioningSettings,
    DeprecatedStatus,
    DevObject,
    MachineAddress,
)

# Removed by the DevMachine controller once the machine's infrastructure is gone.
MACHINE_FINALIZER = "dockermachine.infrastructure.cluster.x-k8s.io"
# The weight of this machine in the docker backend's load balancer configuration.
LOAD_BALANCER_WEIGHT_ANNOTATION = "devmachine.infrastructure.cluster.x-k8s.io/weight"

# Ready: the machine's infrastructure is up, whatever the backend (docker: ContainerProvisioned, CGroupsReady,
# PreLoadedImagesReady and BootstrapCompleted; inMemory: VMProvisioned, NodeProvisioned and, on control plane
# machines, EtcdProvisioned and APIServerProvisioned).
DEV_MACHINE_READY_CONDITION = READY_CONDITION
DEV_MACHINE_READY_REASON = READY_REASON
DEV_MACHINE_NOT_READY_REASON = NOT_READY_REASON
DEV_MACHINE_READY_UNKNOWN_REASON = READY_UNKNOWN_REASON

# ContainerProvisioned (docker backend): the machine's container exists.
DEV_MACHINE_DOCKER_CONTAINER_PROVISIONED_CONDITION = "ContainerProvisioned"
DEV_MACHINE_DOCKER_CONTAINER_WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON = (
    WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON)
DEV_MACHINE_DOCKER_CONTAINER_WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON = (
    WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON)
DEV_MACHINE_DOCKER_CONTAINER_WAITING_FOR_BOOTSTRAP_DATA_REASON = WAITING_FOR_BOOTSTRAP_DATA_REASON
DEV_MACHINE_DOCKER_CONTAINER_PROVISIONED_REASON = PROVISIONED_REASON
DEV_MACHINE_DOCKER_CONTAINER_NOT_PROVISIONED_REASON = NOT_PROVISIONED_REASON
DEV_MACHINE_DOCKER_CONTAINER_DELETING_REASON = DELETING_REASON

# CGroupsReady (docker backend): cgroups inside the container are usable.
DEV_MACHINE_DOCKER_CGROUPS_READY_CONDITION = "CGroupsReady"
DEV_MACHINE_DOCKER_CGROUPS_READY_WAITING_FOR_CONTAINER_REASON = "WaitingForContainer"
DEV_MACHINE_DOCKER_CGROUPS_READY_REASON = READY_REASON
DEV_MACHINE_DOCKER_CGROUPS_NOT_READY_REASON = NOT_READY_REASON
DEV_MACHINE_DOCKER_CGROUPS_READY_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# PreLoadedImagesReady (docker backend): the images in spec.backend.docker.preLoadImages are loaded.
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_READY_CONDITION = "PreLoadedImagesReady"
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_READY_WAITING_FOR_CONTAINER_REASON = "WaitingForContainer"
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_READY_WAITING_FOR_CGROUPS_REASON = "WaitingForCGroups"
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_READY_REASON = READY_REASON
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_NOT_READY_REASON = NOT_READY_REASON
DEV_MACHINE_DOCKER_PRELOADED_IMAGES_READY_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# BootstrapCompleted (docker backend): the bootstrap data (cloud-init or ignition) ran in the container.
DEV_MACHINE_BOOTSTRAP_COMPLETED_CONDITION = "BootstrapCompleted"
DEV_MACHINE_DOCKER_BOOTSTRAP_COMPLETED_WAITING_FOR_CONTAINER_REASON = "WaitingForContainer"
DEV_MACHINE_DOCKER_BOOTSTRAP_COMPLETED_WAITING_FOR_CGROUPS_REASON = "WaitingForCGroups"
DEV_MACHINE_DOCKER_BOOTSTRAP_COMPLETED_WAITING_FOR_PRELOADED_IMAGES_REASON = "WaitingForPreloadedImages"
DEV_MACHINE_DOCKER_BOOTSTRAP_COMPLETED_REASON = "Completed"
DEV_MACHINE_DOCKER_BOOTSTRAP_NOT_COMPLETED_REASON = "NotCompleted"
DEV_MACHINE_DOCKER_BOOTSTRAP_FAILED_REASON = "Failed"
DEV_MACHINE_DOCKER_BOOTSTRAP_COMPLETED_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# VMProvisioned (inMemory backend): the simulated VM is up.
DEV_MACHINE_IN_MEMORY_VM_PROVISIONED_CONDITION = "VMProvisioned"
DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_CLUSTER_INFRASTRUCTURE_REASON = WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON
DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON = WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON
DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_BOOTSTRAP_DATA_REASON = WAITING_FOR_BOOTSTRAP_DATA_REASON
DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_STARTUP_TIMEOUT_REASON = "WaitingForStartupTimeout"
DEV_MACHINE_IN_MEMORY_VM_PROVISIONED_REASON = PROVISIONED_REASON
DEV_MACHINE_IN_MEMORY_VM_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# NodeProvisioned (inMemory backend): the simulated kubelet registered a Node in the workload cluster.
DEV_MACHINE_IN_MEMORY_NODE_PROVISIONED_CONDITION = "NodeProvisioned"
DEV_MACHINE_IN_MEMORY_NODE_WAITING_FOR_VM_PROVISIONED_REASON = "WaitingForVMProvisioned"
DEV_MACHINE_IN_MEMORY_NODE_WAITING_FOR_STARTUP_TIMEOUT_REASON = "WaitingForStartupTimeout"
DEV_MACHINE_IN_MEMORY_NODE_PROVISIONED_REASON = PROVISIONED_REASON
DEV_MACHINE_IN_MEMORY_NODE_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# EtcdProvisioned (inMemory backend, control plane machines): the simulated etcd member is up.
DEV_MACHINE_IN_MEMORY_ETCD_PROVISIONED_CONDITION = "EtcdProvisioned"
DEV_MACHINE_IN_MEMORY_ETCD_WAITING_FOR_VM_PROVISIONED_REASON = "WaitingForVMProvisioned"
DEV_MACHINE_IN_MEMORY_ETCD_WAITING_FOR_NODE_PROVISIONED_REASON = "WaitingForNodeProvisioned"
DEV_MACHINE_IN_MEMORY_ETCD_WAITING_FOR_STARTUP_TIMEOUT_REASON = "WaitingForStartupTimeout"
DEV_MACHINE_IN_MEMORY_ETCD_PROVISIONED_REASON = PROVISIONED_REASON
DEV_MACHINE_IN_MEMORY_ETCD_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# APIServerProvisioned (inMemory backend, control plane machines): the simulated API server answers.
DEV_MACHINE_IN_MEMORY_API_SERVER_PROVISIONED_CONDITION = "APIServerProvisioned"
DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_VM_PROVISIONED_REASON = "WaitingForVMProvisioned"
DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_NODE_PROVISIONED_REASON = "WaitingForNodeProvisioned"
DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_STARTUP_TIMEOUT_REASON = "WaitingForStartupTimeout"
DEV_MACHINE_IN_MEMORY_API_SERVER_PROVISIONED_REASON = PROVISIONED_REASON
DEV_MACHINE_IN_MEMORY_API_SERVER_INTERNAL_ERROR_REASON = INTERNAL_ERROR_REASON

# v1beta1 conditions and reasons of the docker backend, reported under status.deprecated.v1beta1.
CONTAINER_PROVISIONED_V1BETA1_CONDITION = "ContainerProvisioned"
WAITING_FOR_CLUSTER_INFRASTRUCTURE_V1BETA1_REASON = "WaitingForClusterInfrastructure"
WAITING_FOR_BOOTSTRAP_DATA_V1BETA1_REASON = "WaitingForBootstrapData"
BOOTSTRAP_EXEC_SUCCEEDED_V1BETA1_CONDITION = "BootstrapExecSucceeded"
BOOTSTRAPPING_V1BETA1_REASON = "Bootstrapping"
BOOTSTRAP_FAILED_V1BETA1_REASON = "BootstrapFailed"


class Mount(APIModel):
    """A host directory mounted into the machine's container."""

    container_path: str | None = Field(default=None, description="Where the mount appears inside the container.")
    host_path: str | None = Field(default=None, description="The directory on the host to mount; it must exist. "
                                  "A symbolic link is followed to its target.")
    read_only: bool | None = Field(default=None, description="Mount read-only when true.")


class DockerMachineBackendSpec(APIModel):
    """A machine run as a docker container."""

    custom_image: str | None = Field(default=None, description="The container image to run the machine from, "
                                     "instead of the one matching the Kubernetes version.")
    pre_load_images: list[str] | None = Field(default=None, description="Images to load into the machine before "
                                              "bootstrapping, so they need not be pulled by every machine.")
    extra_mounts: list[Mount] | None = Field(default=None, description="Extra host directories to mount into the "
                                             "machine's container.")
    bootstrap_timeout: str | None = Field(default=None, description="How long bootstrapping may take before it "
                                          "counts as failed, as a duration such as 5m (the default).")


class InMemoryVMSpec(APIModel):
    """How the simulated VM of an in-memory machine behaves."""

    provisioning: CommonProvisioningSettings | None = Field(
        default=None, description="How long the VM takes from creation until it is powered on.")


class InMemoryNodeSpec(APIModel):
    """How the simulated kubelet of an in-memory machine behaves."""

    provisioning: CommonProvisioningSettings | None = Field(
        default=None, description="How long the Node takes from kubelet start until it is Ready, has a provider ID "
                                  "and is registered in the workload cluster.")


class InMemoryAPIServerSpec(APIModel):
    """How the simulated API server of an in-memory control plane machine behaves."""

    provisioning: CommonProvisioningSettings | None = Field(
        default=None, description="How long the API server takes from starting its static Pod until the Pod is "
                                  "Ready and registered in the workload cluster.")


class InMemoryEtcdSpec(APIModel):
    """How the simulated etcd member of an in-memory control plane machine behaves."""

    provisioning: CommonProvisioningSettings | None = Field(
        default=None, description="How long the etcd member takes from starting its static Pod until the Pod is "
                                  "Ready and registered in the workload cluster.")


class InMemoryMachineBackendSpec(APIModel):
    """A machine simulated inside herd: no process runs, each component comes up after its startup duration."""

    vm: InMemoryVMSpec | None = Field(default=None, description="Settings of the simulated VM.")
    node: InMemoryNodeSpec | None = Field(default=None, description="Settings of the simulated Node (the "
                                          "kubelet).")
    api_server: InMemoryAPIServerSpec | None = Field(default=None, description="Settings of the simulated API "
                                                     "server; used on control plane machines.")
    etcd: InMemoryEtcdSpec | None = Field(default=None, description="Settings of the simulated etcd member; used "
                                          "on control plane machines.")


class DevMachineBackendSpec(APIModel):
    """Which backend provides the machine: set exactly one."""

    docker: DockerMachineBackendSpec | None = Field(default=None, description="Run the machine as a docker "
                                                    "container.")
    in_memory: InMemoryMachineBackendSpec | None = Field(default=None, description="Simulate the machine inside "
                                                         "herd, without any processes.")


class DevMachineSpec(APIModel):
    """The desired state of a DevMachine."""

    provider_id: str | None = Field(default=None, alias="providerID", min_length=1, max_length=512,
                                    description="The identifier that links this machine to its Node in the "
                                                "workload cluster; set by the provider.")
    backend: DevMachineBackendSpec = Field(description="The backend that provides this machine.")


class DevMachineInitializationStatus(APIModel):
    """How far the DevMachine's initial provisioning has got."""

    model_config = NOT_EMPTY

    provisioned: bool | None = Field(default=None, description="True once the machine's infrastructure is fully "
                                     "provisioned; Cluster API waits for it before expecting a Node.")


class DevMachineStatus(APIModel):
    """The observed state of a DevMachine."""

    conditions: list[Condition] | None = conditions_field(
        "The latest observations of the DevMachine's state. With the inMemory backend the types are Ready, "
        "VMProvisioned, NodeProvisioned, EtcdProvisioned, APIServerProvisioned and Paused; with the docker backend "
        "Ready, ContainerProvisioned, CGroupsReady, PreLoadedImagesReady, BootstrapCompleted and Paused.")
    initialization: DevMachineInitializationStatus | None = Field(
        default=None, description="Progress of initial provisioning, as the Cluster API contract expects it.")
    addresses: list[MachineAddress] | None = Field(default=None, description="The addresses the machine can be "
                                                   "reached at.")
    failure_domain: str | None = Field(default=None, min_length=1, max_length=256,
                                       description="The failure domain the machine was placed in.")
    deprecated: DeprecatedStatus | None = Field(default=None, description="Status fields kept for older API "
                                                "versions only.")


def _empty_spec() -> DevMachineSpec:
    return DevMachineSpec(backend=DevMachineBackendSpec())


class DevMachine(DevObject):
    """One machine from the Dev provider."""

    kind: str = kind_field("DevMachine")
    spec: DevMachineSpec = Field(default_factory=_empty_spec, description="The desired state of the machine.")
    status: DevMachineStatus = Field(default_factory=DevMachineStatus, description="The observed state of the "
                                     "machine.")


DEV_MACHINE_CRD = CRDSpec(
    model=DevMachine, group=GROUP, version=VERSION, kind="DevMachine", plural="devmachines", singular="devmachine",
    description="One machine from herd's Dev provider: a simulated VM with a simulated kubelet, etcd and API server "
                "(inMemory backend) or a docker container (docker backend).",
    printer_columns=(
        CLUSTER_NAME_LABEL_COLUMN,
        {"name": "Provider ID", "type": "string", "priority": 10, "jsonPath": ".spec.providerID",
         "description": "The identifier linking the machine to its Node."},
        {"name": "Failure domain", "type": "string", "jsonPath": ".status.failureDomain",
         "description": "The failure domain the machine was placed in."},
        {"name": "IP", "type": "string", "priority": 10,
         "jsonPath": '.status.addresses[?(@.type=="InternalIP")].address',
         "description": "The machine's internal IP address."},
        {"name": "Paused", "type": "string", "priority": 10,
         "jsonPath": '.status.conditions[?(@.type=="Paused")].status',
         "description": "Whether reconciliation of the machine is paused."},
        {"name": "Provisioned", "type": "string", "jsonPath": ".status.initialization.provisioned",
         "description": "Whether the machine's infrastructure is provisioned."},
        provider_age_column("DevMachine"),
    ),
)
