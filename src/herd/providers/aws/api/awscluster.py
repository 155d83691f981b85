"""AWSCluster: a cluster's AWS infrastructure (network, security groups, API server load balancer), CAPA's shape."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api.base import APIModel
from herd.providersdk import ClusterSpec, ClusterStatus

from .types import SecurityGroupRole, tags_field

CLUSTER_FINALIZER = "awscluster.infrastructure.cluster.x-k8s.io"

# Conditions (CAPA's names) and their reasons.
VPC_READY = "VpcReady"
SUBNETS_READY = "SubnetsReady"
INTERNET_GATEWAY_READY = "InternetGatewayReady"
NAT_GATEWAYS_READY = "NatGatewaysReady"
ROUTE_TABLES_READY = "RouteTablesReady"
CLUSTER_SECURITY_GROUPS_READY = "ClusterSecurityGroupsReady"
LOAD_BALANCER_READY = "LoadBalancerReady"
CLUSTER_CONDITIONS = (VPC_READY, SUBNETS_READY, INTERNET_GATEWAY_READY, NAT_GATEWAYS_READY, ROUTE_TABLES_READY,
                      CLUSTER_SECURITY_GROUPS_READY, LOAD_BALANCER_READY)
VPC_RECONCILIATION_FAILED_REASON = "VpcReconciliationFailed"
SUBNETS_RECONCILIATION_FAILED_REASON = "SubnetsReconciliationFailed"
INTERNET_GATEWAY_FAILED_REASON = "InternetGatewayFailed"
NAT_GATEWAYS_CREATION_STARTED_REASON = "NatGatewaysCreationStarted"
NAT_GATEWAYS_RECONCILIATION_FAILED_REASON = "NatGatewaysReconciliationFailed"
ROUTE_TABLE_RECONCILIATION_FAILED_REASON = "RouteTableReconciliationFailed"
SECURITY_GROUP_RECONCILIATION_FAILED_REASON = "SecurityGroupReconciliationFailed"
LOAD_BALANCER_FAILED_REASON = "LoadBalancerFailed"
WAIT_FOR_DNS_NAME_REASON = "WaitForDNSName"
WAIT_FOR_DNS_NAME_RESOLVE_REASON = "WaitForDNSNameResolve"
WAIT_FOR_EXTERNAL_CONTROL_PLANE_ENDPOINT_REASON = "WaitForExternalControlPlaneEndpoint"

DEFAULT_VPC_CIDR = "10.0.0.0/16"
DEFAULT_AZ_USAGE_LIMIT = 3
API_SERVER_PORT = 6443

LoadBalancerType = Literal["classic", "elb", "alb", "nlb", "disabled"]
ELBScheme = Literal["internet-facing", "internal"]
ELBProtocol = Literal["TCP", "SSL", "HTTP", "HTTPS", "TLS", "UDP"]


class VPCSpec(APIModel):
    """The cluster's VPC: created and owned by the provider, or brought by the user (`id` set)."""

    id: str | None = Field(default=None, description="The ID of a VPC to use. A VPC the provider did not create "
                           "is never modified or deleted.")
    cidr_block: str | None = Field(default=None, description="The CIDR block of a VPC the provider creates "
                                   "(default 10.0.0.0/16).")
    internet_gateway_id: str | None = Field(default=None, description="The internet gateway attached to the VPC; "
                                            "filled in by the provider.")
    tags: dict[str, str] | None = tags_field("The tags of the VPC, as last observed.")
    availability_zone_usage_limit: int | None = Field(
        default=DEFAULT_AZ_USAGE_LIMIT, ge=1, description="How many availability zones get a public and a private "
        "subnet when the provider creates them.")
    availability_zone_selection: Literal["Ordered", "Random"] | None = Field(
        default="Ordered", description="How the availability zones are chosen: in name order, or at random.")


class SubnetSpec(APIModel):
    """One subnet of the cluster's VPC."""

    id: str = Field(description="The subnet's ID (an AWS ID once the subnet exists).")
    resource_id: str | None = Field(default=None, alias="resourceID", description="The subnet's AWS ID.")
    cidr_block: str | None = Field(default=None, description="The subnet's IPv4 CIDR block.")
    availability_zone: str | None = Field(default=None, description="The availability zone the subnet is in.")
    is_public: bool = Field(default=False, description="Whether the subnet routes to an internet gateway.")
    route_table_id: str | None = Field(default=None, description="The route table associated with the subnet.")
    nat_gateway_id: str | None = Field(default=None, description="The NAT gateway in this (public) subnet.")
    tags: dict[str, str] | None = tags_field("The subnet's tags.")


class NetworkSpec(APIModel):
    """The cluster's network."""

    vpc: VPCSpec | None = Field(default=None, description="The VPC.")
    subnets: list[SubnetSpec] | None = Field(default=None, description="The subnets; created by the provider when "
                                             "empty, one public and one private per availability zone.")
    security_group_overrides: dict[SecurityGroupRole, str] | None = Field(
        default=None, description="Security group IDs to use for a role instead of creating one.")


