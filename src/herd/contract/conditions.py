"""Cluster API's ways of deriving v1beta2 conditions: mirror, summary, aggregate, and the Paused condition.

Pure functions over plain-dict objects. A *summary* merges several conditions of one object (e.g. a
Machine's Ready from BootstrapConfigReady, InfrastructureReady, NodeHealthy, Deleting); an *aggregate*
merges one condition over many objects (e.g. a Cluster's ControlPlaneMachinesReady). Both sort the
inputs into issues, unknowns and infos: any issue makes the result False, else any unknown makes it
Unknown, else True; messages list issues and unknowns first, as upstream's default merge strategy does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL, PAUSED_ANNOTATION
from herd.api.objects import is_paused
from herd.runtime import Client, Kind, Object
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, set_condition
from herd.runtime.conditions import Condition as Condition  # re-exported: the type every function here returns
from herd.runtime.conditions import Status as Status  # re-exported for callers building conditions
from herd.runtime.patch import patch_status_conditions

NOT_YET_REPORTED_REASON = "NotYetReported"
PAUSED = "Paused"
PAUSED_REASON = "Paused"
NOT_PAUSED_REASON = "NotPaused"
ISSUE, UNKNOWN_PRIORITY, INFO = 0, 1, 2
_BULLET = re.compile(r"\s*\*\s+")

PriorityFunc = Callable[[Condition], int]


def condition(type_: str, status: Status, reason: str, message: str = "") -> Condition:
    """A condition to set (lastTransitionTime and observedGeneration are added by `apply`)."""
    return {"type": type_, "status": status, "reason": reason, "message": message}


def apply(obj: Object, cond: Condition, *, now: str | None = None) -> bool:
    """Set a computed condition on the object; returns whether it changed."""
    return set_condition(obj, cond["type"], cond["status"], cond["reason"], cond.get("message", ""), now=now)


def status_of(value: bool) -> Status:
    return TRUE if value else FALSE


def default_priority(*negative_types: str) -> PriorityFunc:
    """Issue when a condition is away from its normal state (True normally, False for negative polarity)."""
    negative = set(negative_types)

    def priority(cond: Condition) -> int:
        status = cond.get("status")
        if status == TRUE:
            return ISSUE if cond.get("type") in negative else INFO
        if status == FALSE:
            return INFO if cond.get("type") in negative else ISSUE
        return UNKNOWN_PRIORITY
    return priority


@dataclass(frozen=True)
class Reasons:
    """The reasons of a merged condition for each outcome."""

    issue: str
    unknown: str
    info: str

    def pick(self, priority: int) -> str:
        return (self.issue, self.unknown, self.info)[priority]


def indent_if_multiline(message: str) -> str:
    """A message as it follows `* Type:` in a list: inline, or indented below when it has lines or bullets."""
    if "\n" not in message and not _BULLET.match(message):
        return " " + message
    lines = message.split("\n")
    with_plain_lines = any(not _BULLET.match(line) for line in lines)
    out = []
    for line in lines:
        prefix = "  "
        if with_plain_lines:
            prefix += "  " if _BULLET.match(line) else "* "
        out.append(prefix + line)
    return "\n" + "\n".join(out)


def mirror(source: Object, source_type: str, target_type: str, *, fallback_status: bool,
           fallback_true_reason: str, fallback_false_reason: str, fallback_message: str = "") -> Condition:
    """`source`'s condition re-typed as `target_type`, or the fallback when the source reports none."""
    found = get_condition(source, source_type)
    if found is None:
        reason = fallback_true_reason if fallback_status else fallback_false_reason
        return condition(target_type, status_of(fallback_status), reason, fallback_message)
    raw = found.get("status")
    status: Status = TRUE if raw == TRUE else FALSE if raw == FALSE else UNKNOWN
    reason = str(found.get("reason") or "")
    if not reason:  # a v1beta1-style condition without a reason
        reason = fallback_true_reason if status == TRUE else NOT_YET_REPORTED_REASON
    return condition(target_type, status, reason, str(found.get("message") or ""))


def _merged_status(priorities: Iterable[int]) -> int:
    return min(priorities, default=INFO)


def summary(obj: Object, target_type: str, for_types: Sequence[str], *, reasons: Reasons,
            negative_types: Sequence[str] = (), ignore_if_missing: Sequence[str] = (),
            overrides: Mapping[str, Condition] | None = None, priority: PriorityFunc | None = None,
            transform: Callable[[list[str]], list[str]] | None = None) -> Condition:
    """Merge the object's conditions of `for_types` (in that order of relevance) into one condition."""
    priority = priority or default_priority(*negative_types)
    merged: list[Condition] = []
    for type_ in for_types:
        found = (overrides or {}).get(type_) or get_condition(obj, type_)
        if found is None:
            if type_ in ignore_if_missing:
                continue
            found = condition(type_, UNKNOWN, NOT_YET_REPORTED_REASON, f"Condition {type_} not yet reported")
        merged.append(found)
    top = _merged_status(priority(c) for c in merged)
    status = (FALSE, UNKNOWN, TRUE)[top]
    messages = []
    for cond in merged:
        if priority(cond) == INFO and (status != TRUE or not cond.get("message")):
            continue  # info only matters when nothing is wrong, and only when it says something
        text = cond.get("message") or ""
        messages.append(f"* {cond['type']}:" + (indent_if_multiline(text) if text else f" {cond.get('reason')}"))
    if transform is not None:
        messages = transform(messages)
    return condition(target_type, status, reasons.pick(top), "\n".join(messages))


