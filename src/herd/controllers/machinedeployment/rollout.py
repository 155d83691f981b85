"""Rollout planning: how many replicas each MachineSet of a MachineDeployment should want next. Pure: no I/O.

The planner sees the MachineSets as numbers (`MachineSetState`) and answers with new `spec.replicas` values;
the controller writes them. Each step keeps, counting the machines that exist or are wanted,
total <= replicas + maxSurge and available >= replicas - maxUnavailable (the rolling update contract).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"


@dataclass(frozen=True)
class MachineSetState:
    """What planning needs to know about one MachineSet."""

    name: str
    replicas: int  # spec.replicas
    current: int = 0  # status.replicas: Machines that exist
    available: int = 0  # status.availableReplicas
    deleting: int = 0  # Machines already being deleted (OnDelete: the user started replacing them)

    @property
    def machines(self) -> int:
        """Machines this MachineSet has or is about to have."""
        return max(self.replicas, self.current)


@dataclass(frozen=True)
class RolloutPlan:
    """New spec.replicas per MachineSet name (only those that change) and a note on what happens."""

    scale: Mapping[str, int] = field(default_factory=dict)
    message: str = ""


def scaled_value(value: int | str | None, total: int, *, round_up: bool, default: int) -> int:
    """An int-or-percent (maxSurge, maxUnavailable) as a number of Machines out of `total`."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        fraction = int(text[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(text)


def surge_and_unavailable(max_surge: int | str | None, max_unavailable: int | str | None,
                          replicas: int) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down) as numbers; never both 0 while replicas > 0."""
    surge = scaled_value(max_surge, replicas, round_up=True, default=1)
    unavailable = scaled_value(max_unavailable, replicas, round_up=False, default=0)
    if surge == 0 and unavailable == 0 and replicas > 0:
        unavailable = 1  # otherwise no step could ever be taken
    return surge, min(unavailable, replicas)


def plan_rolling_update(replicas: int, max_surge: int, max_unavailable: int, new: MachineSetState,
                        old: Sequence[MachineSetState]) -> RolloutPlan:
    """One step of a rolling update: grow the new MachineSet within the surge, shrink old ones within
    the unavailability budget (unavailable old Machines go first)."""
    scale: dict[str, int] = {}
    total = new.machines + sum(s.machines for s in old)
    new_replicas = new.replicas
    if new.replicas > replicas:
        new_replicas = replicas
    elif new.replicas < replicas:
        room = replicas + max_surge - total
        if room > 0:
            new_replicas = min(replicas, new.replicas + room)
    if new_replicas != new.replicas:
        scale[new.name] = new_replicas

    min_available = replicas - max_unavailable
    # Availability after the new set's change: it may shrink (a scale down), never count Machines it has not got.
    # Nor count old Machines beyond an old set's spec.replicas: they are already on their way out.
    available = min(new.available, new_replicas) + sum(min(s.available, s.replicas) for s in old)
    budget = max(0, available - min_available)
    keep = {s.name: s.replicas for s in old}
    for s in old:  # unavailable old Machines (or wanted, not yet created) go first: they cost no availability
        unavailable = max(0, min(s.replicas, s.current) - s.available) + max(0, s.replicas - s.current)
        keep[s.name] -= min(unavailable, keep[s.name])
    for s in old:  # then available ones, oldest sets first, within the budget
        take = min(budget, keep[s.name])
        keep[s.name] -= take
        budget -= take
    for s in old:
        if keep[s.name] != s.replicas:
            scale[s.name] = keep[s.name]
    moved_down = sum(s.replicas - keep[s.name] for s in old)
    message = (f"new MachineSet {new.name} to {new_replicas}, old MachineSets down by {moved_down}"
               if scale else "waiting for Machines to become available")
    return RolloutPlan(scale, message)


def plan_on_delete(replicas: int, new: MachineSetState, old: Sequence[MachineSetState]) -> RolloutPlan:
    """One step of an OnDelete rollout: old MachineSets shrink to the Machines the user has not deleted; the new
    MachineSet takes the rest."""
    scale: dict[str, int] = {}
    remaining_old = 0
    for s in old:
        keep = max(0, min(s.replicas, s.current - s.deleting))
        remaining_old += keep
        if keep != s.replicas:
            scale[s.name] = keep
    extra = max(0, remaining_old + new.replicas - replicas)
    if extra:  # the MachineDeployment was scaled down: old Machines go first, oldest sets first
        for s in old:
            keep = scale.get(s.name, s.replicas)
            take = min(keep, extra)
            if take:
                scale[s.name] = keep - take
                extra -= take
                remaining_old -= take
    new_replicas = max(0, replicas - remaining_old)
    if new_replicas != new.replicas:
        scale[new.name] = new_replicas
    return RolloutPlan(scale, f"new MachineSet {new.name} to {new_replicas}; {remaining_old} old Machines left")


def plan_scale(replicas: int, new: MachineSetState, old: Sequence[MachineSetState]) -> RolloutPlan:
    """No rollout in progress (no old Machines): the new MachineSet simply gets the desired replicas."""
    scale = {s.name: 0 for s in old if s.replicas}
    if new.replicas != replicas:
        scale[new.name] = replicas
    return RolloutPlan(scale, f"MachineSet {new.name} to {replicas}")


def plan(strategy: str, replicas: int, max_surge: int | str | None, max_unavailable: int | str | None,
         new: MachineSetState, old: Sequence[MachineSetState], *, paused: bool = False) -> RolloutPlan:
    """The next step for a MachineDeployment whose current template is `new`; nothing while paused."""
    if not any(s.replicas or s.current for s in old):
        return plan_scale(replicas, new, old)  # plain scaling is allowed even while paused
    if paused:
        return RolloutPlan({}, "rollout paused")
    if strategy == ON_DELETE:
        return plan_on_delete(replicas, new, old)
    surge, unavailable = surge_and_unavailable(max_surge, max_unavailable, replicas)
    return plan_rolling_update(replicas, surge, unavailable, new, old)
