"""The object tree of `herd describe cluster` as a table (clusterctl's v1beta2 columns) or as JSON; no I/O here.

Each row is a list of cells and each cell a list of (text, style) segments, so the caller prints it plain or in
colour (styles: "gray", "green", "red", "yellow", "cyan", "bold", "bold white").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from herd.api.objects import nested, parse_time

from .get import human_age
from .tree import NEGATIVE_POLARITY, Condition, Node, is_true, ordered, row_name

COLUMNS = ("NAME", "REPLICAS", "AVAILABLE", "READY", "UP TO DATE", "STATUS", "REASON", "SINCE", "MESSAGE")
FIRST, LAST, PIPE, INDENT = "├─", "└─", "│ ", "  "
CONDITION_FILLER = " " * 10  # conditions sit to the right of the object they belong to
MESSAGE_WIDTH = 100
GAP = "  "

Segment = tuple[str, str]  # (text, style; "" for none)
Cell = list[Segment]


@dataclass
class Columns:
    """What one object's row says besides its name."""

    replicas: str = ""
    available: str = ""
    ready: str = ""
    up_to_date: str = ""
    condition: Condition | None = None  # the condition the STATUS, REASON, SINCE and MESSAGE columns show


def counter(value: Any) -> str:
    return "" if value is None else str(value)


def columns_of(node: Node) -> Columns:
    """The replica counters and the condition a row shows: Available for the Cluster, a control plane and a
    MachineDeployment, Ready for anything else; the Deleting condition for an object being deleted."""
    obj, columns = node.obj, Columns()
    status = nested(obj, "status") or {}
    if node.group is not None:
        group = node.group
        columns.available, columns.ready = str(group.available), str(group.ready)
        columns.up_to_date = str(group.up_to_date)
    elif node.kind == "Cluster":
        parts = [status.get("controlPlane") or {}, status.get("workers") or {}]

        def total(key: str) -> str:
            values = [part[key] for part in parts if part.get(key) is not None]
            return str(sum(values)) if values else ""
        if total("replicas") or total("desiredReplicas"):
            columns.replicas = f"{total('replicas') or 0}/{total('desiredReplicas') or 0}"
        columns.available, columns.ready = total("availableReplicas"), total("readyReplicas")
        columns.up_to_date = total("upToDateReplicas")
    elif node.kind in ("MachineDeployment", "MachineSet") or node.role == "ControlPlane":
        desired = nested(obj, "spec", "replicas")
        if desired is not None:
            columns.replicas = f"{status.get('replicas') or 0}/{desired}"
        columns.available = counter(status.get("availableReplicas"))
        columns.ready = counter(status.get("readyReplicas"))
        columns.up_to_date = counter(status.get("upToDateReplicas"))
    elif node.kind == "Machine":
        columns.replicas = "1"
        columns.available = "1" if is_true(node.condition("Available")) else "0"
        columns.ready = "1" if is_true(node.condition("Ready")) else "0"
        columns.up_to_date = "1" if is_true(node.condition("UpToDate")) else "0"
    if node.obj is not None and node.deleting:
        columns.condition = node.condition("Deleting")
    elif node.kind in ("Cluster", "MachineDeployment") or node.role == "ControlPlane":
        columns.condition = node.condition("Available") or (node.condition("Ready") if node.role else None)
    elif node.kind != "MachineSet":
        columns.condition = node.condition("Ready")
    return columns


def status_style(condition: Condition) -> str:
    status, negative = condition.get("status"), condition.get("type") in NEGATIVE_POLARITY
    if status == "Unknown":
        return "yellow"
    if status in ("True", "False"):
        return "red" if (status == "True") == negative else "green"
    return "gray"


def since(condition: Condition, now: datetime) -> str:
    moment = parse_time(condition.get("lastTransitionTime"))
    return human_age((now - moment).total_seconds()) if moment else ""


