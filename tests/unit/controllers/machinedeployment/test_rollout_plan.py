"""Rollout planning, simulated: the planner steps, a fake MachineSet controller makes Machines follow."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from herd.controllers.machinedeployment.rollout import (
    ON_DELETE,
    ROLLING_UPDATE,
    MachineSetState,
    plan,
    surge_and_unavailable,
)
from herd.controllers.machinedeployment.template import is_up_to_date, new_machine_set, template_hash


@dataclass
class FakeSet:
    """A MachineSet and its Machines: `ready` Machines are available, `booting` exist but are not yet."""

    name: str
    replicas: int
    ready: int = 0
    booting: int = 0
    deleting: int = 0

    def state(self) -> MachineSetState:
        return MachineSetState(self.name, self.replicas, current=self.ready + self.booting,
                               available=self.ready, deleting=self.deleting)

    def step(self) -> None:
        """One round of the MachineSet controller and the Machines: boot, create, delete unavailable first."""
        self.ready += self.booting
        self.booting = 0
        existing = self.ready
        if existing < self.replicas:
            self.booting = self.replicas - existing
        elif existing > self.replicas:
            self.ready = self.replicas


def _apply(sets: list[FakeSet], scale: dict[str, int]) -> None:
    for s in sets:
        if s.name in scale:
            s.replicas = scale[s.name]
            # a shrinking set removes Machines that are not available first, at once
            existing = s.ready + s.booting
            if existing > s.replicas:
                drop = min(s.booting, existing - s.replicas)
                s.booting -= drop
                s.ready -= max(0, existing - drop - s.replicas)


def _machines(sets: list[FakeSet]) -> int:
    return sum(max(s.replicas, s.ready + s.booting) for s in sets)


CASES = [
    # replicas, maxSurge, maxUnavailable
    (3, 1, 0), (3, 0, 1), (3, 2, 0), (5, 1, 1), (10, "25%", "25%"), (10, "30%", 0), (1, 1, 0), (4, 0, 0), (6, 3, 2),
]


@pytest.mark.parametrize(("replicas", "max_surge", "max_unavailable"), CASES)
def test_rolling_update_stays_within_surge_and_unavailability(replicas: int, max_surge: int | str,
                                                            max_unavailable: int | str) -> None:
    surge, unavailable = surge_and_unavailable(max_surge, max_unavailable, replicas)
    old, new = FakeSet("old", replicas, ready=replicas), FakeSet("new", 0)
    sets = [old, new]
    for _ in range(100):
        result = plan(ROLLING_UPDATE, replicas, max_surge, max_unavailable, new.state(), [old.state()])
        _apply(sets, dict(result.scale))
        assert _machines(sets) <= replicas + surge, result
        assert old.ready + new.ready >= replicas - unavailable, result
        for s in sets:
            s.step()
            assert _machines(sets) <= replicas + surge
        if old.replicas == 0 and new.ready == replicas and old.ready == 0:
            break
    assert (old.replicas, old.ready) == (0, 0)
    assert (new.replicas, new.ready) == (replicas, replicas)


def test_rolling_update_waits_for_new_machines_to_become_available() -> None:
    new = MachineSetState("new", 1, current=1, available=0)
    old = MachineSetState("old", 3, current=3, available=3)
    assert dict(plan(ROLLING_UPDATE, 3, 1, 0, new, [old]).scale) == {}


def test_unavailable_old_machines_go_first_regardless_of_budget() -> None:
    new = MachineSetState("new", 1, current=1, available=1)
    old = MachineSetState("old", 3, current=3, available=2)
    assert dict(plan(ROLLING_UPDATE, 3, 1, 0, new, [old]).scale) == {"old": 2}  # only the unavailable one


def test_several_old_machine_sets_shrink_oldest_first() -> None:
    new = MachineSetState("new", 2, current=2, available=2)
    older = MachineSetState("older", 1, current=1, available=1)
    old = MachineSetState("old", 2, current=2, available=2)
    assert dict(plan(ROLLING_UPDATE, 4, 1, 1, new, [older, old]).scale) == {"older": 0, "old": 1}


def test_no_rollout_means_plain_scaling() -> None:
    new = MachineSetState("new", 3, current=3, available=3)
    assert dict(plan(ROLLING_UPDATE, 5, 1, 0, new, [MachineSetState("old", 0)]).scale) == {"new": 5}
    assert dict(plan(ROLLING_UPDATE, 1, 1, 0, new, []).scale) == {"new": 1}


@pytest.mark.parametrize(("max_surge", "max_unavailable", "replicas", "expected"), [
    (None, None, 3, (1, 0)), ("25%", "25%", 10, (3, 2)), ("10%", "10%", 3, (1, 0)), (0, 0, 3, (0, 1)),
    ("50%", "100%", 3, (2, 3)),
])
def test_percentages_round_surge_up_and_unavailable_down(max_surge: int | str | None, max_unavailable: int | str | None,
                                                        replicas: int, expected: tuple[int, int]) -> None:
    assert surge_and_unavailable(max_surge, max_unavailable, replicas) == expected


def test_paused_rollout_makes_no_progress_but_plain_scaling_goes_on() -> None:
    new = MachineSetState("new", 0)
    old = MachineSetState("old", 3, current=3, available=3)
    assert dict(plan(ROLLING_UPDATE, 3, 1, 0, new, [old], paused=True).scale) == {}
    assert dict(plan(ROLLING_UPDATE, 4, 1, 0, replace(old, name="new"), [], paused=True).scale) == {"new": 4}


def test_on_delete_grows_the_new_set_only_as_the_user_deletes_old_machines() -> None:
    replicas = 3
    old, new = FakeSet("old", replicas, ready=replicas), FakeSet("new", 0)
    result = plan(ON_DELETE, replicas, None, None, new.state(), [old.state()])
    assert dict(result.scale) == {}  # nobody deleted anything: nothing moves
    for deleted in range(1, replicas + 1):
        old.deleting = 1  # the user deletes one old Machine
        result = plan(ON_DELETE, replicas, None, None, new.state(), [old.state()])
        assert dict(result.scale) == {"old": replicas - deleted, "new": deleted}
        _apply([old, new], dict(result.scale))
        old.deleting = 0
        new.step()
        assert _machines([old, new]) <= replicas
    assert (old.replicas, new.replicas) == (0, replicas)


def test_on_delete_scale_down_removes_old_machines_first() -> None:
    new = MachineSetState("new", 1, current=1, available=1)
    old = MachineSetState("old", 2, current=2, available=2)
    assert dict(plan(ON_DELETE, 2, None, None, new, [old]).scale) == {"old": 1}
    assert dict(plan(ON_DELETE, 1, None, None, new, [old]).scale) == {"old": 0}


# ----- which MachineSet is current: the template hash -----

def _md(**template_spec: object) -> dict[str, object]:
    spec = {"clusterName": "c", "version": "v1.30.0", **template_spec}
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
            "metadata": {"name": "md", "namespace": "ns", "uid": "u"},
            "spec": {"clusterName": "c", "replicas": 3, "selector": {"matchLabels": {"pool": "a"}},
                     "template": {"metadata": {"labels": {"pool": "a"}}, "spec": spec}}}


def test_in_place_fields_do_not_change_the_template_hash_but_the_version_does() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = template_hash(_md(), now)
    assert template_hash(_md(minReadySeconds=30, deletion={"nodeDrainTimeoutSeconds": 5}), now) == base
    labelled = _md()
    labelled["spec"]["template"]["metadata"]["labels"]["team"] = "x"  # type: ignore[index]
    assert template_hash(labelled, now) == base
    assert template_hash(_md(version="v1.31.0"), now) != base


def test_rollout_after_makes_older_machine_sets_outdated_once_it_passes() -> None:
    md = _md()
    ms = new_machine_set(md, "h", 3, 1)
    ms["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    md["spec"]["rollout"] = {"after": "2026-01-02T00:00:00Z"}  # type: ignore[index]
    before, after = datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)
    assert is_up_to_date(md, ms, before)
    assert not is_up_to_date(md, ms, after)
    assert template_hash(md, before) != template_hash(md, after)
    assert ms["spec"]["selector"]["matchLabels"] == {"pool": "a", "machine-template-hash": "h"}
    assert ms["metadata"]["annotations"]["machinedeployment.clusters.x-k8s.io/revision"] == "1"
