"""Cloud-init user data for a machine: the cluster certificates and kubeadm's configuration as files, then
`kubeadm init` or `kubeadm join` between the user's pre- and post-kubeadm commands.

Pure functions from already-resolved inputs (files and passwords read from Secrets, discovery filled in) to
the `#cloud-config` text, laid out as upstream's kubeadm bootstrap provider does, so that images and tools
made for Cluster API read it the same way:

- certificates under the certificates dir (default /etc/kubernetes/pki; keys 0600, certificates 0640);
- kubeadm's configuration in /run/kubeadm/kubeadm.yaml (init) or /run/kubeadm/kubeadm-join-config.yaml (join);
- success is recorded in /run/cluster-api/bootstrap-success.complete once kubeadm has finished.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from herd.contract.certificates import (
    CLUSTER_CA,
    DEFAULT_CERTIFICATES_DIR,
    ETCD_CA,
    FRONT_PROXY_CA,
    SERVICE_ACCOUNT,
    KeyPair,
    Purpose,
)

from .kubeadmtypes import SAFE_DUMPER, dump

# The `## template: jinja` line lets users put cloud-init instance data (e.g. {{ ds.meta_data.local_hostname }})
# into their kubeadm settings, as upstream allows.
HEADER = "## template: jinja\n#cloud-config\n"
INIT_CONFIG_PATH = "/run/kubeadm/kubeadm.yaml"
JOIN_CONFIG_PATH = "/run/kubeadm/kubeadm-join-config.yaml"
SENTINEL_DIR = "/run/cluster-api"
SENTINEL_FILE = f"{SENTINEL_DIR}/bootstrap-success.complete"
SENTINEL_COMMAND = f"echo success > {SENTINEL_FILE}"
ROOT_OWNER = "root:root"
CERT_PERMISSIONS = "0640"
KEY_PERMISSIONS = "0600"

# File names under the certificates dir, per purpose, as kubeadm expects them.
_CERT_FILES: dict[Purpose, tuple[str, str]] = {
    CLUSTER_CA: ("ca.crt", "ca.key"),
    ETCD_CA: ("etcd/ca.crt", "etcd/ca.key"),
    FRONT_PROXY_CA: ("front-proxy-ca.crt", "front-proxy-ca.key"),
    SERVICE_ACCOUNT: ("sa.pub", "sa.key"),
}
# Partition type names Cluster API accepts → the codes cloud-init passes to sfdisk (mbr) or sgdisk (gpt).
_MBR_TYPES = {"Linux": "83", "LinuxSwap": "82", "LinuxRAID": "fd", "LVM": "8e", "Fat32": "0c", "NTFS": "07",
              "LinuxExtended": "85"}
_GPT_TYPES = {"Linux": "8300", "LinuxSwap": "8200", "LinuxRAID": "fd00", "LVM": "8e00", "Fat32": "0700",
              "NTFS": "0700", "LinuxExtended": "8300"}
_USER_FIELDS = {"name": "name", "gecos": "gecos", "groups": "groups", "homeDir": "homedir", "shell": "shell",
                "passwd": "passwd", "primaryGroup": "primary_group", "lockPassword": "lock_passwd", "sudo": "sudo",
                "sshAuthorizedKeys": "ssh_authorized_keys"}
_FS_FIELDS = {"label": "label", "filesystem": "filesystem", "device": "device", "partition": "partition",
              "overwrite": "overwrite", "replaceFS": "replace_fs", "extraOpts": "extra_opts"}


@dataclass
class UserData:
    """What every machine's user data carries besides kubeadm: from KubeadmConfigSpec, with `files[].contentFrom`
    and `users[].passwdFrom` already resolved into `content` and `passwd` (wire-format dicts)."""

    files: Sequence[Mapping[str, Any]] = ()
    pre_kubeadm_commands: Sequence[str] = ()
    post_kubeadm_commands: Sequence[str] = ()
    boot_commands: Sequence[str] = ()
    users: Sequence[Mapping[str, Any]] = ()
    ntp: Mapping[str, Any] | None = None
    disk_setup: Mapping[str, Any] | None = None
    mounts: Sequence[Sequence[str]] = ()
    verbosity: int | None = None
    extra_files: list[dict[str, Any]] = field(default_factory=list)  # e.g. a generated discovery kubeconfig

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, files: Sequence[Mapping[str, Any]],
                  users: Sequence[Mapping[str, Any]]) -> UserData:
        """From a KubeadmConfig's spec (wire dict) and its resolved files and users."""
        return cls(files=files, users=users, pre_kubeadm_commands=spec.get("preKubeadmCommands") or (),
                   post_kubeadm_commands=spec.get("postKubeadmCommands") or (),
                   boot_commands=spec.get("bootCommands") or (), ntp=spec.get("ntp"),
                   disk_setup=spec.get("diskSetup"), mounts=spec.get("mounts") or (), verbosity=spec.get("verbosity"))


# ----- pieces -----

def write_file(path: str, content: str, *, permissions: str = CERT_PERMISSIONS, owner: str = ROOT_OWNER,
               encoding: str | None = None, append: bool | None = None) -> dict[str, Any]:
    """One cloud-init write_files entry."""
    entry: dict[str, Any] = {"path": path, "owner": owner, "permissions": permissions}
    if encoding:
        entry["encoding"] = encoding
    if append:
        entry["append"] = True
    entry["content"] = content
    return entry


