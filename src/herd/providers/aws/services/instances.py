"""EC2 instances: found by the machine's ID or tags before one is launched, so a crash after RunInstances never
makes a second; terminated on delete."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import tags as tagging
from .errors import is_not_found
from .scope import AWSScope

LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass(frozen=True)
class Instance:
    """An instance as the AWSMachine reports it."""

    id: str
    state: str
    availability_zone: str
    subnet_id: str = ""
    image_id: str = ""
    private_ip: str = ""
    private_dns: str = ""
    public_ip: str = ""
    public_dns: str = ""
    security_group_ids: list[str] = field(default_factory=list)

    @property
    def provider_id(self) -> str:
        return f"aws:///{self.availability_zone}/{self.id}"

    def addresses(self) -> list[dict[str, str]]:
        """Cluster API's MachineAddresses of the instance."""
        pairs = [("InternalIP", self.private_ip), ("InternalDNS", self.private_dns),
                 ("ExternalIP", self.public_ip), ("ExternalDNS", self.public_dns)]
        return [{"type": kind, "address": value} for kind, value in pairs if value]


@dataclass(frozen=True)
class LaunchSpec:
    """Everything RunInstances needs for one machine."""

    machine: str
    role: str
    image_id: str
    root_device_name: str
    instance_type: str
    subnet_id: str
    security_group_ids: list[str]
    user_data: bytes
    iam_instance_profile: str | None = None
    ssh_key_name: str | None = None
    root_volume: Mapping[str, Any] | None = None
    additional_tags: Mapping[str, str] | None = None
    public_ip: bool = False


def _instance(raw: dict[str, Any]) -> Instance:
    return Instance(
        id=raw["InstanceId"], state=raw.get("State", {}).get("Name", "pending"),
        availability_zone=raw.get("Placement", {}).get("AvailabilityZone", ""), subnet_id=raw.get("SubnetId", ""),
        image_id=raw.get("ImageId", ""), private_ip=raw.get("PrivateIpAddress", "") or "",
        private_dns=raw.get("PrivateDnsName", "") or "", public_ip=raw.get("PublicIpAddress", "") or "",
        public_dns=raw.get("PublicDnsName", "") or "",
        security_group_ids=[group["GroupId"] for group in raw.get("SecurityGroups", [])])


def find_instance(aws: AWSScope, machine: str, instance_id: str | None) -> Instance | None:
    """The machine's instance: by ID when known, else the live instance tagged with the machine's name."""
    ec2 = aws.clients.ec2
    if instance_id:
        try:
            reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
    else:
        reservations = ec2.describe_instances(Filters=aws.filters(
            name=machine, instance_state_name=LIVE_STATES))["Reservations"]
    found = [_instance(raw) for reservation in reservations for raw in reservation["Instances"]]
    return found[0] if found else None


def launch(aws: AWSScope, spec: LaunchSpec) -> Instance:
    """Start the machine's instance, tagged so that `find_instance` finds it even if the caller never learns its
    ID; the root volume is tagged alike so nothing is left unnamed."""
    tags = aws.tags(spec.role, spec.machine, spec.additional_tags)
    request: dict[str, Any] = {
        "ImageId": spec.image_id, "InstanceType": spec.instance_type, "MinCount": 1, "MaxCount": 1,
        "UserData": spec.user_data,  # botocore base64-encodes it
        "TagSpecifications": tagging.specification("instance", tags) + tagging.specification("volume", tags),
        "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": spec.subnet_id, "Groups": spec.security_group_ids,
                               "AssociatePublicIpAddress": spec.public_ip}],
    }
    if spec.iam_instance_profile:
        request["IamInstanceProfile"] = {"Name": spec.iam_instance_profile}
    if spec.ssh_key_name:
        request["KeyName"] = spec.ssh_key_name
    if spec.root_volume:
        ebs = {"VolumeSize": spec.root_volume["size"], "DeleteOnTermination": True}
        for key, name in (("type", "VolumeType"), ("iops", "Iops"), ("encrypted", "Encrypted")):
            if spec.root_volume.get(key) is not None:
                ebs[name] = spec.root_volume[key]
        request["BlockDeviceMappings"] = [{"DeviceName": spec.root_volume.get("deviceName") or spec.root_device_name,
                                           "Ebs": ebs}]
    raw = aws.clients.ec2.run_instances(**request)["Instances"][0]
    return _instance(raw)


def terminate(aws: AWSScope, instance_id: str) -> bool:
    """Terminate the instance; True once it is terminated (or gone)."""
    ec2 = aws.clients.ec2
    try:
        changes = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"]
    except Exception as exc:
        if is_not_found(exc):
            return True
        raise
    return all(change.get("CurrentState", {}).get("Name") == "terminated" for change in changes)


def user_data_of(aws: AWSScope, instance_id: str) -> bytes:
    """The user data the instance boots with, as EC2 hands it to the instance."""
    attribute = aws.clients.ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return base64.b64decode(attribute.get("UserData", {}).get("Value", ""))
