"""Which Machines a MachineSet deletes first when it scales down: pure candidate selection, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.controllers.machineset.deletion import is_machine_healthy, machines_to_delete, priority_for

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def machine(name: str, *, age_days: float = 1.0, node: bool = True, marked: bool = False, deleting: bool = False,
            health_check: str | None = None, node_healthy: str | None = None, updating: bool = False) -> dict[str, Any]:
    created = (NOW - timedelta(days=age_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = {}
    if marked:
        annotations["cluster.x-k8s.io/delete-machine"] = ""
    if updating:
        annotations["in-place-updates.internal.cluster.x-k8s.io/update-in-progress"] = ""
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created, "annotations": annotations}
    if deleting:
        meta["deletionTimestamp"] = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = []
    if health_check:
        conditions.append({"type": "HealthCheckSucceeded", "status": health_check, "reason": "R"})
    if node_healthy:
        conditions.append({"type": "NodeHealthy", "status": node_healthy, "reason": "R"})
    status: dict[str, Any] = {"conditions": conditions}
    if node:
        status["nodeRef"] = {"name": f"node-{name}"}
    return {"kind": "Machine", "metadata": meta, "status": status}


def names(machines: list[dict[str, Any]]) -> list[str]:
    return [m["metadata"]["name"] for m in machines]


@pytest.mark.parametrize(("order", "machines", "surplus", "expected"), [
    pytest.param(None, [machine("a"), machine("b"), machine("c")], 2, ["a", "b"], id="random-ties-by-name"),
    pytest.param("Random", [machine("a"), machine("b", marked=True), machine("c")], 1, ["b"],
                 id="random-marked-first"),
    pytest.param("Newest", [machine("old", age_days=30), machine("mid", age_days=3), machine("new", age_days=0.1)],
                 2, ["new", "mid"], id="newest"),
    pytest.param("Oldest", [machine("old", age_days=30), machine("mid", age_days=3), machine("new", age_days=0.1)],
                 2, ["old", "mid"], id="oldest"),
    pytest.param("Newest", [machine("new", age_days=0.1), machine("old-marked", age_days=30, marked=True)], 1,
                 ["old-marked"], id="marked-beats-newest"),
    pytest.param("Oldest", [machine("old", age_days=30), machine("young-sick", age_days=0.1, health_check="False")],
                 1, ["young-sick"], id="unhealthy-beats-oldest"),
    pytest.param("Oldest", [machine("old", age_days=30), machine("no-node", age_days=0.1, node=False)], 1,
                 ["no-node"], id="no-node-counts-as-unhealthy"),
    pytest.param("Random", [machine("a", marked=True), machine("b", deleting=True), machine("c")], 1, ["b"],
                 id="deleting-before-marked"),
    pytest.param("Random", [machine("a", health_check="False"), machine("b", updating=True)], 1, ["b"],
                 id="updating-before-unhealthy"),
    pytest.param("Random", [machine("a"), machine("b")], 0, [], id="no-surplus"),
    pytest.param("Random", [machine("a"), machine("b")], 5, ["a", "b"], id="surplus-larger-than-machines"),
])
def test_machines_to_delete_follow_the_deletion_order(order: str | None, machines: list[dict[str, Any]],
                                                      surplus: int, expected: list[str]) -> None:
    assert names(machines_to_delete(machines, surplus, order, NOW)) == expected


@pytest.mark.parametrize(("m", "healthy"), [
    (machine("a"), True),
    (machine("a", node=False), False),
    (machine("a", health_check="False"), False),
    (machine("a", node_healthy="False"), False),
    (machine("a", node_healthy="Unknown", health_check="True"), True),
])
def test_machine_health_for_ordering(m: dict[str, Any], healthy: bool) -> None:
    assert is_machine_healthy(m) is healthy


def test_unknown_deletion_order_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported deletion order"):
        priority_for("Biggest")