@dataclass
class _Group:
    """The objects of one kind whose condition says the same message with the same priority."""

    kind: str
    message: str
    priority: int
    names: list[str] = field(default_factory=list)
    control_planes: set[str] = field(default_factory=set)


def aggregate(objects: Sequence[Object], source_type: str, target_type: str, *, reasons: Reasons,
              negative: bool = False, max_messages: int = 3) -> Condition:
    """Merge one condition type over many objects (most relevant messages first, at most `max_messages`).

    With `negative`, the condition's normal state is False and the merged condition has negative polarity too.
    """
    # One pass that groups objects by (kind, message, priority): fleets of hundreds of Machines mostly say
    # the same few things, and this runs on every reconcile of the sets, deployments and Clusters over them.
    priority_of = default_priority(*((source_type,) if negative else ()))
    missing = f"Condition {source_type} not yet reported"
    groups: dict[tuple[str, str, int], _Group] = {}
    top = INFO
    for obj in objects:
        found = get_condition(obj, source_type)
        if found is None:
            priority, message = UNKNOWN_PRIORITY, missing
        else:
            priority, message = priority_of(found), str(found.get("message") or "")
        top = min(top, priority)
        kind = str(obj.get("kind") or "")
        group = groups.get((kind, message, priority))
        if group is None:
            group = groups[(kind, message, priority)] = _Group(kind, message, priority)
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        group.names.append(name)
        if kind == "Machine" and MACHINE_CONTROL_PLANE_LABEL in (meta.get("labels") or {}):
            group.control_planes.add(name)
    status = (TRUE, UNKNOWN, FALSE)[top] if negative else (FALSE, UNKNOWN, TRUE)[top]
    if top == INFO:
        shown = [g for g in groups.values() if g.message]
        messages = _aggregate_messages(shown, max_messages, {INFO: "with additional info"})
    else:
        shown = [g for g in groups.values() if g.priority != INFO]
        messages = _aggregate_messages(shown, max_messages,
                                       {ISSUE: "with other issues", UNKNOWN_PRIORITY: "with status unknown"})
    return condition(target_type, status, reasons.pick(top), "\n".join(messages))


def _aggregate_messages(groups: list[_Group], budget: int, others_text: Mapping[int, str]) -> list[str]:
    out: list[str] = []
    for kind in sorted({g.kind for g in groups}):
        merged: dict[str, _Group] = {}  # one entry per message, whatever the priorities behind it
        for group in (g for g in groups if g.kind == kind):
            entry = merged.get(group.message)
            if entry is None:
                merged[group.message] = entry = _Group(kind, group.message, group.priority)
            entry.priority = min(entry.priority, group.priority)
            entry.names.extend(group.names)
            entry.control_planes |= group.control_planes
        control_planes = set().union(*(g.control_planes for g in merged.values()))
        order = sorted(merged.values(), key=lambda g: (not g.control_planes, g.priority, -len(g.names),
                                                       ",".join(g.names)))
        plural = kind + "s"
        others: dict[int, int] = {}
        for entry in order:
            if budget == 0:
                others[entry.priority] = others.get(entry.priority, 0) + len(entry.names)
                continue
            names = sorted(entry.names, key=lambda n: (n not in control_planes, n))
            if len(names) == 1:
                head = f"* {kind} {names[0]}:"
            elif len(names) <= 3:
                head = f"* {plural} {', '.join(names)}:"
            else:
                head = f"* {plural} {', '.join(names[:3])}, ... ({len(names) - 3} more):"
            out.append(head + indent_if_multiline(entry.message))
            budget -= 1
        for level in (ISSUE, UNKNOWN_PRIORITY, INFO):
            count = others.get(level, 0)
            if count and level in others_text:
                out.append(f"And {count} {kind if count == 1 else plural} {others_text[level]}")
    return out


def paused_condition(cluster: Object | None, obj: Object) -> Condition:
    """The Paused condition for `obj`, saying why it is paused."""
    if not is_paused(cluster, obj):
        return condition(PAUSED, FALSE, NOT_PAUSED_REASON)
    why = []
    if (cluster or {}).get("spec", {}).get("paused"):
        why.append("Cluster spec.paused is set to true")
    if PAUSED_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {}):
        why.append(f"{obj.get('kind', 'Object')} has the {PAUSED_ANNOTATION} annotation")
    return condition(PAUSED, TRUE, PAUSED_REASON, ", ".join(why))


def has_condition(obj: Object, type_: str) -> bool:
    return get_condition(obj, type_) is not None


def conditions_equal(a: Condition | None, b: Condition | None) -> bool:
    """Same status, reason and message (times and generations aside)."""
    def key(c: Condition | None) -> tuple[Any, ...]:
        return (None,) if c is None else (c.get("status"), c.get("reason"), c.get("message", ""))
    return key(a) == key(b)


async def write_conditions(client: Client, kind: Kind, obj: Object, wanted: Sequence[Condition], *,
                           now: str | None = None) -> Object:
    """Write the conditions of `wanted` that differ from the object's (others' conditions stay as they are on the
    server; a condition keeps its lastTransitionTime while its status holds); returns the object as written, or
    `obj` when nothing differed. For the conditions one controller sets on objects another one owns."""
    changed: Object = {"status": {"conditions": [dict(c) for c in (obj.get("status") or {}).get("conditions") or []]}}
    changes: dict[str, Condition | None] = {}
    for wanted_condition in wanted:
        if conditions_equal(get_condition(obj, wanted_condition["type"]), wanted_condition):
            continue
        apply(changed, wanted_condition, now=now)
        changes[wanted_condition["type"]] = get_condition(changed, wanted_condition["type"])
    if not changes:
        return obj
    return await patch_status_conditions(client, kind, obj, {}, changes)
