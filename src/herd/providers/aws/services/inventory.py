"""Everything AWS holds for a cluster, listed by the cluster's `owned` tag: what a leak check counts after delete."""

from __future__ import annotations

from . import tags as tagging
from .instances import LIVE_STATES
from .scope import AWSScope


def owned_resources(aws: AWSScope) -> dict[str, list[str]]:
    """Resource type → IDs (or names) of the live resources tagged as owned by the cluster."""
    ec2, found = aws.clients.ec2, {}
    found["vpcs"] = [r["VpcId"] for r in ec2.describe_vpcs(Filters=aws.filters())["Vpcs"]]
    found["subnets"] = [r["SubnetId"] for r in ec2.describe_subnets(Filters=aws.filters())["Subnets"]]
    found["internet-gateways"] = [r["InternetGatewayId"] for r in ec2.describe_internet_gateways(
        Filters=aws.filters())["InternetGateways"]]
    found["nat-gateways"] = [r["NatGatewayId"] for r in ec2.describe_nat_gateways(Filters=aws.filters())[
        "NatGateways"] if r.get("State") not in {"deleted", "failed"}]
    found["elastic-ips"] = [r["AllocationId"] for r in ec2.describe_addresses(Filters=aws.filters())["Addresses"]]
    found["route-tables"] = [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=aws.filters())[
        "RouteTables"]]
    found["security-groups"] = [r["GroupId"] for r in ec2.describe_security_groups(Filters=aws.filters())[
        "SecurityGroups"]]
    found["instances"] = [i["InstanceId"] for r in ec2.describe_instances(Filters=aws.filters(
        instance_state_name=LIVE_STATES))["Reservations"] for i in r["Instances"]]
    found["load-balancers"] = _tagged_load_balancers(aws)
    found["target-groups"] = _tagged_target_groups(aws)
    key = tagging.cluster_tag_key(aws.cluster)
    found["secrets"] = [s["Name"] for s in aws.clients.secretsmanager.list_secrets(Filters=[
        {"Key": "tag-key", "Values": [key]}])["SecretList"]]
    found["parameters"] = [p["Name"] for p in aws.clients.ssm.describe_parameters(ParameterFilters=[
        {"Key": f"tag:{key}", "Values": [tagging.OWNED]}])["Parameters"]]
    return found


def _tagged_load_balancers(aws: AWSScope) -> list[str]:
    names = []
    nlbs = aws.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    for raw in nlbs:
        described = aws.clients.elbv2.describe_tags(ResourceArns=[raw["LoadBalancerArn"]])["TagDescriptions"]
        if described and aws.owns(described[0].get("Tags")):
            names.append(raw["LoadBalancerName"])
    classics = aws.clients.elb.describe_load_balancers()["LoadBalancerDescriptions"]
    for raw in classics:
        described = aws.clients.elb.describe_tags(LoadBalancerNames=[raw["LoadBalancerName"]])["TagDescriptions"]
        if described and aws.owns(described[0].get("Tags")):
            names.append(raw["LoadBalancerName"])
    return names


def _tagged_target_groups(aws: AWSScope) -> list[str]:
    names = []
    for raw in aws.clients.elbv2.describe_target_groups()["TargetGroups"]:
        described = aws.clients.elbv2.describe_tags(ResourceArns=[raw["TargetGroupArn"]])["TagDescriptions"]
        if described and aws.owns(described[0].get("Tags")):
            names.append(raw["TargetGroupName"])
    return names
