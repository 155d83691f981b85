"""AWSCluster reconcile and delete: the network, security groups and API server load balancer, a condition per
step (CAPA's), the load balancer's DNS name as the control plane endpoint, and the private subnets' zones as
failure domains. Created IDs are recorded in the spec as CAPA records them (vpc.id, subnets, internetGatewayId)."""

from __future__ import annotations

import asyncio
from typing import Any

from herd.api.conditions import DELETING_REASON, READY_REASON
from herd.providersdk import APIEndpoint, ClusterContext, ClusterProvisioned, FailureDomain, PermanentError, Waiting

from .api.awscluster import (
    API_SERVER_PORT,
    CLUSTER_SECURITY_GROUPS_READY,
    DEFAULT_VPC_CIDR,
    INTERNET_GATEWAY_FAILED_REASON,
    INTERNET_GATEWAY_READY,
    LOAD_BALANCER_FAILED_REASON,
    LOAD_BALANCER_READY,
    NAT_GATEWAYS_CREATION_STARTED_REASON,
    NAT_GATEWAYS_READY,
    NAT_GATEWAYS_RECONCILIATION_FAILED_REASON,
    ROUTE_TABLE_RECONCILIATION_FAILED_REASON,
    ROUTE_TABLES_READY,
    SECURITY_GROUP_RECONCILIATION_FAILED_REASON,
    SUBNETS_READY,
    SUBNETS_RECONCILIATION_FAILED_REASON,
    VPC_READY,
    VPC_RECONCILIATION_FAILED_REASON,
    WAIT_FOR_DNS_NAME_REASON,
    WAIT_FOR_DNS_NAME_RESOLVE_REASON,
    WAIT_FOR_EXTERNAL_CONTROL_PLANE_ENDPOINT_REASON,
    AWSClusterSpec,
    AWSClusterStatus,
    LoadBalancer,
    NetworkStatus,
    SecurityGroup,
)
from .credentials import credentials_for
from .environment import environment_of
from .failures import retryable
from .services import cluster as steps
from .services.loadbalancer import default_name
from .services.scope import AWSScope
from .services.teardown import delete_cluster_infrastructure

Context = ClusterContext[AWSClusterSpec, AWSClusterStatus]

# Each step's condition and the reason it carries when the step fails.
STEP_CONDITIONS = {
    steps.VPC_STEP: (VPC_READY, VPC_RECONCILIATION_FAILED_REASON),
    steps.SUBNETS_STEP: (SUBNETS_READY, SUBNETS_RECONCILIATION_FAILED_REASON),
    steps.INTERNET_GATEWAY_STEP: (INTERNET_GATEWAY_READY, INTERNET_GATEWAY_FAILED_REASON),
    steps.NAT_GATEWAYS_STEP: (NAT_GATEWAYS_READY, NAT_GATEWAYS_RECONCILIATION_FAILED_REASON),
    steps.ROUTE_TABLES_STEP: (ROUTE_TABLES_READY, ROUTE_TABLE_RECONCILIATION_FAILED_REASON),
    steps.SECURITY_GROUPS_STEP: (CLUSTER_SECURITY_GROUPS_READY, SECURITY_GROUP_RECONCILIATION_FAILED_REASON),
    steps.LOAD_BALANCER_STEP: (LOAD_BALANCER_READY, LOAD_BALANCER_FAILED_REASON),
}
NOT_READY_RETRY = 5.0  # seconds between looks while NAT gateways or the load balancer come up
RESYNC = 600.0  # a look without any event, to notice what changed in AWS behind the provider's back (CAPA's sync)
# CAPA's loadBalancerType values as the services know them ("elb" is CAPA's other name for classic)
LOAD_BALANCER_TYPES = {"classic": "classic", "elb": "classic", "nlb": "nlb", "alb": "alb", "disabled": "disabled"}


async def scope_of(ctx: Context) -> AWSScope:
    """The cluster's view of AWS: the clients of its region, its name and additional tags."""
    credentials = await credentials_for(ctx.client, ctx.namespace, ctx.object.get("spec"))
    clients = await environment_of(ctx.services).clients_async(ctx.spec.region, credentials)
    return AWSScope(clients, ctx.cluster_name, dict(ctx.spec.additional_tags or {}))


