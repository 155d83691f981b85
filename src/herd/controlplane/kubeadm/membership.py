"""A control plane Machine leaving the stacked etcd: leadership moved to the healthy member least likely to go
next, then its member removed through a healthy one. The scale down, the pre-terminate hook and remediation all
go through here."""

from __future__ import annotations

import logging

from .etcd import EtcdError
from .scope import ControlPlaneScope

log = logging.getLogger("herd.controlplane.kubeadm")


def healthy_others(scope: ControlPlaneScope, node: str) -> list[str]:
    """The Nodes of the other live Machines whose etcd member is healthy, newest up-to-date first."""
    etcd = scope.view.etcd if scope.view is not None else None
    if etcd is None:
        return []
    newest = list(reversed(scope.live_machines))
    ordered = [m for m in newest if m["metadata"]["name"] not in scope.outdated] + \
        [m for m in newest if m["metadata"]["name"] in scope.outdated]
    return [n for m in ordered if (n := scope.node_name(m)) and n != node and etcd.healthy(n)]


async def move_leadership_off(scope: ControlPlaneScope, node: str) -> None:
    """If the Node's member leads etcd, make another healthy member the leader (etcd not inspected: nothing)."""
    view, workload = scope.view, scope.workload
    if workload is None or view is None or view.etcd is None or view.etcd.leader_name() != node:
        return
    others = healthy_others(scope, node)
    if not others:
        raise EtcdError(f"cannot move etcd leadership off {node}: no other healthy member")
    await workload.move_leader(view.etcd, others[0])
    log.info("kubeadmcontrolplane %s: moved etcd leadership from %s to %s", scope.key, node, others[0])


async def leave_etcd(scope: ControlPlaneScope, node: str) -> None:
    """Remove the Node's etcd member (leadership moved first); never the last member, and nothing to do with
    external etcd. EtcdError when stacked etcd could not be inspected."""
    view, workload = scope.view, scope.workload
    if scope.external_etcd:
        return
    if workload is None or view is None or view.etcd is None:
        raise EtcdError(f"cannot remove the etcd member of {node}: etcd was not inspected")
    etcd = view.etcd
    if etcd.member(node) is None or len(etcd.members) <= 1:
        return
    await move_leadership_off(scope, node)
    await workload.remove_member(etcd, node, via=healthy_others(scope, node) or [n for n in etcd.statuses if n != node])
    log.info("kubeadmcontrolplane %s: removed the etcd member of %s", scope.key, node)
