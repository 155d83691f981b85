"""The cluster's security groups, one per role (controlplane, node, apiserver-lb, lb), and their ingress rules.

A role named in `securityGroupOverrides` uses the given group, which the provider neither changes nor deletes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import tags as tagging
from .errors import error_code, ignore_missing
from .scope import AWSScope
from .vpc import VPC

CONTROL_PLANE = "controlplane"
NODE = "node"
API_SERVER_LB = "apiserver-lb"
LB = "lb"
ROLES = (CONTROL_PLANE, NODE, API_SERVER_LB, LB)
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Rule:
    """One ingress rule: a protocol and port range, from a CIDR block or from the group of a role."""

    description: str
    protocol: str
    from_port: int
    to_port: int
    cidr: str | None = None
    source_role: str | None = None


def desired_rules(role: str, nlb: bool) -> list[Rule]:
    """The ingress rules of a role's group (CAPA's set for a Calico-networked kubeadm cluster, without a bastion)."""
    cluster_peers = (CONTROL_PLANE, NODE)
    calico = [Rule("bgp (calico)", "tcp", 179, 179, source_role=peer) for peer in cluster_peers]
    calico += [Rule("IP-in-IP (calico)", "4", -1, -1, source_role=peer) for peer in cluster_peers]
    kubelet = [Rule("Kubelet API", "tcp", 10250, 10250, source_role=peer) for peer in cluster_peers]
    if role == CONTROL_PLANE:
        api = [Rule("Kubernetes API", "tcp", 6443, 6443, source_role=API_SERVER_LB)]
        api += [Rule("Kubernetes API", "tcp", 6443, 6443, source_role=peer) for peer in cluster_peers]
        if nlb:  # a network load balancer passes its clients' addresses through
            api.append(Rule("Kubernetes API (nlb)", "tcp", 6443, 6443, cidr=ANYWHERE))
        etcd = [Rule("etcd", "tcp", 2379, 2379, source_role=CONTROL_PLANE),
                Rule("etcd peer", "tcp", 2380, 2380, source_role=CONTROL_PLANE)]
        return api + etcd + calico + kubelet
    if role == NODE:
        node_ports = [Rule("Node Port Services", protocol, 30000, 32767, cidr=ANYWHERE) for protocol in ("tcp", "udp")]
        return node_ports + calico + kubelet
    if role == API_SERVER_LB:
        return [Rule("Kubernetes API", "tcp", 6443, 6443, cidr=ANYWHERE)]
    return []


def group_name(cluster: str, role: str) -> str:
    return f"{cluster}-{role}"


def reconcile_security_groups(aws: AWSScope, vpc: VPC, overrides: Mapping[str, str] | None,
                              nlb: bool) -> dict[str, dict[str, str]]:
    """Each role's group (role → {id, name}): the override, else the group the provider made, else a new one; the
    provider's groups get their missing ingress rules."""
    ec2 = aws.clients.ec2
    overrides = dict(overrides or {})
    found = {tagging.as_dict(raw.get("Tags")).get(tagging.ROLE_TAG, ""): raw for raw in ec2.describe_security_groups(
        Filters=aws.filters(vpc_id=[vpc.id]))["SecurityGroups"]}
    groups: dict[str, dict[str, str]] = {}
    for role in ROLES:
        if role in overrides:
            groups[role] = {"id": overrides[role], "name": ""}
            continue
        raw = found.get(role)
        if raw is None:
            name = group_name(aws.cluster, role)
            extra = {tagging.cloud_provider_tag_key(aws.cluster): tagging.OWNED} if role == LB else None
            created = ec2.create_security_group(
                GroupName=name, Description=f"Kubernetes cluster {aws.cluster}: {role}", VpcId=vpc.id,
                TagSpecifications=tagging.specification("security-group", aws.tags(role, name, extra)))
            raw = {"GroupId": created["GroupId"], "GroupName": name, "IpPermissions": []}
            found[role] = raw
        groups[role] = {"id": str(raw["GroupId"]), "name": str(raw.get("GroupName", ""))}
    for role in ROLES:
        if role not in overrides:
            _authorize_missing(ec2, found[role], desired_rules(role, nlb), groups)
    return groups


def _authorize_missing(ec2: Any, group: dict[str, Any], rules: list[Rule], groups: dict[str, dict[str, str]]) -> None:
    have = _existing(group)
    wanted = [rule for rule in rules if _key(rule, groups) not in have]
    if not wanted:
        return
    try:
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"],
                                             IpPermissions=[_permission(rule, groups) for rule in wanted])
    except Exception as exc:
        if error_code(exc) != "InvalidPermission.Duplicate":
            raise


def _key(rule: Rule, groups: dict[str, dict[str, str]]) -> tuple[str, int, int, str]:
    source = rule.cidr or groups[rule.source_role or ""]["id"]
    return (rule.protocol, rule.from_port, rule.to_port, source)


def _existing(group: dict[str, Any]) -> set[tuple[str, int, int, str]]:
    have: set[tuple[str, int, int, str]] = set()
    for perm in group.get("IpPermissions", []):
        head = (str(perm.get("IpProtocol")), int(perm.get("FromPort", -1)), int(perm.get("ToPort", -1)))
        have.update((*head, str(block.get("CidrIp"))) for block in perm.get("IpRanges", []))
        have.update((*head, str(pair.get("GroupId"))) for pair in perm.get("UserIdGroupPairs", []))
    return have


def _permission(rule: Rule, groups: dict[str, dict[str, str]]) -> dict[str, Any]:
    permission: dict[str, Any] = {"IpProtocol": rule.protocol, "FromPort": rule.from_port, "ToPort": rule.to_port}
    if rule.cidr:
        permission["IpRanges"] = [{"CidrIp": rule.cidr, "Description": rule.description}]
    else:
        permission["UserIdGroupPairs"] = [{"GroupId": groups[rule.source_role or ""]["id"],
                                           "Description": rule.description}]
    return permission


def delete_security_groups(aws: AWSScope) -> None:
    """Delete the provider's groups: first every ingress rule (groups refer to each other), then the groups."""
    ec2 = aws.clients.ec2
    owned = ec2.describe_security_groups(Filters=aws.filters())["SecurityGroups"]
    for group in owned:
        if group.get("IpPermissions"):
            ignore_missing(ec2.revoke_security_group_ingress, GroupId=group["GroupId"],
                           IpPermissions=group["IpPermissions"])
    for group in owned:
        ignore_missing(ec2.delete_security_group, GroupId=group["GroupId"])
