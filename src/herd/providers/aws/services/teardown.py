"""A cluster's infrastructure deleted in the reverse order of its making; only what carries the cluster's `owned`
tag is touched, so a brought VPC (and whatever the user put in it) stays."""

from __future__ import annotations

from .gateways import delete_nat_gateways, release_addresses
from .loadbalancer import delete_load_balancer
from .routes import delete_route_tables
from .scope import AWSScope
from .securitygroups import delete_security_groups
from .subnets import delete_subnets
from .vpc import delete_internet_gateways, delete_vpc


def delete_cluster_infrastructure(aws: AWSScope, load_balancer: str) -> bool:
    """Delete a step at a time; False while NAT gateways are still going away (call again later)."""
    delete_load_balancer(aws, load_balancer)
    delete_security_groups(aws)
    delete_route_tables(aws)
    if not delete_nat_gateways(aws):
        return False
    release_addresses(aws)
    delete_internet_gateways(aws)
    delete_subnets(aws)
    delete_vpc(aws)
    return True
