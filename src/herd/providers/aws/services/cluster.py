"""A cluster's infrastructure built one step at a time, each step a condition of the AWSCluster: VPC, subnets,
internet gateway, NAT gateways, route tables, security groups, load balancer. A step needs the ones before it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .gateways import NatGateway, reconcile_nat_gateways
from .loadbalancer import LoadBalancer, LoadBalancerSpec, reconcile_load_balancer
from .routes import reconcile_route_tables
from .scope import AWSScope
from .securitygroups import API_SERVER_LB, reconcile_security_groups
from .subnets import Subnet, reconcile_subnets
from .vpc import VPC, reconcile_internet_gateway, reconcile_vpc

VPC_STEP = "vpc"
SUBNETS_STEP = "subnets"
INTERNET_GATEWAY_STEP = "internet-gateway"
NAT_GATEWAYS_STEP = "nat-gateways"
ROUTE_TABLES_STEP = "route-tables"
SECURITY_GROUPS_STEP = "security-groups"
LOAD_BALANCER_STEP = "load-balancer"
STEPS = (VPC_STEP, SUBNETS_STEP, INTERNET_GATEWAY_STEP, NAT_GATEWAYS_STEP, ROUTE_TABLES_STEP, SECURITY_GROUPS_STEP,
         LOAD_BALANCER_STEP)


@dataclass(frozen=True)
class ClusterDesired:
    """What the AWSCluster asks for, in the services' terms."""

    vpc_id: str | None = None
    cidr_block: str = "10.0.0.0/16"
    subnet_ids: list[str] = field(default_factory=list)
    zone_limit: int = 3
    zone_selection: str = "Ordered"
    security_group_overrides: Mapping[str, str] = field(default_factory=dict)
    load_balancer_name: str = ""
    load_balancer_type: str = "classic"
    scheme: str = "internet-facing"
    health_check_protocol: str = "TCP"
    cross_zone: bool = False
    additional_load_balancer_groups: list[str] = field(default_factory=list)


@dataclass
class ClusterNetwork:
    """What exists so far."""

    vpc: VPC | None = None
    subnets: list[Subnet] = field(default_factory=list)
    internet_gateway: str = ""
    nat_gateways: list[NatGateway] = field(default_factory=list)
    security_groups: dict[str, dict[str, str]] = field(default_factory=dict)
    load_balancer: LoadBalancer | None = None

    def public_subnets(self) -> list[Subnet]:
        return [subnet for subnet in self.subnets if subnet.is_public]

    def private_subnets(self) -> list[Subnet]:
        return [subnet for subnet in self.subnets if not subnet.is_public]

    @property
    def nat_gateways_ready(self) -> bool:
        return all(nat.state == "available" for nat in self.nat_gateways)


def reconcile_step(aws: AWSScope, desired: ClusterDesired, state: ClusterNetwork, step: str) -> None:
    """Do one step (its part of `state` is filled in); a brought VPC skips the gateways and route tables."""
    if step == VPC_STEP:
        state.vpc = reconcile_vpc(aws, desired.vpc_id, desired.cidr_block)
        return
    assert state.vpc is not None, "the VPC step comes first"
    vpc = state.vpc
    if step == SUBNETS_STEP:
        state.subnets = reconcile_subnets(aws, vpc, desired.subnet_ids, desired.zone_limit, desired.zone_selection)
    elif step == INTERNET_GATEWAY_STEP and vpc.managed:
        state.internet_gateway = reconcile_internet_gateway(aws, vpc)
    elif step == NAT_GATEWAYS_STEP and vpc.managed:
        state.nat_gateways = reconcile_nat_gateways(aws, state.public_subnets())
    elif step == ROUTE_TABLES_STEP and vpc.managed:
        tables = reconcile_route_tables(aws, vpc, state.subnets, state.internet_gateway, state.nat_gateways)
        nat_of = {nat.subnet_id: nat.id for nat in state.nat_gateways}
        for subnet in state.subnets:
            subnet.route_table_id = tables.get(subnet.id)
            subnet.nat_gateway_id = nat_of.get(subnet.id)
    elif step == SECURITY_GROUPS_STEP:
        state.security_groups = reconcile_security_groups(aws, vpc, desired.security_group_overrides,
                                                          desired.load_balancer_type == "nlb")
    elif step == LOAD_BALANCER_STEP and desired.load_balancer_type != "disabled":
        state.load_balancer = reconcile_load_balancer(aws, load_balancer_spec(desired, state))


def load_balancer_spec(desired: ClusterDesired, state: ClusterNetwork) -> LoadBalancerSpec:
    """The load balancer in the public subnets (internet-facing) or the private ones (internal), one per zone."""
    subnets = state.public_subnets() if desired.scheme == "internet-facing" else state.private_subnets()
    by_zone = {subnet.availability_zone: subnet.id for subnet in reversed(subnets)}
    groups = [state.security_groups[API_SERVER_LB]["id"], *list(desired.additional_load_balancer_groups)]
    assert state.vpc is not None
    return LoadBalancerSpec(name=desired.load_balancer_name, type=desired.load_balancer_type, scheme=desired.scheme,
                            subnet_ids=sorted(by_zone.values()), security_group_ids=groups, vpc_id=state.vpc.id,
                            health_check_protocol=desired.health_check_protocol, cross_zone=desired.cross_zone)


def reconcile_all(aws: AWSScope, desired: ClusterDesired) -> ClusterNetwork:
    """Every step in order (for tests and tools; the AWSCluster controller runs them one by one)."""
    state = ClusterNetwork()
    for step in STEPS:
        reconcile_step(aws, desired, state, step)
    return state
