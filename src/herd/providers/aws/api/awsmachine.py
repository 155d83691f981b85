"""AWSMachine: one EC2 instance of a cluster, CAPA's shape."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api.base import APIModel
from herd.providersdk import MachineSpec, MachineStatus

from .types import AWSResourceReference, SecurityGroupRole, tags_field

MACHINE_FINALIZER = "awsmachine.infrastructure.cluster.x-k8s.io"

# Conditions (CAPA's names) and their reasons.
INSTANCE_READY = "InstanceReady"
SECURITY_GROUPS_READY = "SecurityGroupsReady"
ELB_ATTACHED = "ELBAttached"
MACHINE_CONDITIONS = (INSTANCE_READY, SECURITY_GROUPS_READY, ELB_ATTACHED)
INSTANCE_NOT_FOUND_REASON = "InstanceNotFound"
INSTANCE_TERMINATED_REASON = "InstanceTerminated"
INSTANCE_STOPPED_REASON = "InstanceStopped"
INSTANCE_NOT_READY_REASON = "InstanceNotReady"
INSTANCE_PROVISION_STARTED_REASON = "InstanceProvisionStarted"
INSTANCE_PROVISION_FAILED_REASON = "InstanceProvisionFailed"
WAITING_FOR_CLUSTER_INFRASTRUCTURE_REASON = "WaitingForClusterInfrastructure"
WAITING_FOR_BOOTSTRAP_DATA_REASON = "WaitingForBootstrapData"
SECURITY_GROUPS_FAILED_REASON = "SecurityGroupsSyncFailed"
ELB_ATTACH_FAILED_REASON = "ELBAttachFailed"
ELB_DETACH_FAILED_REASON = "ELBDetachFailed"

SecretBackend = Literal["secrets-manager", "ssm"]
InstanceState = Literal["pending", "running", "shutting-down", "terminated", "stopping", "stopped"]


class AMIReference(APIModel):
    """Which AMI an instance boots."""

    id: str | None = Field(default=None, description="The AMI's ID; looked up by name when unset.")


class Volume(APIModel):
    """An EBS volume of an instance."""

    device_name: str | None = Field(default=None, description="The device name (the AMI's root device by "
                                    "default).")
    size: int = Field(ge=8, description="The size in GiB (at least 8).")
    type: str | None = Field(default=None, description="The EBS volume type: gp2, gp3, io1, io2, st1, sc1, "
                             "standard.")
    iops: int | None = Field(default=None, description="Provisioned IOPS (io1, io2, gp3).")
    encrypted: bool | None = Field(default=None, description="Whether the volume is encrypted.")


class CloudInit(APIModel):
    """How the bootstrap data reaches the instance."""

    insecure_skip_secrets_manager: bool | None = Field(
        default=None, description="Put the bootstrap data in the instance's user data as is (readable by anyone "
        "who may describe the instance) instead of in Secrets Manager or SSM.")
    secret_count: int | None = Field(default=None, description="How many chunks hold the bootstrap data; set by "
                                     "the provider.")
    secret_prefix: str | None = Field(default=None, description="The name prefix of the chunks; set by the "
                                      "provider.")
    secure_secrets_backend: SecretBackend | None = Field(
        default=None, description="secrets-manager (default) or ssm (SecureString parameters).")


class AWSMachineSpec(MachineSpec):
    """The desired state of an AWSMachine."""

    instance_id: str | None = Field(default=None, alias="instanceID", description="The EC2 instance's ID, set by the "
                                    "provider.")
    ami: AMIReference | None = Field(default=None, description="The AMI to boot.")
    image_lookup_format: str | None = Field(default=None, description="The AMI name pattern to look up "
                                            "({{.BaseOS}} and {{.K8sVersion}} are replaced).")
    image_lookup_org: str | None = Field(default=None, description="The AWS account owning looked up AMIs.")
    image_lookup_base_os: str | None = Field(default=None, alias="imageLookupBaseOS",
                                             description="The base OS of a looked up AMI, e.g. ubuntu-24.04.")
    instance_type: str = Field(default="", description="The EC2 instance type, e.g. t3.large.")
    additional_tags: dict[str, str] | None = tags_field("Tags added to the instance and its volumes.")
    iam_instance_profile: str | None = Field(default=None,
                                             description="The IAM instance profile's name.")
    public_ip: bool | None = Field(default=None, alias="publicIP", description="Whether the instance gets a public "
                                   "IP (it is placed in a public subnet).")
    additional_security_groups: list[AWSResourceReference] | None = Field(
        default=None, description="Security groups added to the ones of the instance's role.")
    subnet: AWSResourceReference | None = Field(default=None, description="The subnet to use instead of the "
                                                "failure domain's private subnet.")
    security_group_overrides: dict[SecurityGroupRole, str] | None = Field(
        default=None, description="Security group IDs to use for a role instead of the cluster's.")
    ssh_key_name: str | None = Field(default=None, description="The EC2 key pair (the cluster's by default).")
    root_volume: Volume | None = Field(default=None, description="The root volume.")
    uncompressed_user_data: bool | None = Field(default=None, description="Do not gzip the user data.")
    cloud_init: CloudInit | None = Field(default=None, description="How the bootstrap data reaches the instance.")


class AWSMachineStatus(MachineStatus):
    """The observed state of an AWSMachine (conditions: Ready, Provisioned, Paused, InstanceReady,
    SecurityGroupsReady and, on control plane machines, ELBAttached)."""

    instance_state: InstanceState | None = Field(default=None, description="The EC2 instance state.")
