"""Which Machines a MachineHealthCheck checks and how each is judged, from plain objects: no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.controllers.machinehealthcheck.targets import Target, evaluate, is_healthy, selects, skip_reason

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cluster(*, cp_initialized: bool = True, infra: bool = True, since: float = 3600) -> dict[str, Any]:
    return {"kind": "Cluster", "metadata": {"name": "c", "namespace": "ns"},
            "status": {"initialization": {"infrastructureProvisioned": infra}, "conditions": [
                {"type": "ControlPlaneInitialized", "status": "True" if cp_initialized else "False", "reason": "R",
                 "lastTransitionTime": ago(since)},
                {"type": "InfrastructureReady", "status": "True" if infra else "False", "reason": "R",
                 "lastTransitionTime": ago(since)}]}}


def mhc(**checks: Any) -> dict[str, Any]:
    return {"kind": "MachineHealthCheck", "metadata": {"name": "h", "namespace": "ns"},
            "spec": {"clusterName": "c", "selector": {"matchLabels": {"pool": "a"}},
                     "checks": {"unhealthyNodeConditions": [
                         {"type": "Ready", "status": "False", "timeoutSeconds": 300},
                         {"type": "Ready", "status": "Unknown", "timeoutSeconds": 300}], **checks}}}


def machine(*, created: float = 7200, annotations: dict[str, str] | None = None, node_ref: bool = True,
            owner: str | None = "MachineSet", labels: dict[str, str] | None = None,
            conditions: list[dict[str, Any]] | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "m", "namespace": "ns", "creationTimestamp": ago(created),
                            "labels": {"pool": "a", **(labels or {})}, "annotations": annotations or {}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "x/v1", "kind": owner, "name": "o", "uid": "u", "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = ago(1)
    status: dict[str, Any] = {"conditions": conditions or []}
    if node_ref:
        status["nodeRef"] = {"name": "n"}
    return {"kind": "Machine", "metadata": meta, "spec": {"clusterName": "c"}, "status": status}


def node(ready: str = "True", since: float = 3600) -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [
        {"type": "Ready", "status": ready, "lastTransitionTime": ago(since)}]}}


@pytest.mark.parametrize(("target", "check", "the_cluster", "reason", "next_check", "healthy"), [
    pytest.param(Target(machine(), node()), mhc(), cluster(), "", 0.0, True, id="ready-node-is-healthy"),
    pytest.param(Target(machine(), node("False", since=100)), mhc(), cluster(), "", 201.0, False,
                 id="not-ready-within-timeout-is-pending"),
    pytest.param(Target(machine(), node("False", since=301)), mhc(), cluster(), "UnhealthyNode", 0.0, False,
                 id="not-ready-past-timeout-is-unhealthy"),
    pytest.param(Target(machine(), node("Unknown", since=400)), mhc(), cluster(), "UnhealthyNode", 0.0, False,
                 id="unknown-past-timeout-is-unhealthy"),
    pytest.param(Target(machine(node_ref=False)), mhc(), cluster(), "NodeStartupTimeout", 0.0, False,
                 id="no-node-past-default-startup-timeout"),
    pytest.param(Target(machine(node_ref=False, created=60)), mhc(), cluster(), "", 541.0, False,
                 id="no-node-within-startup-timeout-is-pending"),
    pytest.param(Target(machine(node_ref=False, created=7200)), mhc(), cluster(since=100), "", 501.0, False,
                 id="startup-counted-from-cluster-ready"),
    pytest.param(Target(machine(node_ref=False, conditions=[
        {"type": "InfrastructureReady", "status": "True", "reason": "R", "lastTransitionTime": ago(30)}])),
        mhc(), cluster(), "", 571.0, False, id="startup-counted-from-machine-infrastructure-ready"),
    pytest.param(Target(machine(node_ref=False)), mhc(nodeStartupTimeoutSeconds=0), cluster(), "", 0.0, False,
                 id="startup-timeout-zero-disables"),
    pytest.param(Target(machine(node_ref=False)), mhc(nodeStartupTimeoutSeconds=7300), cluster(since=7200), "", 101.0,
                 False, id="custom-startup-timeout"),
    pytest.param(Target(machine(), node_missing=True), mhc(), cluster(), "NodeDeleted", 0.0, False,
                 id="node-gone-is-unhealthy"),
    pytest.param(Target(machine(annotations={"cluster.x-k8s.io/remediate-machine": ""}), node()), mhc(),
                 cluster(), "HasRemediateAnnotation", 0.0, False, id="remediate-annotation-is-unhealthy"),
    pytest.param(Target(machine(node_ref=False)), mhc(), cluster(cp_initialized=False), "", 0.0, False,
                 id="worker-not-judged-before-control-plane-initialized"),
    pytest.param(Target(machine(node_ref=False, labels={"cluster.x-k8s.io/control-plane": ""})), mhc(),
                 cluster(cp_initialized=False), "NodeStartupTimeout", 0.0, False,
                 id="control-plane-machine-judged-before-initialization"),
    pytest.param(Target(machine(node_ref=False)), mhc(), cluster(infra=False), "", 0.0, False,
                 id="not-judged-before-cluster-infrastructure"),
    pytest.param(Target(machine(conditions=[
        {"type": "Custom", "status": "False", "reason": "R", "lastTransitionTime": ago(120)}]), node()),
        mhc(unhealthyMachineConditions=[{"type": "Custom", "status": "False", "timeoutSeconds": 60}]), cluster(),
        "UnhealthyMachine", 0.0, False, id="machine-condition-past-timeout"),
])
def test_evaluate(target: Target, check: dict[str, Any], the_cluster: dict[str, Any], reason: str,
                  next_check: float, healthy: bool) -> None:
    verdict = evaluate(target, check, the_cluster, NOW)
    assert verdict.unhealthy == bool(reason)
    assert verdict.reason == reason
    assert verdict.next_check == pytest.approx(next_check)
    assert is_healthy(target, verdict) == healthy
    if reason:
        assert verdict.message.startswith("Health check failed:")


def test_unhealthy_node_message_names_condition_and_timeout() -> None:
    verdict = evaluate(Target(machine(), node("False", since=600)), mhc(), cluster(), NOW)
    assert verdict.message == "Health check failed: Condition Ready on Node has had status False for more than 5m0s"


@pytest.mark.parametrize(("the_machine", "skipped"), [
    pytest.param(machine(), "", id="owned-by-machineset"),
    pytest.param(machine(owner="KubeadmControlPlane", labels={"cluster.x-k8s.io/control-plane": ""}), "",
                 id="owned-by-control-plane"),
    pytest.param(machine(owner=None), "no controller", id="unowned"),
    pytest.param(machine(owner="Something"), "neither", id="other-owner"),
    pytest.param(machine(deleting=True), "deleted", id="deleting"),
    pytest.param(machine(annotations={"cluster.x-k8s.io/skip-remediation": ""}), "skip-remediation",
                 id="skip-remediation"),
    pytest.param(machine(annotations={"cluster.x-k8s.io/paused": ""}), "paused", id="paused"),
])
def test_skip_reason(the_machine: dict[str, Any], skipped: str) -> None:
    reason = skip_reason(the_machine)
    assert (skipped in reason) if skipped else reason == ""


@pytest.mark.parametrize(("labels", "cluster_name", "namespace", "selected"), [
    ({"pool": "a"}, "c", "ns", True),
    ({"pool": "b"}, "c", "ns", False),
    ({"pool": "a"}, "other", "ns", False),
    ({"pool": "a"}, "c", "elsewhere", False),
])
def test_selects(labels: dict[str, str], cluster_name: str, namespace: str, selected: bool) -> None:
    the_machine = machine()
    the_machine["metadata"].update(labels=labels, namespace=namespace)
    the_machine["spec"]["clusterName"] = cluster_name
    assert selects(mhc(), the_machine) is selected
