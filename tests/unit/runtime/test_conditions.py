"""v1beta2 conditions on plain dicts: set, get, query, delete, mirror; transitions only on status changes."""

from __future__ import annotations

from typing import Any

import pytest

from herd.runtime import conditions as c

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-01-01T00:05:00Z"


def machine(generation: int = 3, conds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "m", "generation": generation}}
    if conds is not None:
        obj["status"] = {"conditions": conds}
    return obj


def ready(status: str, reason: str = "R", message: str = "", at: str = T0, generation: int = 3) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "observedGeneration": generation, "lastTransitionTime": at,
            "reason": reason, "message": message}


@pytest.mark.parametrize(("before", "status", "reason", "message", "after", "changed"), [
    # a new condition gets the transition time now and the object's generation
    (None, True, "R", "", [ready("True", at=T1)], True),
    # same status, new reason/message: the transition time stays
    ([ready("True")], True, "Other", "msg", [ready("True", "Other", "msg", at=T0)], True),
    # a new status moves the transition time
    ([ready("True")], False, "R", "", [ready("False", at=T1)], True),
    ([ready("False")], "Unknown", "R", "", [ready("Unknown", at=T1)], True),
    # nothing new: nothing changes
    ([ready("True")], "True", "R", "", [ready("True")], False),
    # an older observedGeneration is refreshed without a transition
    ([ready("True", generation=2)], True, "R", "", [ready("True", at=T0)], True),
])
def test_set_condition(before: list[dict[str, Any]] | None, status: bool | str, reason: str, message: str,
                       after: list[dict[str, Any]], changed: bool) -> None:
    obj = machine(conds=before)
    assert c.set_condition(obj, "Ready", status, reason, message, now=T1) is changed
    assert c.get_conditions(obj) == after


def test_set_condition_keeps_other_conditions_and_their_order() -> None:
    obj = machine(conds=[{"type": "A", "status": "True", "reason": "x"}, ready("True")])
    c.set_condition(obj, "B", False, "Why", now=T1)
    c.set_condition(obj, "Ready", False, "Down", now=T1)
    assert [cond["type"] for cond in c.get_conditions(obj)] == ["A", "Ready", "B"]


def test_set_condition_requires_a_reason_and_a_valid_status() -> None:
    with pytest.raises(ValueError):
        c.set_condition(machine(), "Ready", True, "")
    with pytest.raises(ValueError):
        c.set_condition(machine(), "Ready", "Maybe", "R")


def test_explicit_observed_generation_and_objects_without_generation() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x"}}
    c.set_condition(obj, "Ready", True, "R", now=T0)
    assert "observedGeneration" not in c.get_conditions(obj)[0]
    c.set_condition(obj, "Ready", True, "R", observed_generation=7, now=T0)
    assert c.get_conditions(obj)[0]["observedGeneration"] == 7


@pytest.mark.parametrize(("conds", "true", "false", "unknown"), [
    (None, False, False, True),
    ([ready("True")], True, False, False),
    ([ready("False")], False, True, False),
    ([ready("Unknown")], False, False, True),
])
def test_queries(conds: list[dict[str, Any]] | None, true: bool, false: bool, unknown: bool) -> None:
    obj = machine(conds=conds)
    assert (c.is_true(obj, "Ready"), c.is_false(obj, "Ready"), c.is_unknown(obj, "Ready")) == (true, false, unknown)


def test_delete_condition() -> None:
    obj = machine(conds=[ready("True"), {"type": "B", "status": "True", "reason": "x"}])
    assert c.delete_condition(obj, "Ready")
    assert not c.delete_condition(obj, "Ready")
    assert [cond["type"] for cond in c.get_conditions(obj)] == ["B"]
    assert not c.delete_condition(machine(), "Ready")


@pytest.mark.parametrize(("source_conds", "mirrored"), [
    ([ready("False", "NodeNotReady", "kubelet stopped")],
     {"type": "NodeReady", "status": "False", "reason": "NodeNotReady", "message": "kubelet stopped"}),
    ([ready("True")], {"type": "NodeReady", "status": "True", "reason": "R", "message": ""}),
    (None, {"type": "NodeReady", "status": "Unknown", "reason": "NotYetReported",
            "message": "Condition Ready not yet reported"}),
])
def test_mirror_condition(source_conds: list[dict[str, Any]] | None, mirrored: dict[str, Any]) -> None:
    assert c.mirror_condition(machine(conds=source_conds), "Ready", "NodeReady") == mirrored


def test_set_mirror_condition_copies_onto_the_target_with_its_own_generation_and_transition() -> None:
    node = machine(generation=1, conds=[ready("False", "NodeNotReady", generation=1)])
    target = machine(generation=9)
    assert c.set_mirror_condition(node, target, "Ready", "NodeHealthy", now=T1)
    assert c.get_condition(target, "NodeHealthy") == {
        "type": "NodeHealthy", "status": "False", "observedGeneration": 9, "lastTransitionTime": T1,
        "reason": "NodeNotReady", "message": ""}
    assert not c.set_mirror_condition(node, target, "Ready", "NodeHealthy", now="2030-01-01T00:00:00Z")


def test_now_is_rfc3339_in_utc() -> None:
    assert c.now_rfc3339().endswith("Z") and len(c.now_rfc3339()) == len(T0)
