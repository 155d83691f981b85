"""The cluster services against moto: what a full 3-zone network looks like, that a second pass makes nothing new,
and that teardown leaves nothing tagged for the cluster while a brought VPC stays."""

from __future__ import annotations

import pytest

from herd.providers.aws.services import tags as tagging
from herd.providers.aws.services.cluster import ClusterDesired, reconcile_all
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.loadbalancer import default_name
from herd.providers.aws.services.scope import AWSScope
from herd.providers.aws.services.teardown import delete_cluster_infrastructure


def _desired(aws: AWSScope, lb_type: str, **more: object) -> ClusterDesired:
    return ClusterDesired(load_balancer_name=default_name(aws.cluster), load_balancer_type=lb_type,
                          **more)  # type: ignore[arg-type]


def _counts(aws: AWSScope) -> dict[str, int]:
    return {kind: len(ids) for kind, ids in owned_resources(aws).items()}


@pytest.mark.parametrize("lb_type", ["nlb", "classic"])
def test_a_managed_network_in_three_zones_is_built_once_and_torn_down_completely(
        aws: AWSScope, lb_type: str) -> None:
    network = reconcile_all(aws, _desired(aws, lb_type))

    assert network.vpc is not None and network.vpc.managed
    zones = sorted({subnet.availability_zone for subnet in network.subnets})
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert [subnet.is_public for subnet in network.subnets] == [False] * 3 + [True] * 3
    assert all(subnet.route_table_id for subnet in network.subnets)
    assert {nat.subnet_id for nat in network.nat_gateways} == {s.id for s in network.public_subnets()}
    assert set(network.security_groups) == {"controlplane", "node", "apiserver-lb", "lb"}
    assert network.load_balancer is not None
    assert network.load_balancer.dns_name.startswith(f"{aws.cluster}-apiserver")
    first = _counts(aws)
    assert first == {"vpcs": 1, "subnets": 6, "internet-gateways": 1, "nat-gateways": 3, "elastic-ips": 3,
                     "route-tables": 6, "security-groups": 4, "instances": 0, "load-balancers": 1,
                     "target-groups": 1 if lb_type == "nlb" else 0, "secrets": 0, "parameters": 0}

    again = reconcile_all(aws, _desired(aws, lb_type))  # e.g. after a crash before the status write
    assert again.vpc == network.vpc
    assert [s.id for s in again.subnets] == [s.id for s in network.subnets]
    assert _counts(aws) == first

    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))
    assert all(not ids for ids in owned_resources(aws).values()), owned_resources(aws)


def test_the_zone_limit_and_overrides_are_honoured(aws: AWSScope) -> None:
    ec2 = aws.clients.ec2
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    mine = ec2.create_security_group(GroupName=f"{aws.cluster}-mine", Description="x", VpcId=vpc)["GroupId"]
    network = reconcile_all(aws, _desired(aws, "nlb", zone_limit=1, cidr_block="10.1.0.0/16",
                                          security_group_overrides={"node": mine}))
    assert len(network.subnets) == 2
    assert network.security_groups["node"]["id"] == mine
    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))
    assert ec2.describe_security_groups(GroupIds=[mine])["SecurityGroups"], "an overriding group is not deleted"
    ec2.delete_security_group(GroupId=mine)
    ec2.delete_vpc(VpcId=vpc)


def test_a_brought_vpc_is_used_as_is_and_survives_deletion(aws: AWSScope) -> None:
    ec2 = aws.clients.ec2
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    ec2.create_tags(Resources=[public], Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"]

    network = reconcile_all(aws, _desired(aws, "nlb", vpc_id=vpc))

    assert network.vpc is not None and not network.vpc.managed
    assert {s.id: s.is_public for s in network.subnets} == {public: True, private: False}
    assert network.nat_gateways == [] and network.internet_gateway == ""
    counts = _counts(aws)
    assert counts["vpcs"] == counts["subnets"] == counts["nat-gateways"] == 0
    assert counts["security-groups"] == 4
    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))
    assert all(not ids for ids in owned_resources(aws).values())
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"], "the brought VPC survives"
    assert len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]) == 2


def test_resources_carry_the_cluster_role_and_name_tags(aws: AWSScope) -> None:
    network = reconcile_all(aws, _desired(aws, "nlb", zone_limit=1))
    assert network.vpc is not None
    assert network.vpc.tags[tagging.cluster_tag_key(aws.cluster)] == "owned"
    assert network.vpc.tags[tagging.ROLE_TAG] == "common"
    assert network.vpc.tags["Name"] == f"{aws.cluster}-vpc"
    assert network.vpc.tags["team"] == "herd"
    public = network.public_subnets()[0]
    assert public.tags["kubernetes.io/role/elb"] == "1"
    assert public.tags[tagging.ROLE_TAG] == "public"
    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))


def test_a_nat_gateway_deleted_behind_the_providers_back_is_made_again_and_routed_to(aws: AWSScope) -> None:
    desired = _desired(aws, "classic", zone_limit=1)
    first = reconcile_all(aws, desired)
    aws.clients.ec2.delete_nat_gateway(NatGatewayId=first.nat_gateways[0].id)

    again = reconcile_all(aws, desired)

    assert again.nat_gateways[0].id != first.nat_gateways[0].id
    private = again.private_subnets()[0]
    table = aws.clients.ec2.describe_route_tables(RouteTableIds=[private.route_table_id])["RouteTables"][0]
    defaults = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert [r.get("NatGatewayId") for r in defaults] == [again.nat_gateways[0].id]
    assert delete_cluster_infrastructure(aws, default_name(aws.cluster))
    assert all(not ids for ids in owned_resources(aws).values()), "every address released"
