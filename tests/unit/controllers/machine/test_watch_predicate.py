"""Which Machine updates wake the Machine controller: not its own status writes, but the conditions others write
that its Ready summary reads — a health check's, and a readiness gate's (the KubeadmControlPlane's pod health)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from herd.controllers.machine import NOT_OWN_STATUS_WRITE


def machine(**conditions: str) -> dict[str, Any]:
    return {"metadata": {"name": "cp-0", "resourceVersion": "1"},
            "spec": {"clusterName": "c", "readinessGates": [{"conditionType": "APIServerPodHealthy"}]},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}}


def updated(old: dict[str, Any], type_: str, status: str) -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["metadata"]["resourceVersion"] = "2"
    new["status"]["conditions"] = [c for c in new["status"]["conditions"] if c["type"] != type_] + \
        [{"type": type_, "status": status}]
    return new


@pytest.mark.parametrize("type_", ["APIServerPodHealthy", "HealthCheckSucceeded"])
def test_a_condition_written_by_another_controller_wakes_it(type_: str) -> None:
    old = machine(**{type_: "False", "Ready": "False"})
    assert NOT_OWN_STATUS_WRITE.update(old, updated(old, type_, "True"))


@pytest.mark.parametrize("type_", ["Ready", "NodeHealthy", "EtcdPodHealthy"])
def test_its_own_status_and_conditions_no_gate_names_do_not(type_: str) -> None:
    old = machine(**{type_: "False"})
    assert not NOT_OWN_STATUS_WRITE.update(old, updated(old, type_, "True"))
