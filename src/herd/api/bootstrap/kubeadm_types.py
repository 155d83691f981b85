"""KubeadmConfigSpec: everything the kubeadm bootstrap provider turns into a machine's bootstrap data.

The parts live in modules by concept (`kubeadm_cluster`, `kubeadm_node`, `kubeadm_discovery`,
`provisioning`, `corev1`); they are re-exported here so callers import from one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.fields import Str10240, atomic_list

from .corev1 import (
    ConfigMapKeySelector,
    EnvVar,
    EnvVarSource,
    FileKeySelector,
    ObjectFieldSelector,
    Quantity,
    ResourceFieldSelector,
    SecretKeySelector,
    Taint,
)
from .kubeadm_cluster import (
    DNS,
    APIServer,
    Arg,
    ClusterConfiguration,
    ControllerManager,
    ControlPlaneComponent,
    EncryptionAlgorithm,
    Etcd,
    ExternalEtcd,
    HostPathMount,
    LocalEtcd,
    Scheduler,
)
from .kubeadm_discovery import (
    BootstrapTokenDiscovery,
    Discovery,
    FileDiscovery,
    FileDiscoveryKubeConfig,
    KubeConfigAuthExec,
    KubeConfigAuthExecEnv,
    KubeConfigAuthProvider,
    KubeConfigCluster,
    KubeConfigUser,
)
from .kubeadm_node import (
    APIEndpoint,
    BootstrapToken,
    InitConfiguration,
    JoinConfiguration,
    JoinControlPlane,
    NodeRegistrationOptions,
    Patches,
    PullPolicy,
    Timeouts,
)
from .provisioning import (
    NTP,
    ContainerLinuxConfig,
    ContentFormat,
    DiskSetup,
    Encoding,
    File,
    FileSource,
    Filesystem,
    IgnitionSpec,
    Partition,
    PartitionSpec,
    PartitionTableType,
    PasswdSource,
    SecretFileSource,
    SecretPasswdSource,
    User,
)

Format = Literal["cloud-config", "ignition"]
FORMAT_CLOUD_CONFIG: Format = "cloud-config"
FORMAT_IGNITION: Format = "ignition"

# One mount point as cloud-init's mounts module takes it: device, mount point, then optional fstab fields.
MountPoint = Annotated[list[Annotated[str, Field(min_length=1, max_length=512)]], Field(min_length=1,
                                                                                        max_length=100)]


class KubeadmConfigSpec(APIModel):
    """What to run on a machine to make it a Kubernetes node with kubeadm. A machine that creates the cluster
    uses clusterConfiguration and initConfiguration; every other machine uses joinConfiguration."""

    model_config = NOT_EMPTY

    cluster_configuration: ClusterConfiguration | None = Field(
        default=None, description="Cluster-wide kubeadm settings, used with initConfiguration by kubeadm init.")
    init_configuration: InitConfiguration | None = Field(
        default=None, description="Settings for kubeadm init on the machine that creates the cluster.")
    join_configuration: JoinConfiguration | None = Field(
        default=None, description="Settings for kubeadm join on machines added to an existing cluster.")
    files: list[File] | None = atomic_list("Files to write on the machine before kubeadm runs.", min_items=1,
                                           max_items=200)
    disk_setup: DiskSetup | None = Field(default=None, description="Partitions and file systems to create.")
    mounts: list[MountPoint] | None = atomic_list(
        "Mount points to set up, each a list of device, mount point and optional fstab fields, as cloud-init's "
        "mounts module takes them.", min_items=1, max_items=100)
    boot_commands: list[Str10240] | None = atomic_list(
        "Commands run very early at every boot (cloud-init bootcmd; use cloud-init-per to run one only once). Not "
        "supported with Ignition.", min_items=1, max_items=1000)
    pre_kubeadm_commands: list[Str10240] | None = atomic_list(
        "Commands run before kubeadm: put at the start of cloud-init's runcmd, or of /etc/kubeadm.sh with "
        "Ignition.", min_items=1, max_items=1000)
    post_kubeadm_commands: list[Str10240] | None = atomic_list(
        "Commands run after kubeadm: put at the end of cloud-init's runcmd, or of /etc/kubeadm.sh with Ignition.",
        min_items=1, max_items=1000)
    users: list[User] | None = atomic_list("User accounts to create.", min_items=1, max_items=100)
    ntp: NTP | None = Field(default=None, description="Time synchronisation settings.")
    format: Format | None = Field(default=None, description="The format of the bootstrap data: cloud-config or "
                                  "ignition; cloud-config when not given.")
    verbosity: int | None = Field(default=None, json_schema_extra=k8s(format="int32"), description="kubeadm's log "
                                  "verbosity, passed as --v to every kubeadm command.")
    ignition: IgnitionSpec | None = Field(default=None, description="Settings used only when format is "
                                          "ignition.")


__all__ = [
    "DNS", "FORMAT_CLOUD_CONFIG", "FORMAT_IGNITION", "NTP", "APIEndpoint", "APIServer", "Arg", "BootstrapToken",
    "BootstrapTokenDiscovery", "ClusterConfiguration", "ConfigMapKeySelector", "ContainerLinuxConfig",
    "ContentFormat", "ControlPlaneComponent", "ControllerManager", "Discovery", "DiskSetup", "Encoding",
    "EncryptionAlgorithm", "EnvVar", "EnvVarSource", "Etcd", "ExternalEtcd", "File", "FileDiscovery",
    "FileDiscoveryKubeConfig", "FileKeySelector", "FileSource", "Filesystem", "Format", "HostPathMount",
    "IgnitionSpec", "InitConfiguration", "JoinConfiguration", "JoinControlPlane", "KubeConfigAuthExec",
    "KubeConfigAuthExecEnv", "KubeConfigAuthProvider", "KubeConfigCluster", "KubeConfigUser", "KubeadmConfigSpec",
    "LocalEtcd", "MountPoint", "NodeRegistrationOptions", "ObjectFieldSelector", "Partition", "PartitionSpec",
    "PartitionTableType", "PasswdSource", "Patches", "PullPolicy", "Quantity", "ResourceFieldSelector",
    "Scheduler", "SecretFileSource", "SecretKeySelector", "SecretPasswdSource", "Taint", "Timeouts", "User",
]