def paragraph(text: str, width: int = MESSAGE_WIDTH) -> list[str]:
    """A message as lines no wider than `width` (long ones wrapped at spaces); its own line breaks and indents
    are kept, and a wrapped "* " bullet continues under its text."""
    lines: list[str] = []
    for line in text.split("\n"):
        lead = line[:len(line) - len(line.lstrip(" "))]
        indent = lead + ("  " if line.strip().startswith("* ") else "")
        current = lead
        for word in line.split():
            if len(current) + len(word) < width:
                current += (" " if current.strip() else "") + word
                continue
            lines.append(current)
            current = indent + word
        lines.append(current)
    return lines


def is_nonzero(condition: Condition) -> bool:
    """Not in its normal state (False, or True for a negative-polarity one, or Unknown), or saying something."""
    normal = "False" if condition.get("type") in NEGATIVE_POLARITY else "True"
    return condition.get("status") != normal or bool(condition.get("message"))


def shown_conditions(node: Node) -> list[Condition]:
    if node.show_conditions == "nonzero":
        return [c for c in node.conditions if c.get("type") in ("Available", "Ready") or is_nonzero(c)]
    return node.conditions if node.show_conditions else []


def child_prefix(prefix: str, index: int, count: int) -> str:
    """The prefix of a parent's `index`th child: the parent's branches carried on, then ├─ or, for the last, └─."""
    carried = prefix.replace(FIRST, PIPE).replace(LAST, INDENT)
    return carried + (FIRST if index < count - 1 else LAST)


def continuation_prefix(prefix: str) -> str:
    """The prefix of a condition message's further lines."""
    if prefix.endswith(FIRST):
        return prefix.removesuffix(FIRST) + PIPE
    return prefix.removesuffix(LAST)


class TableBuilder:
    """The rows of the table, each a list of cells, for a tree as of `now`."""

    def __init__(self, root: Node, now: datetime) -> None:
        self.root, self.now = root, now
        self.parents: dict[int, Node] = {id(child): node for node in root.walk() for child in node.children}
        self.last = list(root.walk())[-1]
        self.rows: list[list[Cell]] = [[[(title, "")] for title in COLUMNS]]

    def build(self) -> list[list[Cell]]:
        self.add_object(self.root, "")
        return self.rows

    def add_object(self, node: Node, prefix: str) -> None:
        columns = columns_of(node)
        status = reason = age = ""
        message: list[Segment] = []
        condition = columns.condition
        lines: list[str] = []
        if condition is not None and not node.show_conditions:
            status, reason, age = str(condition.get("status", "")), str(condition.get("reason", "")), \
                since(condition, self.now)
            lines = paragraph(str(condition.get("message") or ""))
            message = [(lines[0], "")]
        if node.group is not None:
            items = node.group.items
            message, lines = [(f"See {', '.join(items[:2])}" + (", ..." if len(items) > 2 else ""), "gray")], []
        name = self.name_cell(node)
        self.rows.append([[(prefix, "gray"), *name], [(columns.replicas, "")], [(columns.available, "")],
                          [(columns.ready, "")], [(columns.up_to_date, "")],
                          [(status, status_style(condition) if condition and status else "")], [(reason, "")],
                          [(age, "")], message])
        for line in lines[1:]:
            self.rows.append([[(self.object_continuation(node), "gray")], *[[] for _ in COLUMNS[1:-1]], [(line, "")]])
        self.add_conditions(node, prefix)
        children = ordered(node.children)
        for index, child in enumerate(children):
            self.add_object(child, child_prefix(prefix, index, len(children)))

    @staticmethod
    def name_cell(node: Node) -> Cell:
        name = row_name(node)
        if node.group is not None:
            return [(name, "bold white")]
        if node.obj is None:
            return [(name, "")]
        cell: Cell = []
        if node.deleting:
            cell.append(("!! DELETED !! ", "red"))
            name = name.removeprefix("!! DELETED !! ")
        kind, _, rest = name.partition(" ")
        reference, comma, version = rest.partition(",")
        cell += [(f"{kind} ", ""), (reference, "bold"), (comma + version, "")]
        return cell

    def object_continuation(self, node: Node) -> str:
        """The prefix of an object's further message lines: the branches still open at that point."""
        if node is self.last:
            return ""
        prefix = PIPE if node.children else ""
        current, parent = node, self.parents.get(id(node))
        while parent is not None:
            siblings = ordered(parent.children)
            prefix = (INDENT if siblings[-1] is current else PIPE) + prefix
            current, parent = parent, self.parents.get(id(parent))
        return prefix

    def add_conditions(self, node: Node, prefix: str) -> None:
        conditions = shown_conditions(node)
        base = prefix + (PIPE if node.children else INDENT) + CONDITION_FILLER
        for index, condition in enumerate(conditions):
            own = child_prefix(base, index, len(conditions))
            lines = paragraph(str(condition.get("message") or ""))
            self.rows.append([[(own, "gray"), (str(condition.get("type", "")), "cyan")], [], [], [], [],
                              [(str(condition.get("status", "")), status_style(condition))],
                              [(str(condition.get("reason", "")), "")], [(since(condition, self.now), "")],
                              [(lines[0], "")]])
            for line in lines[1:]:
                self.rows.append([[(continuation_prefix(own), "gray")], *[[] for _ in COLUMNS[1:-1]], [(line, "")]])