def desired_of(spec: AWSClusterSpec, cluster: str) -> steps.ClusterDesired:
    """What the AWSCluster's spec asks for, in the services' terms."""
    network = spec.network
    vpc = network.vpc if network else None
    lb = spec.control_plane_load_balancer
    return steps.ClusterDesired(
        vpc_id=vpc.id if vpc else None, cidr_block=(vpc.cidr_block if vpc else None) or DEFAULT_VPC_CIDR,
        subnet_ids=[subnet.resource_id or subnet.id for subnet in (network.subnets or [])] if network else [],
        zone_limit=(vpc.availability_zone_usage_limit if vpc else None) or 3,
        zone_selection=(vpc.availability_zone_selection if vpc else None) or "Ordered",
        security_group_overrides={str(k): v for k, v in (network.security_group_overrides or {}).items()}
        if network else {},
        load_balancer_name=(lb.name if lb else None) or default_name(cluster),
        load_balancer_type=LOAD_BALANCER_TYPES[(lb.load_balancer_type if lb else None) or "classic"],
        scheme=(lb.scheme if lb else None) or "internet-facing",
        health_check_protocol=(lb.health_check_protocol if lb else None) or "TCP",
        cross_zone=bool(lb and lb.cross_zone_load_balancing),
        additional_load_balancer_groups=list((lb.additional_security_groups if lb else None) or []))


async def reconcile_cluster(ctx: Context) -> ClusterProvisioned | Waiting:
    aws = await scope_of(ctx)
    desired = desired_of(ctx.spec, ctx.cluster_name)
    if desired.load_balancer_type == "alb":
        message = "loadBalancerType alb cannot serve the API server (it speaks HTTP only); use nlb or classic"
        ctx.set_condition(LOAD_BALANCER_READY, False, LOAD_BALANCER_FAILED_REASON, message)
        raise PermanentError(message, reason="InvalidSpec")
    state = steps.ClusterNetwork()
    for step in steps.STEPS:
        condition, failed_reason = STEP_CONDITIONS[step]
        try:
            await asyncio.to_thread(steps.reconcile_step, aws, desired, state, step)
        except Exception as exc:
            error, retry = retryable(exc, failed_reason)
            ctx.set_condition(condition, False, failed_reason, str(error))
            _record(ctx, state)
            raise retry from exc
        ctx.set_condition(condition, True, READY_REASON)
    _record(ctx, state)
    if not state.nat_gateways_ready:
        ctx.set_condition(NAT_GATEWAYS_READY, False, NAT_GATEWAYS_CREATION_STARTED_REASON,
                          "waiting for the NAT gateways to become available")
        return Waiting(NAT_GATEWAYS_CREATION_STARTED_REASON, "NAT gateways are on their way", NOT_READY_RETRY)
    zones = sorted({subnet.availability_zone for subnet in state.private_subnets()})
    failure_domains = [FailureDomain(name=zone, control_plane=True) for zone in zones]
    lb = state.load_balancer
    if lb is None:  # disabled: the user brings the endpoint
        endpoint = ctx.spec.control_plane_endpoint
        if endpoint is None or not endpoint.host:
            message = "loadBalancerType is disabled: set spec.controlPlaneEndpoint"
            ctx.set_condition(LOAD_BALANCER_READY, False, WAIT_FOR_EXTERNAL_CONTROL_PLANE_ENDPOINT_REASON, message)
            return Waiting(WAIT_FOR_EXTERNAL_CONTROL_PLANE_ENDPOINT_REASON, message)
        ctx.set_condition(LOAD_BALANCER_READY, True, READY_REASON, "disabled; the endpoint is the user's")
        return ClusterProvisioned(endpoint=None, failure_domains=failure_domains, recheck_after=RESYNC)
    if not lb.ready or not lb.dns_name:
        ctx.set_condition(LOAD_BALANCER_READY, False, WAIT_FOR_DNS_NAME_REASON, "the load balancer is provisioning")
        return Waiting(WAIT_FOR_DNS_NAME_REASON, "waiting for the load balancer's DNS name", NOT_READY_RETRY)
    check = ctx.spec.control_plane_load_balancer.dns_resolution_check if ctx.spec.control_plane_load_balancer else None
    if check != "None" and not await _resolves(lb.dns_name):
        message = f"the load balancer's DNS name {lb.dns_name} does not resolve yet"
        ctx.set_condition(LOAD_BALANCER_READY, False, WAIT_FOR_DNS_NAME_RESOLVE_REASON, message)
        return Waiting(WAIT_FOR_DNS_NAME_RESOLVE_REASON, message, NOT_READY_RETRY * 3)
    return ClusterProvisioned(endpoint=APIEndpoint(host=lb.dns_name, port=API_SERVER_PORT),
                              failure_domains=failure_domains, recheck_after=RESYNC)


