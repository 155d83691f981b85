"""What the bootstrap data does on the machine besides kubeadm: files, users, NTP, disks and Ignition
settings, rendered as cloud-init or Ignition."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.fields import Str256, Str512, Str2048, atomic_list

Encoding = Literal["base64", "gzip", "gzip+base64"]
ContentFormat = Literal["Raw", "Template"]
PartitionTableType = Literal["mbr", "gpt"]

PARTITION_TYPE_RULE = (r"self.matches('^(Linux|LinuxSwap|LinuxRAID|LVM|Fat32|NTFS|LinuxExtended|"
                       r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})$')")

class SecretFileSource(APIModel):
    """One key of a Secret in the KubeadmConfig's namespace."""

    name: str = Field(min_length=1, max_length=253, description="The name of the Secret.")
    key: str = Field(min_length=1, max_length=256, description="The key in the Secret's data that holds the "
                     "content.")


class FileSource(APIModel):
    """Where a file's content is read from instead of being given inline."""

    secret: SecretFileSource = Field(description="The Secret key holding the file's content.")


class File(APIModel):
    """A file written on the machine before kubeadm runs (cloud-init write_files, or an Ignition file)."""

    path: str = Field(min_length=1, max_length=512, description="The absolute path of the file on the machine.")
    owner: str | None = Field(default=None, min_length=1, max_length=256, description="The file's owner as "
                              "user:group, e.g. root:root.")
    permissions: str | None = Field(default=None, min_length=1, max_length=16, description="The file's mode in "
                                    "octal, e.g. 0640.")
    encoding: Encoding | None = Field(default=None, description="How content is encoded: base64, gzip or "
                                      "gzip+base64; plain text when not given.")
    append: bool | None = Field(default=None, description="Append content to the file when it already exists, "
                                "instead of replacing it.")
    content: str | None = Field(default=None, min_length=1, max_length=10240, description="The file's content, "
                                "inline. Exclusive with contentFrom.")
    content_from: FileSource | None = Field(default=None, description="Read the file's content from a Secret. "
                                            "Exclusive with content.")
    content_format: ContentFormat | None = Field(default=None, description="How the content is treated before it "
                                                 "is written: Raw writes it as given, Template renders it as a "
                                                 "template first; Raw when not given.")


class SecretPasswdSource(APIModel):
    """One key of a Secret in the KubeadmConfig's namespace that holds a password hash."""

    name: str = Field(min_length=1, max_length=253, description="The name of the Secret.")
    key: str = Field(min_length=1, max_length=256, description="The key in the Secret's data that holds the hash.")


class PasswdSource(APIModel):
    """Where a user's password hash is read from instead of being given inline."""

    secret: SecretPasswdSource = Field(description="The Secret key holding the password hash.")


class User(APIModel):
    """A user account created on the machine."""

    name: str = Field(min_length=1, max_length=256, description="The user name.")
    gecos: str | None = Field(default=None, min_length=1, max_length=256, description="The GECOS (comment) field, "
                              "usually the full name.")
    groups: str | None = Field(default=None, min_length=1, max_length=256, description="Additional groups, "
                               "comma-separated.")
    home_dir: str | None = Field(default=None, min_length=1, max_length=256, description="The home directory.")
    inactive: bool | None = Field(default=None, description="Create the account disabled. Not supported with "
                                  "Ignition.")
    shell: str | None = Field(default=None, min_length=1, max_length=256, description="The login shell.")
    passwd: str | None = Field(default=None, min_length=1, max_length=256, description="The password, already "
                               "hashed. Exclusive with passwdFrom.")
    passwd_from: PasswdSource | None = Field(default=None, description="Read the password hash from a Secret. "
                                             "Exclusive with passwd.")
    primary_group: str | None = Field(default=None, min_length=1, max_length=256, description="The primary "
                                      "group.")
    lock_password: bool | None = Field(default=None, description="Disable password login for the user.")
    sudo: str | None = Field(default=None, min_length=1, max_length=256, description="A sudoers rule for the user, "
                             "e.g. ALL=(ALL) NOPASSWD:ALL.")
    ssh_authorized_keys: list[Str2048] | None = atomic_list("Public SSH keys allowed to log in as the user.",
                                                            max_items=100, min_items=None)