class AWSLoadBalancerSpec(APIModel):
    """The load balancer in front of the control plane's API servers."""

    name: str | None = Field(default=None, max_length=32, description="The load balancer's name (default "
                             "<cluster>-apiserver).")
    scheme: ELBScheme | None = Field(default="internet-facing", description="internet-facing or internal.")
    load_balancer_type: LoadBalancerType | None = Field(default="classic", description="classic (ELB) or nlb "
                                                        "(network load balancer).")
    health_check_protocol: ELBProtocol | None = Field(default=None, description="The protocol of the health check "
                                                      "(TCP by default).")
    cross_zone_load_balancing: bool | None = Field(default=None, description="Whether the load balancer spreads "
                                                   "traffic over the instances of every zone.")
    dns_resolution_check: Literal["None", "Enabled"] | None = Field(
        default=None, description="None: the load balancer is ready without waiting for its DNS name to resolve.")
    additional_security_groups: list[str] | None = Field(default=None, description="More security groups for the "
                                                         "load balancer.")


class AWSIdentityReference(APIModel):
    """Whose AWS credentials the cluster's resources are made with."""

    name: str = Field(min_length=1, description="The identity's name: for kind Secret, a Secret in the AWSCluster's "
                      "namespace with the keys AccessKeyID, SecretAccessKey and optionally SessionToken.")
    kind: Literal["AWSClusterControllerIdentity", "Secret"] = Field(
        description="AWSClusterControllerIdentity: the controller's own credentials (boto3's chain: environment, "
                    "profile, instance role), CAPA's default; Secret: herd's stand-in for CAPA's "
                    "AWSClusterStaticIdentity, whose keys it shares.")


class AWSClusterSpec(ClusterSpec):
    """The desired state of an AWSCluster."""

    network: NetworkSpec | None = Field(default=None, description="The cluster's network.")
    region: str | None = Field(default=None, description="The AWS region, e.g. us-east-1.")
    ssh_key_name: str | None = Field(default=None, description="The EC2 key pair instances get by default.")
    additional_tags: dict[str, str] | None = tags_field("Tags added to every AWS resource of the cluster.")
    control_plane_load_balancer: AWSLoadBalancerSpec | None = Field(
        default=None, description="The load balancer in front of the API servers.")
    identity_ref: AWSIdentityReference | None = Field(default=None, description="Whose credentials to use; the "
                                                      "controller's own when unset.")
    image_lookup_format: str | None = Field(default=None, description="The AMI name pattern machines look up by "
                                            "default ({{.BaseOS}} and {{.K8sVersion}} are replaced).")
    image_lookup_org: str | None = Field(default=None, description="The AWS account that owns looked up AMIs.")
    image_lookup_base_os: str | None = Field(default=None, alias="imageLookupBaseOS",
                                             description="The base OS of looked up AMIs, e.g. ubuntu-24.04.")


class SecurityGroup(APIModel):
    """A security group the cluster uses."""

    id: str = Field(description="The security group's ID.")
    name: str = Field(default="", description="The security group's name.")
    tags: dict[str, str] | None = tags_field("The security group's tags.")


class LoadBalancer(APIModel):
    """The API server load balancer as it exists."""

    arn: str | None = Field(default=None, description="The ARN (nlb).")
    name: str | None = Field(default=None, description="The load balancer's name.")
    dns_name: str | None = Field(default=None, description="The load balancer's DNS name.")
    scheme: str | None = Field(default=None, description="internet-facing or internal.")
    load_balancer_type: str | None = Field(default=None, description="classic or nlb.")
    subnet_ids: list[str] | None = Field(default=None, description="The subnets it serves.")
    security_group_ids: list[str] | None = Field(default=None,
                                                 description="Its security groups.")
    target_group_arn: str | None = Field(default=None,
                                         description="The target group of the 6443 listener (nlb).")


class NetworkStatus(APIModel):
    """What the provider built for the cluster's network."""

    security_groups: dict[SecurityGroupRole, SecurityGroup] | None = Field(
        default=None, description="The security group of each role.")
    api_server_elb: LoadBalancer | None = Field(default=None,
                                                description="The API server load balancer.")
    nat_gateways_ips: list[str] | None = Field(default=None, alias="natGatewaysIPs",
                                               description="The public IPs of the NAT gateways.")


class AWSClusterStatus(ClusterStatus):
    """The observed state of an AWSCluster (conditions: Ready, Provisioned, Paused, VpcReady, SubnetsReady,
    InternetGatewayReady, NatGatewaysReady, RouteTablesReady, ClusterSecurityGroupsReady, LoadBalancerReady;
    failureDomains: the availability zones of the private subnets)."""

    network_status: NetworkStatus | None = Field(default=None,
                                                 description="What was built for the network.")