async def _resolves(host: str) -> bool:
    try:
        await asyncio.get_running_loop().getaddrinfo(host, API_SERVER_PORT)
    except (OSError, UnicodeError):
        return False
    return True


def _record(ctx: Context, state: steps.ClusterNetwork) -> None:
    """Write what exists into the spec (as CAPA does) and the status, so the next reconcile and the machines see
    it even when this one failed half-way."""
    spec: dict[str, Any] = ctx.object.setdefault("spec", {})
    if state.vpc is not None:
        vpc = spec.setdefault("network", {}).setdefault("vpc", {})
        vpc["id"] = state.vpc.id
        vpc["cidrBlock"] = state.vpc.cidr_block
        if state.internet_gateway:
            vpc["internetGatewayId"] = state.internet_gateway
    if state.subnets:
        spec.setdefault("network", {})["subnets"] = [_subnet_spec(subnet) for subnet in state.subnets]
    status = ctx.status.network_status or NetworkStatus()
    if state.security_groups:
        status.security_groups = {role: SecurityGroup(id=group["id"], name=group["name"])  # type: ignore[misc]
                                  for role, group in state.security_groups.items()}
    if state.nat_gateways:
        status.nat_gateways_ips = [nat.public_ip for nat in state.nat_gateways if nat.public_ip]
    if state.load_balancer is not None:
        lb = state.load_balancer
        status.api_server_elb = LoadBalancer(
            arn=lb.arn or None, name=lb.name, dns_name=lb.dns_name or None, scheme=lb.scheme or None,
            load_balancer_type=lb.type, subnet_ids=lb.subnet_ids or None,
            security_group_ids=lb.security_group_ids or None, target_group_arn=lb.target_group_arn or None)
    ctx.status.network_status = status


def _subnet_spec(subnet: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": subnet.id, "resourceID": subnet.id, "cidrBlock": subnet.cidr_block,
                             "availabilityZone": subnet.availability_zone, "isPublic": subnet.is_public}
    if subnet.route_table_id:
        entry["routeTableId"] = subnet.route_table_id
    if subnet.nat_gateway_id:
        entry["natGatewayId"] = subnet.nat_gateway_id
    if subnet.tags:
        entry["tags"] = dict(sorted(subnet.tags.items()))
    return entry


async def delete_cluster(ctx: Context) -> Waiting | None:
    """Wait for every AWSMachine of the cluster to go, then delete in the reverse order of creation."""
    machines = ctx.machines()
    if machines:
        return Waiting(DELETING_REASON, f"waiting for {len(machines)} AWSMachines to be deleted", NOT_READY_RETRY)
    aws = await scope_of(ctx)
    name = desired_of(ctx.spec, ctx.cluster_name).load_balancer_name
    try:
        done = await asyncio.to_thread(delete_cluster_infrastructure, aws, name)
    except Exception as exc:
        raise retryable(exc, "DeletionFailed")[1] from exc
    if not done:
        return Waiting(DELETING_REASON, "waiting for the NAT gateways to be deleted", NOT_READY_RETRY)
    return None
