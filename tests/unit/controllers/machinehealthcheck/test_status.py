"""remediation.triggerIf and the MachineHealthCheck's status, from plain objects: no server."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.machinehealthcheck.status import (
    RemediationDecision,
    parse_range,
    remediation_decision,
    scaled,
    set_status,
)
from herd.runtime.conditions import get_condition


def spec(**trigger_if: Any) -> dict[str, Any]:
    return {"remediation": {"triggerIf": trigger_if}} if trigger_if else {}


@pytest.mark.parametrize(("the_spec", "expected", "healthy", "allowed", "remaining"), [
    pytest.param(spec(), 5, 0, True, 0, id="no-limit-always-allows"),
    pytest.param(spec(), 5, 3, True, 3, id="no-limit-counts-like-100-percent"),
    pytest.param(spec(unhealthyLessThanOrEqualTo=2), 5, 3, True, 0, id="count-at-limit"),
    pytest.param(spec(unhealthyLessThanOrEqualTo=2), 5, 4, True, 1, id="count-below-limit"),
    pytest.param(spec(unhealthyLessThanOrEqualTo=1), 5, 3, False, 0, id="count-exceeded"),
    pytest.param(spec(unhealthyLessThanOrEqualTo="40%"), 5, 3, True, 0, id="percent-at-limit"),
    pytest.param(spec(unhealthyLessThanOrEqualTo="40%"), 5, 2, False, 0, id="percent-exceeded"),
    pytest.param(spec(unhealthyLessThanOrEqualTo="50%"), 5, 3, True, 0, id="percent-rounds-down"),
    pytest.param(spec(unhealthyInRange="[1-3]"), 5, 3, True, 1, id="range-inside"),
    pytest.param(spec(unhealthyInRange="[1-3]"), 5, 5, False, 0, id="range-below"),
    pytest.param(spec(unhealthyInRange="[1-3]"), 5, 1, False, 0, id="range-above"),
    pytest.param(spec(unhealthyInRange="[1-3]", unhealthyLessThanOrEqualTo=0), 5, 3, True, 1,
                 id="range-wins-over-count"),
    pytest.param(spec(unhealthyInRange="[3-1]"), 5, 3, False, 0, id="range-malformed"),
])
def test_remediation_decision(the_spec: dict[str, Any], expected: int, healthy: int, allowed: bool,
                              remaining: int) -> None:
    decision = remediation_decision(the_spec, expected, healthy)
    assert decision.allowed is allowed
    assert decision.remediations_allowed == remaining
    assert bool(decision.message) is not allowed


def test_refusal_message_says_why() -> None:
    decision = remediation_decision(spec(unhealthyLessThanOrEqualTo="40%"), 5, 2)
    assert decision.message == ("Remediation is not allowed: 3 of 5 Machines are unhealthy or not yet started, "
                                "more than unhealthyLessThanOrEqualTo (40%) permits")
    ranged = remediation_decision(spec(unhealthyInRange="[1-2]"), 5, 2)
    assert "outside unhealthyInRange [1-2]" in ranged.message


@pytest.mark.parametrize(("text", "bounds"), [("[1-3]", (1, 3)), ("[0-0]", (0, 0)), ("[3-1]", None),
                                              ("1-3", None), ("[a-b]", None)])
def test_parse_range(text: str, bounds: tuple[int, int] | None) -> None:
    assert parse_range(text) == bounds


@pytest.mark.parametrize(("value", "total", "count"), [(3, 10, 3), ("3", 10, 3), ("40%", 5, 2), ("100%", 7, 7),
                                                       ("33%", 10, 3)])
def test_scaled(value: int | str, total: int, count: int) -> None:
    assert scaled(value, total) == count


@pytest.mark.parametrize(("decision", "status", "reason"), [
    (RemediationDecision(True, 2), "True", "RemediationAllowed"),
    (RemediationDecision(False, 0, "too many"), "False", "TooManyUnhealthy"),
])
def test_set_status(decision: RemediationDecision, status: str, reason: str) -> None:
    mhc: dict[str, Any] = {"metadata": {"name": "h", "generation": 2}}
    set_status(mhc, targets=["m2", "m1", "m3"], healthy=1, decision=decision)
    assert mhc["status"]["expectedMachines"] == 3
    assert mhc["status"]["currentHealthy"] == 1
    assert mhc["status"]["remediationsAllowed"] == decision.remediations_allowed
    assert mhc["status"]["targets"] == ["m1", "m2", "m3"]
    found = get_condition(mhc, "RemediationAllowed")
    assert found is not None and (found["status"], found["reason"], found["message"]) == \
        (status, reason, decision.message)


def test_no_targets_drops_the_list() -> None:
    mhc: dict[str, Any] = {"metadata": {"name": "h"}, "status": {"targets": ["gone"]}}
    set_status(mhc, targets=[], healthy=0, decision=RemediationDecision(True, 0))
    assert "targets" not in mhc["status"] and mhc["status"]["expectedMachines"] == 0
