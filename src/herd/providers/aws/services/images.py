"""Which AMI an instance boots: the one named by ID, or the newest available image whose name matches the lookup
format for the Machine's Kubernetes version and base OS (CAPA's rules and defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import AWSError
from .scope import AWSScope

DEFAULT_LOOKUP_FORMAT = "capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*"
DEFAULT_LOOKUP_ORG = "819546954734"  # the account that publishes Cluster API's AMIs
DEFAULT_BASE_OS = "ubuntu-24.04"


@dataclass(frozen=True)
class Image:
    """An AMI: its ID and the device its root volume is attached as."""

    id: str
    root_device_name: str


def image_name(lookup_format: str | None, base_os: str | None, kubernetes_version: str) -> str:
    """The name pattern for a version: `{{.BaseOS}}` and `{{.K8sVersion}}` (without the leading v) replaced."""
    pattern = lookup_format or DEFAULT_LOOKUP_FORMAT
    return (pattern.replace("{{.BaseOS}}", base_os or DEFAULT_BASE_OS)
            .replace("{{.K8sVersion}}", kubernetes_version.removeprefix("v")))


def architecture_of(aws: AWSScope, instance_type: str, cache: dict[str, str]) -> str:
    """The CPU architecture an instance type runs (x86_64 when AWS does not say); remembered per type."""
    if instance_type not in cache:
        found = aws.clients.ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
        architectures = found[0].get("ProcessorInfo", {}).get("SupportedArchitectures", []) if found else []
        cache[instance_type] = "arm64" if architectures == ["arm64"] else "x86_64"
    return cache[instance_type]


def find_image(aws: AWSScope, ami_id: str | None, lookup_format: str | None, lookup_org: str | None,
               base_os: str | None, kubernetes_version: str | None, architecture: str) -> Image:
    """The AMI to boot; an error naming the pattern when nothing matches."""
    ec2 = aws.clients.ec2
    if ami_id:
        images = ec2.describe_images(ImageIds=[ami_id])["Images"]
    else:
        if not kubernetes_version:
            raise AWSError("MissingKubernetesVersion", "DescribeImages",
                           "no AMI ID and no Kubernetes version on the Machine to look one up by")
        name = image_name(lookup_format, base_os, kubernetes_version)
        images = ec2.describe_images(Filters=[
            {"Name": "owner-id", "Values": [lookup_org or DEFAULT_LOOKUP_ORG]},
            {"Name": "name", "Values": [name]},
            {"Name": "architecture", "Values": [architecture]},
            {"Name": "state", "Values": ["available"]},
            {"Name": "virtualization-type", "Values": ["hvm"]},
        ])["Images"]
        if not images:
            raise AWSError("ImageNotFound", "DescribeImages",
                           f"no available AMI named {name!r} for {architecture} owned by "
                           f"{lookup_org or DEFAULT_LOOKUP_ORG}")
    newest = max(images, key=lambda image: str(image.get("CreationDate", "")))
    return Image(id=str(newest["ImageId"]), root_device_name=str(newest.get("RootDeviceName") or "/dev/sda1"))
