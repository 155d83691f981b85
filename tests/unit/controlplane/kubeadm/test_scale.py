"""What a KubeadmControlPlane does next with its Machines (init, scale up, scale down, roll out) and what keeps it
from adding or removing one: from counts and a scope, no server."""

from __future__ import annotations

import pytest
from support.controlplane import Change, etcd, healthy, healthy_scope, kcp, replaced, then, view

from herd.controlplane.kubeadm.scale import Plan, plan, preflight
from herd.controlplane.kubeadm.scope import ControlPlaneScope


@pytest.mark.parametrize(("replicas", "current", "outdated", "max_surge", "initialized", "expected"), [
    pytest.param(3, 0, 0, 1, False, Plan("init"), id="first-machine-inits"),
    pytest.param(3, 0, 0, 1, True, Plan("init"), id="no-machines-left-inits-again"),
    pytest.param(3, 1, 0, 1, True, Plan("scale-up"), id="scale-up"),
    pytest.param(3, 1, 0, 1, False, Plan("scale-up"), id="scale-up-waits-in-the-caller-for-init"),
    pytest.param(3, 3, 0, 1, True, Plan("none"), id="at-size"),
    pytest.param(3, 4, 0, 1, True, Plan("scale-down"), id="one-too-many"),
    pytest.param(1, 3, 0, 0, True, Plan("scale-down"), id="scale-down-to-one"),
    pytest.param(3, 3, 3, 1, True, Plan("scale-up", rolling_out=True), id="rollout-surge-1-creates-first"),
    pytest.param(3, 4, 3, 1, True, Plan("scale-down", rolling_out=True), id="rollout-surge-1-then-deletes"),
    pytest.param(3, 3, 2, 1, True, Plan("scale-up", rolling_out=True), id="rollout-surge-1-next-machine"),
    pytest.param(3, 4, 1, 1, True, Plan("scale-down", rolling_out=True),
                 id="rollout-deleting-machine-counts-as-current"),
    pytest.param(3, 2, 1, 1, True, Plan("scale-up", rolling_out=True), id="rollout-below-size-creates"),
    pytest.param(3, 3, 3, 0, True, Plan("scale-down", rolling_out=True), id="rollout-surge-0-deletes-first"),
    pytest.param(3, 2, 2, 0, True, Plan("scale-up", rolling_out=True), id="rollout-surge-0-then-creates"),
    pytest.param(3, 5, 1, 1, True, Plan("scale-down", rolling_out=True), id="rollout-above-surge-deletes"),
])
def test_plan(replicas: int, current: int, outdated: int, max_surge: int, initialized: bool, expected: Plan) -> None:
    assert plan(replicas, current, outdated, max_surge, initialized) == expected


b_deleting = replaced("b", deleting=True)
c_without_node = replaced("c", node=False)


def certificates_missing(s: ControlPlaneScope) -> None:
    s.certificates_error = "Secret prod-etcd has no tls.key"


def b_unhealthy(s: ControlPlaneScope) -> None:
    s.machine_conditions["b"] = healthy(APIServerPodHealthy="False", EtcdMemberHealthy="Unknown")


def etcd_alarm(s: ControlPlaneScope) -> None:
    s.view = view(etcd("node-a", "node-b", "node-c", alarms=("NOSPACE on member 2",)))


def external_etcd(s: ControlPlaneScope) -> None:
    s.kcp = kcp({"kubeadmConfigSpec": {"clusterConfiguration": {"etcd": {"external": {
        "endpoints": ["https://etcd.example.com:2379"], "caFile": "/etc/etcd/ca.crt"}}}}})
    s.view = view()
    for name in ("a", "b", "c"):  # no etcd pods on the Nodes, and no stacked member to ask
        s.machine_conditions[name] = healthy(EtcdPodHealthy="False", EtcdMemberHealthy="Unknown")


@pytest.mark.parametrize(("change", "excluding", "expected"), [
    pytest.param(None, None, [], id="all-healthy"),
    pytest.param(certificates_missing, None,
                 ["Cluster certificates are not available: Secret prod-etcd has no tls.key"], id="certificates"),
    pytest.param(b_deleting, None, ["Waiting for Machine b to be deleted"], id="deleting-machine"),
    pytest.param(b_deleting, "b", ["Waiting for Machine b to be deleted"], id="deleting-machine-even-excluded"),
    pytest.param(c_without_node, None, ["Waiting for Machine c to have a Node"], id="machine-without-node"),
    pytest.param(b_unhealthy, None,
                 ["Machine b does not have healthy control plane components: APIServerPodHealthy, EtcdMemberHealthy"],
                 id="unhealthy-components-named"),
    pytest.param(etcd_alarm, None, ["etcd has alarms: NOSPACE on member 2"], id="etcd-alarms"),
    pytest.param(b_unhealthy, "b", [], id="the-machine-to-delete-is-ignored"),
    pytest.param(then(c_without_node, b_unhealthy), "b", ["Waiting for Machine c to have a Node"],
                 id="only-that-machine-ignored"),
    pytest.param(then(c_without_node, b_unhealthy), None,
                 ["Machine b does not have healthy control plane components: APIServerPodHealthy, EtcdMemberHealthy",
                  "Waiting for Machine c to have a Node"], id="every-blocker-listed"),
    pytest.param(external_etcd, None, [], id="external-etcd-has-no-etcd-pods-or-members"),
])
def test_preflight_says_why_no_machine_may_be_added_or_removed(
        change: Change | None, excluding: str | None, expected: list[str]) -> None:
    s = healthy_scope()
    if change is not None:
        change(s)
    assert preflight(s, excluding=excluding) == expected
