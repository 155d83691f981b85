"""Route tables: one per subnet of a managed VPC; public ones route to the internet gateway, private ones to the
NAT gateway of their zone."""

from __future__ import annotations

from typing import Any

from . import tags as tagging
from .errors import ignore_missing
from .gateways import NatGateway
from .scope import AWSScope
from .subnets import Subnet
from .vpc import VPC

DEFAULT_ROUTE = "0.0.0.0/0"


def route_table_name(cluster: str, subnet: Subnet) -> str:
    return f"{cluster}-rt-{'public' if subnet.is_public else 'private'}-{subnet.availability_zone}"


def reconcile_route_tables(aws: AWSScope, vpc: VPC, subnets: list[Subnet], internet_gateway: str,
                           nat_gateways: list[NatGateway]) -> dict[str, str]:
    """Each subnet's route table (subnet ID → route table ID), made, routed and associated when missing."""
    ec2 = aws.clients.ec2
    tables = {tagging.as_dict(raw.get("Tags")).get(tagging.NAME_TAG, ""): raw
              for raw in ec2.describe_route_tables(Filters=aws.filters(vpc_id=[vpc.id]))["RouteTables"]}
    nat_by_zone = _nat_by_zone(subnets, nat_gateways)
    result: dict[str, str] = {}
    for subnet in subnets:
        name = route_table_name(aws.cluster, subnet)
        table = tables.get(name)
        if table is None:
            role = tagging.ROLE_PUBLIC if subnet.is_public else tagging.ROLE_PRIVATE
            table = ec2.create_route_table(VpcId=vpc.id, TagSpecifications=tagging.specification(
                "route-table", aws.tags(role, name)))["RouteTable"]
        target = ({"GatewayId": internet_gateway} if subnet.is_public
                  else {"NatGatewayId": nat_by_zone.get(subnet.availability_zone, "")})
        if next(iter(target.values())) and not _routes_to(table, target):
            _replace_default_route(ec2, table, target)
        if not any(a.get("SubnetId") == subnet.id for a in table.get("Associations", [])):
            ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet.id)
        result[subnet.id] = str(table["RouteTableId"])
    return result


def _nat_by_zone(subnets: list[Subnet], nat_gateways: list[NatGateway]) -> dict[str, str]:
    """The NAT gateway serving each zone: the zone's own, else the first one (a zone without a public subnet)."""
    zone_of = {subnet.id: subnet.availability_zone for subnet in subnets}
    by_zone = {zone_of.get(nat.subnet_id, ""): nat.id for nat in nat_gateways}
    fallback = nat_gateways[0].id if nat_gateways else ""
    return {subnet.availability_zone: by_zone.get(subnet.availability_zone, fallback) for subnet in subnets}


def _routes_to(table: dict[str, Any], target: dict[str, str]) -> bool:
    key, value = next(iter(target.items()))
    return any(route.get("DestinationCidrBlock") == DEFAULT_ROUTE and route.get(key) == value
               for route in table.get("Routes", []))


def _replace_default_route(ec2: Any, table: dict[str, Any], target: dict[str, str]) -> None:
    has_default = any(route.get("DestinationCidrBlock") == DEFAULT_ROUTE for route in table.get("Routes", []))
    call = ec2.replace_route if has_default else ec2.create_route
    call(RouteTableId=table["RouteTableId"], DestinationCidrBlock=DEFAULT_ROUTE, **target)


def delete_route_tables(aws: AWSScope) -> None:
    """Disassociate and delete every route table the provider made for the cluster."""
    ec2 = aws.clients.ec2
    for table in ec2.describe_route_tables(Filters=aws.filters())["RouteTables"]:
        for association in table.get("Associations", []):
            if not association.get("Main"):
                ignore_missing(ec2.disassociate_route_table, AssociationId=association["RouteTableAssociationId"])
        ignore_missing(ec2.delete_route_table, RouteTableId=table["RouteTableId"])
