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
from dataclasses import dataclass
from typing import Any

from herd.api.cluster.labels import MACHINE_CONTROL_PLANE_LABEL, PAUSED_ANNOTATION
from herd.runtime import Object
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN, get_condition, set_condition
from herd.runtime.conditions import Condition as Condition  # re-exported: the type every function here returns
from herd.runtime.conditions import Status as Status  # re-exported for callers building conditions

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


@dataclass(frozen=True)
class _Source:
    kind: str
    name: str
    cond: Condition
    control_plane: bool


def aggregate(objects: Sequence[Object], source_type: str, target_type: str, *, reasons: Reasons,
              negative: bool = False, priority: PriorityFunc | None = None, max_messages: int = 3) -> Condition:
    """Merge one condition type over many objects (most relevant messages first, at most `max_messages`).

    With `negative`, the condition's normal state is False and the merged condition has negative polarity too.
    """
    priority = priority or default_priority(*((source_type,) if negative else ()))
    sources = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        found = get_condition(obj, source_type) or condition(
            source_type, UNKNOWN, NOT_YET_REPORTED_REASON, f"Condition {source_type} not yet reported")
        control_plane = obj.get("kind") == "Machine" and MACHINE_CONTROL_PLANE_LABEL in (meta.get("labels") or {})
        sources.append(_Source(str(obj.get("kind") or ""), str(meta.get("name") or ""), found, control_plane))
    top = _merged_status(priority(s.cond) for s in sources)
    status = (TRUE, UNKNOWN, FALSE)[top] if negative else (FALSE, UNKNOWN, TRUE)[top]
    if top == INFO:
        messages = _aggregate_messages([s for s in sources if s.cond.get("message")], priority, max_messages,
                                       {INFO: "with additional info"})
    else:
        messages = _aggregate_messages([s for s in sources if priority(s.cond) != INFO], priority, max_messages,
                                       {ISSUE: "with other issues", UNKNOWN_PRIORITY: "with status unknown"})
    return condition(target_type, status, reasons.pick(top), "\n".join(messages))


def _aggregate_messages(sources: list[_Source], priority: PriorityFunc, budget: int,
                        others_text: Mapping[int, str]) -> list[str]:
    out: list[str] = []
    for kind in sorted({s.kind for s in sources}):
        by_message: dict[str, list[str]] = {}
        message_priority: dict[str, int] = {}
        first: dict[str, bool] = {}
        control_planes = {s.name for s in sources if s.control_plane}
        for source in (s for s in sources if s.kind == kind):
            text = str(source.cond.get("message") or "")
            by_message.setdefault(text, []).append(source.name)
            message_priority[text] = min(message_priority.get(text, INFO), priority(source.cond))
            first[text] = first.get(text, False) or source.control_plane
        order = sorted(by_message, key=lambda m: (not first[m], message_priority[m], -len(by_message[m]),
                                                  ",".join(by_message[m])))
        plural = kind + "s"
        others: dict[int, int] = {}
        for text in order:
            names = sorted(by_message[text], key=lambda n: (n not in control_planes, n))
            if budget == 0:
                others[message_priority[text]] = others.get(message_priority[text], 0) + len(names)
                continue
            if len(names) == 1:
                head = f"* {kind} {names[0]}:"
            elif len(names) <= 3:
                head = f"* {plural} {', '.join(names)}:"
            else:
                head = f"* {plural} {', '.join(names[:3])}, ... ({len(names) - 3} more):"
            out.append(head + indent_if_multiline(text))
            budget -= 1
        for level in (ISSUE, UNKNOWN_PRIORITY, INFO):
            count = others.get(level, 0)
            if count and level in others_text:
                out.append(f"And {count} {kind if count == 1 else plural} {others_text[level]}")
    return out


def is_paused(cluster: Object | None, obj: Object) -> bool:
    """Whether controllers must leave `obj` alone: its Cluster has spec.paused or `obj` the paused annotation."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return bool((cluster or {}).get("spec", {}).get("paused")) or PAUSED_ANNOTATION in annotations


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
