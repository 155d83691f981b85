"""NAT gateways (one per public subnet, each with an Elastic IP) so private subnets reach the internet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import tags as tagging
from .errors import error_code, ignore_missing
from .scope import AWSScope
from .subnets import Subnet

LIVE_NAT_STATES = ["pending", "available"]


@dataclass(frozen=True)
class NatGateway:
    """A NAT gateway in a public subnet."""

    id: str
    subnet_id: str
    state: str
    public_ip: str


def reconcile_nat_gateways(aws: AWSScope, public_subnets: list[Subnet]) -> list[NatGateway]:
    """A NAT gateway in each public subnet, each with an Elastic IP of its own (allocated when missing)."""
    ec2 = aws.clients.ec2
    existing = {
        raw["SubnetId"]: raw for raw in ec2.describe_nat_gateways(
            Filters=aws.filters(state=LIVE_NAT_STATES))["NatGateways"]}
    missing = [subnet for subnet in public_subnets if subnet.id not in existing]
    in_use = {address.get("AllocationId") for raw in existing.values()
              for address in raw.get("NatGatewayAddresses", [])}
    addresses = _addresses(aws, in_use) if missing else {}
    for subnet in missing:
        eip_name = f"{aws.cluster}-eip-{subnet.availability_zone}"
        reused = addresses.get(eip_name)
        try:
            existing[subnet.id] = _create_nat(aws, subnet, reused or _allocate(aws, eip_name))
        except Exception as exc:
            if not reused or error_code(exc) != "Resource.AlreadyAssociated":
                raise
            # the address still counts as associated (moto keeps a deleted gateway's): take a new one
            existing[subnet.id] = _create_nat(aws, subnet, _allocate(aws, eip_name))
    gateways = []
    for subnet in public_subnets:
        raw = existing[subnet.id]
        ips = [address.get("PublicIp", "") for address in raw.get("NatGatewayAddresses", [])]
        gateways.append(NatGateway(id=raw["NatGatewayId"], subnet_id=subnet.id, state=raw.get("State", "pending"),
                                   public_ip=next((ip for ip in ips if ip), "")))
    return gateways


def _allocate(aws: AWSScope, name: str) -> str:
    return str(aws.clients.ec2.allocate_address(Domain="vpc", TagSpecifications=tagging.specification(
        "elastic-ip", aws.tags(tagging.ROLE_COMMON, name)))["AllocationId"])


def _create_nat(aws: AWSScope, subnet: Subnet, allocation: str) -> dict[str, Any]:
    name = f"{aws.cluster}-nat-{subnet.availability_zone}"
    created: dict[str, Any] = aws.clients.ec2.create_nat_gateway(
        SubnetId=subnet.id, AllocationId=allocation, TagSpecifications=tagging.specification(
            "natgateway", aws.tags(tagging.ROLE_COMMON, name)))["NatGateway"]
    return created


def _addresses(aws: AWSScope, in_use: set[str | None]) -> dict[str, str]:
    """The cluster's Elastic IPs no live NAT gateway holds, by Name: one left by a NAT creation that failed, or by
    a NAT gateway deleted behind the provider's back, is reused."""
    found = aws.clients.ec2.describe_addresses(Filters=aws.filters())["Addresses"]
    return {tagging.as_dict(raw.get("Tags")).get(tagging.NAME_TAG, ""): raw["AllocationId"]
            for raw in found if raw["AllocationId"] not in in_use}


def delete_nat_gateways(aws: AWSScope) -> bool:
    """Delete the cluster's NAT gateways; True once all are gone (deletion takes a while on AWS)."""
    ec2 = aws.clients.ec2
    gone = True
    for raw in ec2.describe_nat_gateways(Filters=aws.filters())["NatGateways"]:
        if raw.get("State") in LIVE_NAT_STATES:
            ignore_missing(ec2.delete_nat_gateway, NatGatewayId=raw["NatGatewayId"])
        if raw.get("State") != "deleted":
            gone = False
    if not gone:
        gone = all(raw.get("State") in {"deleted", "failed"}
                   for raw in ec2.describe_nat_gateways(Filters=aws.filters())["NatGateways"])
    return gone


def release_addresses(aws: AWSScope) -> None:
    """Release the cluster's Elastic IPs (after their NAT gateways are gone)."""
    ec2 = aws.clients.ec2
    for raw in ec2.describe_addresses(Filters=aws.filters())["Addresses"]:
        ignore_missing(ec2.release_address, AllocationId=raw["AllocationId"])
