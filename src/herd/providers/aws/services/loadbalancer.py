"""The control plane's load balancer: a network load balancer (elbv2: target group, TCP listener on 6443, health
check) or a classic ELB; its DNS name is the cluster's API endpoint. Control plane instances are registered with
it and deregistered before they go."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from . import tags as tagging
from .errors import AWSError, ignore_missing, is_not_found
from .scope import AWSScope

API_SERVER_PORT = 6443
MAX_NAME = 32


@dataclass(frozen=True)
class LoadBalancerSpec:
    """What the load balancer should be (from AWSCluster.spec.controlPlaneLoadBalancer)."""

    name: str
    type: str  # "nlb" or "classic"
    scheme: str
    subnet_ids: list[str]
    security_group_ids: list[str]
    vpc_id: str
    health_check_protocol: str = "TCP"
    cross_zone: bool = False


@dataclass(frozen=True)
class LoadBalancer:
    """The load balancer as it exists."""

    name: str
    type: str
    dns_name: str
    scheme: str
    ready: bool
    arn: str = ""
    target_group_arn: str = ""
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)


def default_name(cluster: str) -> str:
    """`<cluster>-apiserver`, or a shortened cluster name with a digest when that is longer than AWS allows."""
    name = f"{cluster}-apiserver"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:8]
    return f"{cluster[: MAX_NAME - len(digest) - 6].rstrip('-')}-{digest}-apis"


def target_group_name(load_balancer: str) -> str:
    return f"apiserver-target-{hashlib.sha256(load_balancer.encode()).hexdigest()[:10]}"


def reconcile_load_balancer(aws: AWSScope, spec: LoadBalancerSpec) -> LoadBalancer:
    """The load balancer, made with its listener (and target group) when missing."""
    if spec.type == "nlb":
        return _reconcile_nlb(aws, spec)
    return _reconcile_classic(aws, spec)


def _lb_tags(aws: AWSScope, name: str) -> dict[str, str]:
    return aws.tags(tagging.ROLE_APISERVER, name, {tagging.cloud_provider_tag_key(aws.cluster): tagging.OWNED})


def _reconcile_nlb(aws: AWSScope, spec: LoadBalancerSpec) -> LoadBalancer:
    elbv2 = aws.clients.elbv2
    raw = _describe_nlb(aws, spec.name)
    if raw is None:
        raw = elbv2.create_load_balancer(
            Name=spec.name, Type="network", Scheme=spec.scheme, Subnets=spec.subnet_ids,
            SecurityGroups=spec.security_group_ids, Tags=tagging.as_list(_lb_tags(aws, spec.name)),
        )["LoadBalancers"][0]
        if spec.cross_zone:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=raw["LoadBalancerArn"], Attributes=[
                {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
    target_group = _reconcile_target_group(aws, spec)
    listeners = elbv2.describe_listeners(LoadBalancerArn=raw["LoadBalancerArn"])["Listeners"]
    if not any(listener.get("Port") == API_SERVER_PORT for listener in listeners):
        elbv2.create_listener(LoadBalancerArn=raw["LoadBalancerArn"], Protocol="TCP", Port=API_SERVER_PORT,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
                              Tags=tagging.as_list(_lb_tags(aws, spec.name)))
    return LoadBalancer(name=spec.name, type="nlb", dns_name=raw.get("DNSName", ""), scheme=raw.get("Scheme", ""),
                        ready=raw.get("State", {}).get("Code") == "active", arn=raw["LoadBalancerArn"],
                        target_group_arn=target_group,
                        subnet_ids=[zone["SubnetId"] for zone in raw.get("AvailabilityZones", [])],
                        security_group_ids=list(raw.get("SecurityGroups", [])))


def _describe_nlb(aws: AWSScope, name: str) -> dict[str, Any] | None:
    """The network load balancer called `name`, if the provider made it for this cluster; someone else's with
    that name is an error, never adopted."""
    elbv2 = aws.clients.elbv2
    try:
        raw: dict[str, Any] = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    described = elbv2.describe_tags(ResourceArns=[raw["LoadBalancerArn"]])["TagDescriptions"]
    if not aws.owns(described[0].get("Tags") if described else []):
        raise AWSError("DuplicateLoadBalancerName", "CreateLoadBalancer",
                       f"a load balancer called {name} exists and does not belong to cluster {aws.cluster}")
    return raw


def _reconcile_target_group(aws: AWSScope, spec: LoadBalancerSpec) -> str:
    elbv2 = aws.clients.elbv2
    name = target_group_name(spec.name)
    try:
        return str(elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"])
    except Exception as exc:
        if not is_not_found(exc):
            raise
    https = spec.health_check_protocol in {"HTTPS", "HTTP"}
    health = {"HealthCheckProtocol": spec.health_check_protocol if https else "TCP",
              "HealthCheckPort": str(API_SERVER_PORT), "HealthCheckIntervalSeconds": 10,
              "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 3}
    if https:
        health["HealthCheckPath"] = "/readyz"
    created = elbv2.create_target_group(Name=name, Protocol="TCP", Port=API_SERVER_PORT, VpcId=spec.vpc_id,
                                        TargetType="instance", Tags=tagging.as_list(_lb_tags(aws, name)), **health)
    return str(created["TargetGroups"][0]["TargetGroupArn"])


def _reconcile_classic(aws: AWSScope, spec: LoadBalancerSpec) -> LoadBalancer:
    elb = aws.clients.elb
    raw = _describe_classic(aws, spec.name)
    if raw is None:
        elb.create_load_balancer(
            LoadBalancerName=spec.name, Scheme=spec.scheme, Subnets=spec.subnet_ids,
            SecurityGroups=spec.security_group_ids, Tags=tagging.as_list(_lb_tags(aws, spec.name)),
            Listeners=[{"Protocol": "TCP", "LoadBalancerPort": API_SERVER_PORT, "InstanceProtocol": "TCP",
                        "InstancePort": API_SERVER_PORT}])
        target = (f"{spec.health_check_protocol}:{API_SERVER_PORT}/readyz"
                  if spec.health_check_protocol in {"HTTP", "HTTPS"} else f"{spec.health_check_protocol}:"
                  f"{API_SERVER_PORT}")
        elb.configure_health_check(LoadBalancerName=spec.name, HealthCheck={
            "Target": target, "Interval": 10, "Timeout": 5, "HealthyThreshold": 5, "UnhealthyThreshold": 3})
        if spec.cross_zone:
            elb.modify_load_balancer_attributes(LoadBalancerName=spec.name, LoadBalancerAttributes={
                "CrossZoneLoadBalancing": {"Enabled": True}})
        raw = elb.describe_load_balancers(LoadBalancerNames=[spec.name])["LoadBalancerDescriptions"][0]
    return LoadBalancer(name=spec.name, type="classic", dns_name=raw.get("DNSName", ""), scheme=raw.get("Scheme", ""),
                        ready=bool(raw.get("DNSName")), subnet_ids=list(raw.get("Subnets", [])),
                        security_group_ids=list(raw.get("SecurityGroups", [])))


def _describe_classic(aws: AWSScope, name: str) -> dict[str, Any] | None:
    elb = aws.clients.elb
    try:
        raw: dict[str, Any] = elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]
    except Exception as exc:
        if is_not_found(exc) or "AccessPointNotFound" in str(exc):
            return None
        raise
    described = elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"]
    if not aws.owns(described[0].get("Tags") if described else []):
        raise AWSError("DuplicateLoadBalancerName", "CreateLoadBalancer",
                       f"a load balancer called {name} exists and does not belong to cluster {aws.cluster}")
    return raw


def register_instance(aws: AWSScope, lb: LoadBalancer, instance_id: str) -> None:
    """Put a control plane instance behind the load balancer (nothing when it already is)."""
    if lb.type == "nlb":
        health = aws.clients.elbv2.describe_target_health(TargetGroupArn=lb.target_group_arn)
        if not any(t["Target"]["Id"] == instance_id for t in health.get("TargetHealthDescriptions", [])):
            aws.clients.elbv2.register_targets(TargetGroupArn=lb.target_group_arn,
                                               Targets=[{"Id": instance_id, "Port": API_SERVER_PORT}])
        return
    raw = aws.clients.elb.describe_load_balancers(LoadBalancerNames=[lb.name])["LoadBalancerDescriptions"][0]
    if not any(i["InstanceId"] == instance_id for i in raw.get("Instances", [])):
        aws.clients.elb.register_instances_with_load_balancer(LoadBalancerName=lb.name,
                                                              Instances=[{"InstanceId": instance_id}])


def deregister_instance(aws: AWSScope, lb: LoadBalancer, instance_id: str) -> None:
    """Take an instance from behind the load balancer (nothing when it is not there, or the balancer is gone)."""
    if lb.type == "nlb":
        ignore_missing(aws.clients.elbv2.deregister_targets, TargetGroupArn=lb.target_group_arn,
                       Targets=[{"Id": instance_id, "Port": API_SERVER_PORT}])
        return
    try:
        aws.clients.elb.deregister_instances_from_load_balancer(LoadBalancerName=lb.name,
                                                                Instances=[{"InstanceId": instance_id}])
    except Exception as exc:
        if not (is_not_found(exc) or "AccessPointNotFound" in str(exc) or "InvalidInstance" in str(exc)):
            raise


def registered(aws: AWSScope, lb: LoadBalancer) -> list[str]:
    """The instances behind the load balancer."""
    if lb.type == "nlb":
        health = aws.clients.elbv2.describe_target_health(TargetGroupArn=lb.target_group_arn)
        return [t["Target"]["Id"] for t in health.get("TargetHealthDescriptions", [])]
    raw = aws.clients.elb.describe_load_balancers(LoadBalancerNames=[lb.name])["LoadBalancerDescriptions"][0]
    return [i["InstanceId"] for i in raw.get("Instances", [])]


def delete_load_balancer(aws: AWSScope, name: str) -> None:
    """Delete the load balancer of either type, its listeners and target group, if the provider made them."""
    raw = _describe_nlb(aws, name)
    if raw is not None:
        aws.clients.elbv2.delete_load_balancer(LoadBalancerArn=raw["LoadBalancerArn"])
    try:
        groups = aws.clients.elbv2.describe_target_groups(Names=[target_group_name(name)])["TargetGroups"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
        groups = []
    for group in groups:
        ignore_missing(aws.clients.elbv2.delete_target_group, TargetGroupArn=group["TargetGroupArn"])
    if _describe_classic(aws, name) is not None:
        aws.clients.elb.delete_load_balancer(LoadBalancerName=name)