class NTP(APIModel):
    """Time synchronisation settings (cloud-init's ntp module)."""

    model_config = NOT_EMPTY

    servers: list[Str512] | None = atomic_list("The NTP servers to use.", max_items=100, min_items=None)
    enabled: bool | None = Field(default=None, description="Whether to install and configure an NTP client.")


class PartitionSpec(APIModel):
    """One partition of a disk layout, as a share of the device."""

    percentage: int = Field(ge=1, le=100, json_schema_extra=k8s(format="int32"), description="The share of the "
                            "device the partition takes, in percent.")
    partition_type: str | None = Field(
        default=None, min_length=1, max_length=36, json_schema_extra=k8s(x_kubernetes_validations=[{
            "message": "partitionType must be one of Linux, LinuxSwap, LinuxRAID, LVM, Fat32, NTFS, LinuxExtended "
                       "or a full GPT partition GUID", "rule": PARTITION_TYPE_RULE}]),
        description="The partition type: Linux, LinuxSwap, LinuxRAID, LVM, Fat32, NTFS, LinuxExtended, or a GPT "
                    "partition type GUID.")


class Partition(APIModel):
    """How one device is partitioned (cloud-init disk_setup). Exactly one of layout and diskLayout is set."""

    model_config = ConfigDict(json_schema_extra=k8s(x_kubernetes_validations=[{
        "message": "exactly one of the fields in [layout diskLayout] must be set",
        "rule": "[has(self.layout),has(self.diskLayout)].filter(x,x==true).size() == 1"}]))

    device: str = Field(min_length=1, max_length=256, description="The device to partition, e.g. /dev/sdb.")
    layout: bool | None = Field(default=None, description="True creates one partition spanning the whole device; "
                                "false leaves the device unpartitioned (or its partitions as they are).")
    disk_layout: list[PartitionSpec] | None = atomic_list("The partitions to create, in order, each a share of "
                                                          "the device.", min_items=1, max_items=100)
    overwrite: bool | None = Field(default=None, description="Partition even when the device already holds a "
                                   "partition table or file system, destroying it; false when not given.")
    table_type: PartitionTableType | None = Field(default=None, description="The partition table to create: mbr "
                                                  "(the default) or gpt. Only gpt is supported with Ignition.")


class Filesystem(APIModel):
    """A file system created on the machine (cloud-init fs_setup)."""

    device: str = Field(min_length=1, max_length=256, description="The device to create the file system on.")
    filesystem: str = Field(min_length=1, max_length=128, description="The file system type, e.g. ext4 or xfs.")
    label: str | None = Field(default=None, min_length=1, max_length=512, description="The file system's label; "
                              "the value None creates no label.")
    partition: str | None = Field(default=None, min_length=1, max_length=128, description="Which partition of the "
                                  "device to use: auto, any, auto|any, none, or a partition number. Not supported "
                                  "with Ignition.")
    overwrite: bool | None = Field(default=None, description="Create the file system even when one exists, "
                                   "destroying it.")
    replace_fs: str | None = Field(default=None, alias="replaceFS", min_length=1, max_length=128,
                                   description="A file system type to replace (a cloud-init directive used on "
                                   "Azure); needs the any partition unless a label is set. Not supported with "
                                   "Ignition.")
    extra_opts: list[Str256] | None = atomic_list("Additional options passed to the mkfs command.",
                                                  max_items=100, min_items=None)


class DiskSetup(APIModel):
    """Partitions and file systems to create on the machine's disks."""

    model_config = NOT_EMPTY

    partitions: list[Partition] | None = atomic_list("The devices to partition.", max_items=100, min_items=None)
    filesystems: list[Filesystem] | None = atomic_list("The file systems to create.", max_items=100,
                                                       min_items=None)


class ContainerLinuxConfig(APIModel):
    """Settings for Container Linux Config (CLC), the format the Ignition bootstrap data is produced from."""

    model_config = NOT_EMPTY

    additional_config: str | None = Field(
        default=None, min_length=1, max_length=32768,
        description="Container Linux Config text merged into the configuration the bootstrap "
                    "controller generates.")
    strict: bool | None = Field(default=None, description="Treat warnings while translating additionalConfig as "
                                "errors.")


class IgnitionSpec(APIModel):
    """Settings that apply only when the bootstrap data is written as Ignition."""

    model_config = NOT_EMPTY

    container_linux_config: ContainerLinuxConfig | None = Field(default=None, description="Container Linux "
                                                                "Config settings.")