def table_rows(root: Node, now: datetime) -> list[list[Cell]]:
    return TableBuilder(root, now).build()


def cell_text(cell: Cell) -> str:
    return "".join(text for text, _ in cell)


def aligned_lines(rows: list[list[Cell]]) -> Iterator[Cell]:
    """Each row as one line of segments, its columns padded to a common width (trailing blanks dropped)."""
    widths = [max(len(cell_text(row[i])) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        line: Cell = []
        for cell, width in zip(row, widths, strict=True):
            line += [*cell, (" " * (width - len(cell_text(cell))) + GAP, "")]
        while line and not line[-1][0].strip():
            line.pop()
        if line:
            text, style = line[-1]
            line[-1] = (text.rstrip(), style)
        yield line


def render_text(root: Node, now: datetime) -> str:
    """The table without colours."""
    return "".join(cell_text(line) + "\n" for line in aligned_lines(table_rows(root, now)))


def condition_json(condition: Condition, now: datetime) -> dict[str, Any]:
    return {"type": condition.get("type"), "status": condition.get("status"), "reason": condition.get("reason"),
            "message": condition.get("message") or "", "lastTransitionTime": condition.get("lastTransitionTime"),
            "since": since(condition, now) or None}


def tree_json(node: Node, now: datetime) -> dict[str, Any]:
    """The tree as JSON: each node's name, kind, the table's columns, its conditions and its children."""
    columns = columns_of(node)
    condition = columns.condition
    out: dict[str, Any] = {"name": row_name(node), "kind": node.kind}
    if node.obj is not None:
        out |= {"objectName": node.name, "namespace": node.namespace}
    if node.role:
        out["role"] = node.role
    out |= {"replicas": columns.replicas or None, "available": columns.available or None,
            "ready": columns.ready or None, "upToDate": columns.up_to_date or None,
            "status": condition.get("status") if condition else None,
            "reason": condition.get("reason") if condition else None,
            "since": (since(condition, now) or None) if condition else None,
            "message": (condition.get("message") or "") if condition else None}
    if node.group is not None:
        out["items"] = list(node.group.items)
    if node.obj is not None and node.deleting:
        out["deletionTimestamp"] = nested(node.obj, "metadata", "deletionTimestamp")
        out["finalizers"] = list(nested(node.obj, "metadata", "finalizers") or [])
    out["conditions"] = [condition_json(c, now) for c in node.conditions]
    out["children"] = [tree_json(child, now) for child in ordered(node.children)]
    return out