def certificate_files(pairs: Mapping[Purpose, KeyPair], certificates_dir: str | None = None) -> list[dict[str, Any]]:
    """write_files entries for the cluster certificates: certificates 0640, private keys 0600."""
    base = certificates_dir or DEFAULT_CERTIFICATES_DIR
    files = []
    for purpose, (cert_name, key_name) in _CERT_FILES.items():
        pair = pairs.get(purpose)
        if pair is None:
            continue
        if pair.cert:
            files.append(write_file(posixpath.join(base, cert_name), pair.cert.decode()))
        if pair.key:
            files.append(write_file(posixpath.join(base, key_name), pair.key.decode(), permissions=KEY_PERMISSIONS))
    return files


def user_file(spec_file: Mapping[str, Any]) -> dict[str, Any]:
    """A KubeadmConfig `files` entry (content resolved) as a write_files entry."""
    entry: dict[str, Any] = {"path": spec_file["path"]}
    for key in ("owner", "permissions", "encoding"):
        if spec_file.get(key):
            entry[key] = spec_file[key]
    if spec_file.get("append"):
        entry["append"] = True
    entry["content"] = spec_file.get("content") or ""
    return entry


# cloud-init's `inactive` is a number of days for useradd, not a flag: an account created disabled is one that
# expired at once.
DISABLED_ACCOUNT_EXPIRY = "1970-01-02"


def _user(spec_user: Mapping[str, Any]) -> dict[str, Any]:
    user = {target: spec_user[source] for source, target in _USER_FIELDS.items() if spec_user.get(source) is not None}
    if spec_user.get("inactive"):
        user["expiredate"] = DISABLED_ACCOUNT_EXPIRY
    return user


def _partition_type(name: str, table_type: str) -> int | str:
    code = (_GPT_TYPES if table_type == "gpt" else _MBR_TYPES).get(name, name)
    return int(code) if code.isdecimal() else code  # cloud-init's schema wants numbers; hex codes stay strings


def _disk_setup(disk_setup: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    disks: dict[str, Any] = {}
    for partition in disk_setup.get("partitions") or ():
        table_type = partition.get("tableType") or "mbr"
        layout: Any = partition.get("layout")
        if partition.get("diskLayout"):
            layout = [[p["percentage"], _partition_type(p["partitionType"], table_type)]
                      if p.get("partitionType") else p["percentage"] for p in partition["diskLayout"]]
        disk: dict[str, Any] = {"table_type": table_type, "layout": layout}
        if partition.get("overwrite") is not None:
            disk["overwrite"] = partition["overwrite"]
        disks[partition["device"]] = disk
    filesystems = [{target: fs[source] for source, target in _FS_FIELDS.items() if fs.get(source) is not None}
                   for fs in disk_setup.get("filesystems") or ()]
    return disks, filesystems


def _kubeadm_command(command: str, config_path: str, verbosity: int | None) -> str:
    flags = f" --v {verbosity}" if verbosity is not None else ""
    return f"kubeadm {command} --config {config_path}{flags} && {SENTINEL_COMMAND}"


# ----- documents -----

class _Dumper(SAFE_DUMPER):  # type: ignore[valid-type,misc]
    """Multi-line strings (certificates, kubeadm documents) as literal blocks, so the user data stays readable."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _cloud_config(data: UserData, certificates: list[dict[str, Any]], kubeadm_file: dict[str, Any],
                  command: str) -> str:
    files = [*certificates, *(user_file(f) for f in data.files), *data.extra_files, kubeadm_file]
    # cloud-init creates parent directories for write_files; this placeholder creates /run/cluster-api for the
    # sentinel in a way that also works on Windows, where `mkdir -p` does not.
    files.append(write_file(f"{SENTINEL_DIR}/placeholder", "This placeholder file is used to create the "
                            f"{SENTINEL_DIR} sub directory in a way that is compatible with both Linux and Windows "
                            f"(mkdir -p {SENTINEL_DIR} does not work with Windows)"))
    doc: dict[str, Any] = {"write_files": files,
                           "runcmd": [*data.pre_kubeadm_commands, command, *data.post_kubeadm_commands]}
    if data.boot_commands:
        doc["bootcmd"] = list(data.boot_commands)
    if data.ntp:
        ntp: dict[str, Any] = {}
        if data.ntp.get("enabled") is not None:
            ntp["enabled"] = data.ntp["enabled"]
        if data.ntp.get("servers"):
            ntp["servers"] = list(data.ntp["servers"])
        doc["ntp"] = ntp
    if data.users:
        doc["users"] = [_user(u) for u in data.users]
    if data.disk_setup:
        disks, filesystems = _disk_setup(data.disk_setup)
        if disks:
            doc["disk_setup"] = disks
        if filesystems:
            doc["fs_setup"] = filesystems
    if data.mounts:
        doc["mounts"] = [list(m) for m in data.mounts]
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 16)


def render_init(data: UserData, *, certificates: list[dict[str, Any]], cluster_configuration: dict[str, Any],
                init_configuration: dict[str, Any]) -> str:
    """User data for the machine that creates the cluster: certificates, kubeadm.yaml, `kubeadm init`."""
    kubeadm_yaml = write_file(INIT_CONFIG_PATH, dump(cluster_configuration, init_configuration))
    return _cloud_config(data, certificates, kubeadm_yaml, _kubeadm_command("init", INIT_CONFIG_PATH, data.verbosity))


def render_join(data: UserData, *, join_configuration: dict[str, Any],
                certificates: list[dict[str, Any]] | None = None) -> str:
    """User data for a machine joining the cluster: a control plane join also carries the certificates."""
    join_yaml = write_file(JOIN_CONFIG_PATH, dump(join_configuration))
    return _cloud_config(data, certificates or [], join_yaml,
                         _kubeadm_command("join", JOIN_CONFIG_PATH, data.verbosity))
