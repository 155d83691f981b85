"""Condition writes merge by type: a writer's changes are laid over the server's conditions, others' stay."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.cluster import MACHINE
from herd.runtime.errors import Conflict
from herd.runtime.objects import Kind, deep_copy
from herd.runtime.patch import (
    CONFLICT_RETRIES,
    PatchHelper,
    changed_conditions,
    patch_status_conditions,
    with_changes,
)


def c(type_: str, status: str = "True", reason: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason}


@pytest.mark.parametrize(("before", "after", "changes"), [
    ([], [], {}),
    ([c("Ready")], [c("Ready")], {}),
    ([], [c("Ready")], {"Ready": c("Ready")}),
    ([c("Ready", "False")], [c("Ready", "True")], {"Ready": c("Ready", "True")}),
    ([c("Ready", reason="A")], [c("Ready", reason="B")], {"Ready": c("Ready", reason="B")}),
    ([c("Ready"), c("Paused")], [c("Ready")], {"Paused": None}),
    ([c("A"), c("B")], [c("B"), c("A")], {}),  # order alone is no change
    ([c("A"), c("B")], [c("A", "False"), c("C")], {"A": c("A", "False"), "C": c("C"), "B": None}),
])
def test_changed_conditions(before: list[dict[str, Any]], after: list[dict[str, Any]],
                            changes: dict[str, Any]) -> None:
    assert changed_conditions(before, after) == changes


@pytest.mark.parametrize(("conditions", "changes", "merged"), [
    ([c("A"), c("B")], {}, [c("A"), c("B")]),
    ([], {"A": c("A")}, [c("A")]),
    ([c("A"), c("B"), c("C")], {"B": c("B", "False")}, [c("A"), c("B", "False"), c("C")]),  # changed in place
    ([c("A"), c("B"), c("C")], {"B": None}, [c("A"), c("C")]),
    ([c("A")], {"B": None}, [c("A")]),  # removing what is not there
    ([c("X"), c("Y")], {"N1": c("N1"), "N2": c("N2")}, [c("X"), c("Y"), c("N1"), c("N2")]),  # appended in order
    ([c("X"), c("A"), c("Y")], {"N": c("N"), "A": c("A", "Unknown"), "Y": None},
     [c("X"), c("A", "Unknown"), c("N")]),
])
def test_with_changes(conditions: list[dict[str, Any]], changes: dict[str, Any],
                      merged: list[dict[str, Any]]) -> None:
    original = deep_copy({"conditions": conditions})["conditions"]
    assert with_changes(conditions, changes) == merged
    assert conditions == original, "the input list is not modified"


def machine(rv: int, conditions: list[dict[str, Any]], generation: int = 1) -> dict[str, Any]:
    return {"apiVersion": MACHINE.api_version, "kind": "Machine",
            "metadata": {"name": "m", "namespace": "ns", "generation": generation, "resourceVersion": str(rv)},
            "spec": {"clusterName": "c"}, "status": {"phase": "Pending", "conditions": conditions}}


class ConflictingClient:
    """Answers the first `conflicts` status patches with Conflict; GET answers `fresh`; records every call."""

    def __init__(self, fresh: dict[str, Any], conflicts: int = 0) -> None:
        self.fresh = fresh
        self.conflicts = conflicts
        self.calls: list[tuple[str, Any]] = []

    async def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append(("get", (kind, name, namespace)))
        return deep_copy(self.fresh)

    async def patch(self, kind: Kind, name: str, patch: dict[str, Any], *, namespace: str | None = None,
                    **_: Any) -> dict[str, Any]:
        self.calls.append(("patch", deep_copy(patch)))
        answer = deep_copy(self.fresh)
        answer["spec"].update(patch.get("spec") or {})
        answer["metadata"]["resourceVersion"] = str(int(answer["metadata"]["resourceVersion"]) + 1)
        self.fresh = answer
        return deep_copy(answer)

    async def patch_status(self, kind: Kind, name: str, patch: dict[str, Any], *,
                           namespace: str | None = None) -> dict[str, Any]:
        self.calls.append(("status", deep_copy(patch)))
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict(409, "Conflict", "the object has been modified")
        answer = deep_copy(self.fresh)
        answer["status"].update(patch["status"])
        answer["metadata"]["resourceVersion"] = str(int(answer["metadata"]["resourceVersion"]) + 1)
        return answer

    def status_bodies(self) -> list[dict[str, Any]]:
        return [body for call, body in self.calls if call == "status"]


async def test_a_conflict_reads_again_and_lays_the_changes_over_the_fresh_conditions() -> None:
    base = machine(10, [c("Ready", "False"), c("HealthCheckSucceeded")])
    fresh = machine(12, [c("Ready", "False"), c("HealthCheckSucceeded", "False"), c("OwnerRemediated", "False")])
    client = ConflictingClient(fresh, conflicts=1)
    changes = {"Ready": c("Ready", "True"), "BootstrapReady": c("BootstrapReady")}
    answer = await patch_status_conditions(client, MACHINE, base, {"phase": "Running"}, changes)  # type: ignore[arg-type]
    first, retried = client.status_bodies()
    assert first == {"metadata": {"resourceVersion": "10"},
                     "status": {"phase": "Running",
                                "conditions": [c("Ready", "True"), c("HealthCheckSucceeded"), c("BootstrapReady")]}}
    assert retried == {"metadata": {"resourceVersion": "12"},
                       "status": {"phase": "Running",
                                  "conditions": [c("Ready", "True"), c("HealthCheckSucceeded", "False"),
                                                 c("OwnerRemediated", "False"), c("BootstrapReady")]}}
    assert ("get", (MACHINE, "m", "ns")) in client.calls
    assert answer["metadata"]["resourceVersion"] == "13"


async def test_a_removed_condition_stays_removed_on_the_retry() -> None:
    base = machine(10, [c("Ready"), c("Paused")])
    client = ConflictingClient(machine(11, [c("Paused"), c("Other"), c("Ready")]), conflicts=1)
    await patch_status_conditions(client, MACHINE, base, {}, {"Paused": None})  # type: ignore[arg-type]
    assert client.status_bodies()[-1] == {"metadata": {"resourceVersion": "11"},
                                          "status": {"conditions": [c("Other"), c("Ready")]}}


async def test_without_a_conflict_one_guarded_patch_is_sent_and_nothing_is_read() -> None:
    client = ConflictingClient(machine(10, [c("A")]))
    await patch_status_conditions(client, MACHINE, machine(10, [c("A")]), {}, {"B": c("B")})  # type: ignore[arg-type]
    assert client.calls == [("status", {"metadata": {"resourceVersion": "10"},
                                        "status": {"conditions": [c("A"), c("B")]}})]


async def test_conflicts_on_every_attempt_give_up_after_the_retries() -> None:
    client = ConflictingClient(machine(12, []), conflicts=CONFLICT_RETRIES)
    with pytest.raises(Conflict):
        await patch_status_conditions(client, MACHINE, machine(10, []), {}, {"A": c("A")})  # type: ignore[arg-type]
    assert len(client.status_bodies()) == CONFLICT_RETRIES
    assert sum(1 for call, _ in client.calls if call == "get") == CONFLICT_RETRIES - 1


async def test_the_last_retry_may_still_succeed() -> None:
    client = ConflictingClient(machine(12, []), conflicts=CONFLICT_RETRIES - 1)
    answer = await patch_status_conditions(client, MACHINE, machine(10, []), {}, {"A": c("A")})  # type: ignore[arg-type]
    assert answer["status"]["conditions"] == [c("A")]
    assert len(client.status_bodies()) == CONFLICT_RETRIES


async def test_patch_helper_sends_a_condition_change_guarded_by_the_resource_version_read() -> None:
    obj = machine(10, [c("Ready", "False"), c("Other")], generation=3)
    client = ConflictingClient(deep_copy(obj))
    helper = PatchHelper(client, obj, kind=MACHINE)  # type: ignore[arg-type]
    obj["status"]["conditions"][0] = c("Ready", "True")
    await helper.patch(obj)
    assert client.calls == [("status", {"metadata": {"resourceVersion": "10"},
                                        "status": {"observedGeneration": 3,
                                                   "conditions": [c("Ready", "True"), c("Other")]}})]
    assert obj["metadata"]["resourceVersion"] == "11"


async def test_patch_helper_guards_conditions_with_the_version_its_spec_patch_answered() -> None:
    obj = machine(10, [c("Ready", "False")])
    client = ConflictingClient(deep_copy(obj))
    helper = PatchHelper(client, obj, kind=MACHINE, observed_generation=False)  # type: ignore[arg-type]
    obj["spec"]["version"] = "v1.33.0"
    obj["status"]["conditions"] = [c("Ready", "True")]
    await helper.patch(obj)
    assert [call for call, _ in client.calls] == ["patch", "status"]
    assert client.status_bodies() == [{"metadata": {"resourceVersion": "11"},
                                       "status": {"conditions": [c("Ready", "True")]}}]


async def test_patch_helper_retries_a_conflicting_condition_change_over_the_fresh_conditions() -> None:
    obj = machine(10, [c("Ready", "False")])
    client = ConflictingClient(machine(14, [c("Ready", "False"), c("HealthCheckSucceeded", "False")]), conflicts=1)
    helper = PatchHelper(client, obj, kind=MACHINE, observed_generation=False)  # type: ignore[arg-type]
    obj["status"]["conditions"] = [c("Ready", "True")]
    await helper.patch(obj)
    assert client.status_bodies()[-1] == {
        "metadata": {"resourceVersion": "14"},
        "status": {"conditions": [c("Ready", "True"), c("HealthCheckSucceeded", "False")]}}
    assert obj["status"]["conditions"] == [c("Ready", "True"), c("HealthCheckSucceeded", "False")]


async def test_patch_helper_sends_a_status_change_without_conditions_unguarded() -> None:
    obj = machine(10, [c("Ready")])
    client = ConflictingClient(deep_copy(obj))
    helper = PatchHelper(client, obj, kind=MACHINE, observed_generation=False)  # type: ignore[arg-type]
    obj["status"]["phase"] = "Running"
    await helper.patch(obj)
    assert client.calls == [("status", {"status": {"phase": "Running"}})]


class GenerationBumpingClient(ConflictingClient):
    """A spec patch raises metadata.generation by one, as the API server does for a spec change."""

    async def patch(self, kind: Kind, name: str, patch: dict[str, Any], *, namespace: str | None = None,
                    **extra: Any) -> dict[str, Any]:
        self.fresh["metadata"]["generation"] += 1
        return await super().patch(kind, name, patch, namespace=namespace, **extra)


async def status_after_spec_and_condition_change(*, succeeded: bool) -> dict[str, Any]:
    """The status body the PatchHelper sends for a Machine at generation 3 whose spec (to generation 4) and Ready
    condition the reconcile changed."""
    obj = machine(10, [{**c("Ready", "False"), "observedGeneration": 3}], generation=3)
    client = GenerationBumpingClient(deep_copy(obj))
    helper = PatchHelper(client, obj, kind=MACHINE)  # type: ignore[arg-type]
    obj["spec"]["version"] = "v1.33.0"
    obj["status"]["conditions"] = [{**c("Ready", "True"), "observedGeneration": 3}]
    await helper.patch(obj, succeeded=succeeded)
    [body] = client.status_bodies()
    return body


async def test_patch_helper_records_the_generation_its_own_spec_patch_made_as_observed() -> None:
    body = await status_after_spec_and_condition_change(succeeded=True)
    assert body["status"]["observedGeneration"] == 4
    assert [cond["observedGeneration"] for cond in body["status"]["conditions"]] == [4]


async def test_a_failed_reconcile_does_not_record_the_new_generation() -> None:
    body = await status_after_spec_and_condition_change(succeeded=False)
    assert "observedGeneration" not in body["status"]
    assert [cond["observedGeneration"] for cond in body["status"]["conditions"]] == [3]


async def test_without_observed_generation_the_conditions_still_follow_the_generation_its_spec_patch_made() -> None:
    # a provider object with no status.observedGeneration (a DevMachine): its conditions are stamped all the same
    obj = machine(10, [{**c("Ready", "False"), "observedGeneration": 3}], generation=3)
    client = GenerationBumpingClient(deep_copy(obj))
    helper = PatchHelper(client, obj, kind=MACHINE, observed_generation=False)  # type: ignore[arg-type]
    obj["spec"]["providerID"] = "in-memory://ns/m"
    obj["status"]["conditions"] = [{**c("Ready", "True"), "observedGeneration": 3}]
    await helper.patch(obj)
    [body] = client.status_bodies()
    assert "observedGeneration" not in body["status"]
    assert [cond["observedGeneration"] for cond in body["status"]["conditions"]] == [4]
