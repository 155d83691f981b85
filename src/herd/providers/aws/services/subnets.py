"""The cluster's subnets: one public and one private per availability zone in a managed VPC, or the subnets a
brought VPC already has."""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass, field
from typing import Any

from . import tags as tagging
from .errors import ignore_missing
from .scope import AWSScope
from .vpc import VPC

ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


@dataclass
class Subnet:
    """A subnet as the services need it (CAPA's SubnetSpec fields)."""

    id: str
    cidr_block: str
    availability_zone: str
    is_public: bool
    route_table_id: str | None = None
    nat_gateway_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def subnet_name(cluster: str, public: bool, zone: str) -> str:
    return f"{cluster}-subnet-{'public' if public else 'private'}-{zone}"


def _subnet(raw: dict[str, Any]) -> Subnet:
    tags = tagging.as_dict(raw.get("Tags"))
    public = (tags.get(tagging.ROLE_TAG) == tagging.ROLE_PUBLIC or ELB_ROLE_TAG in tags
              or bool(raw.get("MapPublicIpOnLaunch")))
    return Subnet(id=raw["SubnetId"], cidr_block=raw.get("CidrBlock", ""), availability_zone=raw["AvailabilityZone"],
                  is_public=public, tags=tags)


def choose_zones(aws: AWSScope, limit: int, selection: str) -> list[str]:
    """Up to `limit` available availability zones of the region, by name or at random."""
    zones = aws.clients.ec2.describe_availability_zones(Filters=[
        {"Name": "state", "Values": ["available"]}, {"Name": "zone-type", "Values": ["availability-zone"]},
    ])["AvailabilityZones"]
    names = sorted(zone["ZoneName"] for zone in zones)
    if selection == "Random":
        return sorted(random.sample(names, min(limit, len(names))))
    return names[:limit]


def layout(vpc_cidr: str, zones: list[str]) -> list[tuple[str, bool, str]]:
    """(zone, public, CIDR) of every subnet: the VPC's range cut into equal blocks, the public ones first."""
    network = ipaddress.ip_network(vpc_cidr)
    bits = math.ceil(math.log2(max(2, 2 * len(zones))))
    blocks = list(network.subnets(prefixlen_diff=bits))
    public = [(zone, True, str(blocks[i])) for i, zone in enumerate(zones)]
    private = [(zone, False, str(blocks[len(zones) + i])) for i, zone in enumerate(zones)]
    return public + private


def reconcile_subnets(aws: AWSScope, vpc: VPC, wanted_ids: list[str], zone_limit: int,
                      zone_selection: str) -> list[Subnet]:
    """The cluster's subnets, sorted by (private first, zone).

    In a brought VPC: the subnets named by `wanted_ids`, else all of the VPC's. In a managed VPC: a public and a
    private subnet in each of `zone_limit` zones, made when missing (zones already used are kept)."""
    ec2 = aws.clients.ec2
    if not vpc.managed:
        query: dict[str, Any] = ({"SubnetIds": wanted_ids} if wanted_ids
                                 else {"Filters": [{"Name": "vpc-id", "Values": [vpc.id]}]})
        return _sorted([_subnet(raw) for raw in ec2.describe_subnets(**query)["Subnets"]])
    existing = [_subnet(raw) for raw in ec2.describe_subnets(Filters=aws.filters(vpc_id=[vpc.id]))["Subnets"]]
    used_zones = sorted({subnet.availability_zone for subnet in existing})
    zones = used_zones if len(used_zones) >= zone_limit else _more_zones(aws, used_zones, zone_limit, zone_selection)
    have = {(subnet.availability_zone, subnet.is_public) for subnet in existing}
    taken = {subnet.cidr_block for subnet in existing}
    for zone, public, cidr in layout(vpc.cidr_block, zones):
        if (zone, public) in have:
            continue
        if cidr in taken:  # a zone set changed under existing subnets: use the next free block
            cidr = _free_block(vpc.cidr_block, taken, len(zones))
        role = tagging.ROLE_PUBLIC if public else tagging.ROLE_PRIVATE
        extra = {tagging.cloud_provider_tag_key(aws.cluster): tagging.SHARED,
                 ELB_ROLE_TAG if public else INTERNAL_ELB_ROLE_TAG: "1"}
        raw = ec2.create_subnet(VpcId=vpc.id, CidrBlock=cidr, AvailabilityZone=zone,
                                TagSpecifications=tagging.specification("subnet", aws.tags(
                                    role, subnet_name(aws.cluster, public, zone), extra)))["Subnet"]
        if public:
            ec2.modify_subnet_attribute(SubnetId=raw["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        existing.append(_subnet(raw))
        taken.add(cidr)
    return _sorted(existing)


def _more_zones(aws: AWSScope, used: list[str], limit: int, selection: str) -> list[str]:
    """The zones in use, topped up to `limit` with new ones."""
    fresh = [zone for zone in choose_zones(aws, limit + len(used), selection) if zone not in used]
    return sorted(used + fresh[: limit - len(used)])


def _free_block(vpc_cidr: str, taken: set[str], zones: int) -> str:
    bits = math.ceil(math.log2(max(2, 2 * zones)))
    for block in ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=bits + 1):
        if not any(block.overlaps(ipaddress.ip_network(other)) for other in taken):
            return str(block)
    raise ValueError(f"no free address range left in {vpc_cidr}")


def _sorted(subnets: list[Subnet]) -> list[Subnet]:
    return sorted(subnets, key=lambda subnet: (subnet.is_public, subnet.availability_zone, subnet.id))


def delete_subnets(aws: AWSScope) -> None:
    """Delete every subnet the provider made for the cluster."""
    ec2 = aws.clients.ec2
    for raw in ec2.describe_subnets(Filters=aws.filters())["Subnets"]:
        ignore_missing(ec2.delete_subnet, SubnetId=raw["SubnetId"])
