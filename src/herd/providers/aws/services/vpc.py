"""The cluster's VPC and its internet gateway.

A VPC named by ID that does not carry the cluster's `owned` tag was brought by the user: it is used as it is, and
neither it nor anything in it that the provider did not make is changed or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import tags as tagging
from .errors import AWSError, ignore_missing, is_not_found
from .scope import AWSScope


@dataclass(frozen=True)
class VPC:
    """A VPC as the services need it."""

    id: str
    cidr_block: str
    managed: bool
    tags: dict[str, str]


def _vpc(aws: AWSScope, raw: dict[str, Any]) -> VPC:
    return VPC(id=raw["VpcId"], cidr_block=raw.get("CidrBlock", ""), managed=aws.owns(raw.get("Tags")),
               tags=tagging.as_dict(raw.get("Tags")))


def vpc_name(cluster: str) -> str:
    return f"{cluster}-vpc"


def reconcile_vpc(aws: AWSScope, vpc_id: str | None, cidr_block: str) -> VPC:
    """The cluster's VPC: the one named by `vpc_id`, else the one the provider made earlier, else a new one."""
    ec2 = aws.clients.ec2
    if vpc_id:
        try:
            return _vpc(aws, ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0])
        except Exception as exc:
            if is_not_found(exc):
                raise AWSError("InvalidVpcID.NotFound", "DescribeVpcs", f"VPC {vpc_id} does not exist") from exc
            raise
    existing = ec2.describe_vpcs(Filters=aws.filters(tagging.ROLE_COMMON, vpc_name(aws.cluster)))["Vpcs"]
    if existing:
        return _vpc(aws, existing[0])
    created = ec2.create_vpc(CidrBlock=cidr_block, TagSpecifications=tagging.specification(
        "vpc", aws.tags(tagging.ROLE_COMMON, vpc_name(aws.cluster))))["Vpc"]
    # Instances need DNS names (kubelets register by them); each attribute takes a call of its own.
    ec2.modify_vpc_attribute(VpcId=created["VpcId"], EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=created["VpcId"], EnableDnsHostnames={"Value": True})
    return _vpc(aws, created)


def delete_vpc(aws: AWSScope) -> None:
    """Delete the VPC the provider made (found by its tag); a brought VPC has no such tag and stays."""
    ec2 = aws.clients.ec2
    for raw in ec2.describe_vpcs(Filters=aws.filters(tagging.ROLE_COMMON))["Vpcs"]:
        ignore_missing(ec2.delete_vpc, VpcId=raw["VpcId"])


def reconcile_internet_gateway(aws: AWSScope, vpc: VPC) -> str:
    """The internet gateway attached to a managed VPC (made and attached when missing)."""
    ec2 = aws.clients.ec2
    name = f"{aws.cluster}-igw"
    found = ec2.describe_internet_gateways(Filters=aws.filters(tagging.ROLE_COMMON, name))["InternetGateways"]
    if found:
        gateway = found[0]
    else:
        gateway = ec2.create_internet_gateway(TagSpecifications=tagging.specification(
            "internet-gateway", aws.tags(tagging.ROLE_COMMON, name)))["InternetGateway"]
    if not any(a.get("VpcId") == vpc.id for a in gateway.get("Attachments", [])):
        ec2.attach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc.id)
    return str(gateway["InternetGatewayId"])


def delete_internet_gateways(aws: AWSScope) -> None:
    """Detach and delete every internet gateway the provider made for the cluster."""
    ec2 = aws.clients.ec2
    for gateway in ec2.describe_internet_gateways(Filters=aws.filters())["InternetGateways"]:
        for attachment in gateway.get("Attachments", []):
            ignore_missing(ec2.detach_internet_gateway, InternetGatewayId=gateway["InternetGatewayId"],
                            VpcId=attachment["VpcId"])
        ignore_missing(ec2.delete_internet_gateway, InternetGatewayId=gateway["InternetGatewayId"])

