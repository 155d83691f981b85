"""meta.k8s.io/v1 `Table` rendering for `kubectl get`: columns read with kube's JSONPath dialect (CRD printer
columns) or computed like kube's server-side printers (built-ins), cells formatted the way kube does."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Required, TypedDict

__all__ = ["BUILTIN_COLUMNS", "NAME_COLUMN", "Cell", "ColumnSpec", "crd_columns", "human_duration",
           "jsonpath_find", "to_table"]

Cell = str | int | float | bool | None


class ColumnSpec(TypedDict, total=False):
    """A TableColumnDefinition plus the cell's source: `jsonPath` (rendered per `type`) or `compute`."""

    name: Required[str]
    type: Required[str]
    format: str
    description: str
    priority: int
    jsonPath: str
    compute: Callable[[dict[str, Any], datetime], Cell]  # (object, now) -> cell


# ----------------------------------------------------------------------------------------------- JSONPath

_Step = tuple[str, Any]
# `..`, `.`, a bracket (quoted strings and one level of nested brackets inside), or a field name.
_SEGMENT_RE = re.compile(r"\.\.|\.|\[(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\[[^\]]*\]|[^\]'\"\[])*\]"
                         r"|(?:\\.|[^.\[\\])+")
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {"==": operator.eq, "!=": operator.ne, "<": operator.lt,
                                                   ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_FILTER_RE = re.compile(r"^\?\(\s*@((?:\.[^=!<>\s]+|\[[^\]]*\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def _parse_path(path: str) -> list[_Step]:
    """Split a kube JSONPath (`.a.b`, `['x.y']`, `[0]`, `[*]`, `[?(@.k=="v")]`) into steps."""
    path = path.strip().removeprefix("{").removesuffix("}").strip().removeprefix("$")
    segments = _SEGMENT_RE.findall(path)
    if sum(map(len, segments)) != len(path):
        raise ValueError(f"unsupported JSONPath {path!r}")
    steps: list[_Step] = []
    for seg in segments:
        if seg == "..":
            raise ValueError("recursive descent (..) is not supported")
        if seg.startswith("["):
            steps.append(_bracket_step(seg[1:-1]))
        elif seg != ".":
            steps.append(("all", None) if seg == "*" else ("field", re.sub(r"\\(.)", r"\1", seg)))
    return steps


def _bracket_step(inner: str) -> _Step:
    inner = inner.strip()
    if inner == "*":
        return ("all", None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return ("field", inner[1:-1].replace("\\.", ".").replace("\\'", "'"))
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner))
    match = _FILTER_RE.match(inner)
    if match:
        rhs = match.group(3)
        value = None if rhs is None else _literal(rhs)
        return ("filter", (match.group(1), match.group(2), value))
    raise ValueError(f"unsupported JSONPath element [{inner}]")


def _literal(text: str) -> Any:
    text = text.strip()
    try:  # strings in either quote, numbers, true/false
        return json.loads(f'"{text[1:-1]}"' if text[:1] == "'" else text)
    except ValueError:
        return text


def _compare(left: Any, op: str, right: Any) -> bool:
    try:
        return bool(_OPERATORS[op](left, right))
    except TypeError:  # e.g. "<" between a string and a number matches nothing
        return False


def _apply(step: _Step, values: list[Any]) -> list[Any]:
    kind, arg = step
    out: list[Any] = []
    for value in values:
        if kind == "field" and isinstance(value, dict) and arg in value:
            out.append(value[arg])
        elif kind == "all":
            out.extend(value.values() if isinstance(value, dict) else value if isinstance(value, list)
                       else ())
        elif kind == "index" and isinstance(value, list) and -len(value) <= arg < len(value):
            out.append(value[arg])
        elif kind == "filter" and isinstance(value, list):
            sub, op, rhs = arg
            for item in value:
                found = jsonpath_find(item, sub)
                if found and (op is None or _compare(found[0], op, rhs)):
                    out.append(item)
    return out


def jsonpath_find(obj: Any, path: str) -> list[Any]:
    """All values `path` selects in `obj` (missing keys select nothing); ValueError for unsupported syntax."""
    values = [obj]
    for step in _parse_path(path):
        values = _apply(step, values)
    return values



def human_duration(seconds: float) -> str:
    """Render an age like apimachinery's HumanDuration: "45s", "3m20s", "5h", "2d4h", "3y40d"."""
    value, unit = int(seconds), "s"
    if value < -1:
        return "<invalid>"  # a little clock skew reads as "0s", anything more is an error
    if value < 0:
        return "0s"
    # (next unit, its size in the current unit, show the current unit below size*alone,
    #  show "<whole><next><rest><current>" below `detailed` wholes)
    for name, size, alone, detailed in (("m", 60, 2, 10), ("h", 60, 3, 8), ("d", 24, 2, 8), ("y", 365, 2, 8)):
        if value < size * alone:
            return f"{value}{unit}"
        whole, rest = divmod(value, size)
        if whole < detailed:
            return f"{whole}{name}{rest}{unit}" if rest else f"{whole}{name}"
        value, unit = whole, name
    return f"{value}{unit}"


def _parse_time(value: object) -> datetime | None:
    try:  # RFC 3339 only: a date and a time with a zone
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        return None
    return parsed if parsed and parsed.tzinfo else None


def _since(value: object, now: datetime, missing: str = "<unknown>") -> str:
    """kube's translateTimestampSince: the age of a timestamp, or `missing` when there is none."""
    when = _parse_time(value)
    return missing if when is None else human_duration((now - when).total_seconds())


def _text(value: Any) -> str:
    # How kube's JSONPath printer writes a value: strings raw, composites as compact JSON.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _cell(column_type: str, value: Any, now: datetime) -> Cell:
    """Format the first JSONPath result for a column `type`, as kube's CRD table convertor does."""
    if value is None:
        return None
    if column_type == "string":
        return _text(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if column_type in ("integer", "number"):
        return (int(value) if column_type == "integer" else float(value)) if number else None
    if column_type == "boolean":
        return value if isinstance(value, bool) else None
    if column_type == "date" and isinstance(value, str):  # "" and "null" are the zero time: "<unknown>"
        return "<unknown>" if value in ("", "null") else _since(value, now, missing="<invalid>")
    return None


def _column_cell(column: ColumnSpec, obj: dict[str, Any], now: datetime) -> Cell:
    compute = column.get("compute")
    if compute is not None:
        return compute(obj, now)
    try:
        found = jsonpath_find(obj, column.get("jsonPath", ""))
    except ValueError:
        return None
    return _cell(column["type"], found[0], now) if found else None



def to_table(objects: list[dict[str, Any]], columns: list[ColumnSpec], *, list_metadata: dict[str, Any],
             include_object: str = "Metadata", api_version_of_partial: str = "meta.k8s.io/v1",
             now: datetime | None = None, no_headers: bool = False) -> dict[str, Any]:
    """Render `objects` as a meta.k8s.io/v1 Table with one row per object.

    `columns` is the full column list (use `crd_columns` or `BUILTIN_COLUMNS`). `include_object` is the
    `includeObject` option: "None" leaves rows without an object, "Object" embeds the whole object and
    "Metadata" a PartialObjectMetadata of `api_version_of_partial`. A `kubectl get -w` watch event carries
    `to_table([obj], ...)` (one row); `no_headers` leaves out the column definitions if wanted.
    """
    moment = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [_column_cell(c, obj, moment) for c in columns]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version_of_partial,
                             "metadata": obj.get("metadata", {})}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata,
            "columnDefinitions": [] if no_headers else [
                {"name": c["name"], "type": c["type"], "format": c.get("format", ""),
                 "description": c.get("description", ""), "priority": c.get("priority", 0)} for c in columns],
            "rows": rows}


NAME_COLUMN: ColumnSpec = {
    "name": "Name", "type": "string", "format": "name", "jsonPath": ".metadata.name",
    "description": "Name must be unique within a namespace. Is required when creating resources.",
}
_CREATED = "metadata.creationTimestamp"
_AGE_DESCRIPTION = "CreationTimestamp is the server time when this object was created, in RFC3339 form, UTC."


def crd_columns(printer_columns: list[dict[str, Any]]) -> list[ColumnSpec]:
    """Columns for a custom resource: Name, then the CRD version's `additionalPrinterColumns`, or Age when
    it declares none (kube's default)."""
    default = {"name": "Age", "type": "date", "jsonPath": f".{_CREATED}", "description": _AGE_DESCRIPTION}
    out: list[ColumnSpec] = [NAME_COLUMN]
    for col in printer_columns or [default]:
        path = str(col.get("jsonPath", ""))
        out.append({"name": str(col.get("name", "")), "type": str(col.get("type", "string")),
                    "format": str(col.get("format", "")), "priority": int(col.get("priority", 0)),
                    "description": str(col.get("description") or
                                       f"Custom resource definition column (in JSONPath format): {path}"),
                    "jsonPath": path})
    return out



_Compute = Callable[[dict[str, Any], datetime], Cell]


def _col(name: str, compute: _Compute, kind: str = "string", priority: int = 0, desc: str = "") -> ColumnSpec:
    return {"name": name, "type": kind, "priority": priority, "description": desc, "compute": compute}


def _get(obj: Any, path: str) -> Any:
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _count(*paths: str) -> _Compute:
    return lambda obj, _now: sum(len(_get(obj, p) or ()) for p in paths)


def _string(path: str, default: str = "") -> _Compute:
    return lambda obj, _now: str(_get(obj, path) or default)


def _first(items: Any, key: str, value: str) -> dict[str, Any]:  # e.g. the condition of type Ready
    return next((i for i in items or [] if isinstance(i, dict) and i.get(key) == value), {})


AGE_COLUMN = _col("Age", lambda o, now: _since(_get(o, _CREATED), now), desc=_AGE_DESCRIPTION)


def _event(index: int) -> _Compute:
    """Cell `index` of (last seen, object, source, first seen, count), derived like kube's event printer (from
    core/v1 fields or their events.k8s.io/v1 names)."""
    def cell(e: dict[str, Any], now: datetime) -> Cell:
        first = _get(e, "firstTimestamp") or _get(e, "deprecatedFirstTimestamp") or _get(e, "eventTime")
        last = (_get(e, "series.lastObservedTime") or _get(e, "lastTimestamp") or _get(e, "deprecatedLastTimestamp")
                or first)
        ref = _get(e, "involvedObject") or _get(e, "regarding") or {}
        kind, name = str(ref.get("kind") or "").lower(), ref.get("name")
        source = (_get(e, "source.component") or _get(e, "deprecatedSource.component") or _get(e, "reportingComponent")
                  or _get(e, "reportingController") or "")
        host = _get(e, "source.host") or _get(e, "deprecatedSource.host") or _get(e, "reportingInstance") or ""
        cells: tuple[Cell, ...] = (_since(last, now), f"{kind}/{name}" if name else kind,
                                   f"{source}, {host}" if host else str(source), _since(first, now),
                                   int(_get(e, "series.count") or _get(e, "count") or _get(e, "deprecatedCount") or 1))
        return cells[index]
    return cell


def _node_status(node: dict[str, Any], _now: datetime) -> str:
    ready = _first(_get(node, "status.conditions"), "type", "Ready")
    status = ("Ready" if ready.get("status") == "True" else "NotReady") if ready else "Unknown"
    return status + (",SchedulingDisabled" if _get(node, "spec.unschedulable") else "")


def _node_roles(node: dict[str, Any], _now: datetime) -> str:
    labels = _get(node, "metadata.labels") or {}
    roles = {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")}
    roles |= {str(v) for k, v in labels.items() if k == "kubernetes.io/role"}
    return ",".join(sorted(r for r in roles if r)) or "<none>"


def _node_address(kind: str) -> _Compute:
    return lambda n, _now: str(_first(_get(n, "status.addresses"), "type", kind).get("address") or "<none>")


def _terminated_reason(term: dict[str, Any]) -> str:
    code = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
    return str(term.get("reason") or code)


def _pod_cell(index: int, pod: dict[str, Any], now: datetime) -> str:
    """Cell `index` of (ready, status, restarts) for a Pod, following kube's pod printer."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "")
    inits, containers = status.get("initContainerStatuses") or [], status.get("containerStatuses") or []
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"}
    ready = sum(1 for c in inits if c.get("name") in sidecars and c.get("ready"))
    initializing = False
    for i, cs in enumerate(inits):
        state = cs.get("state") or {}
        if _get(state, "terminated.exitCode") == 0 or (cs.get("name") in sidecars and cs.get("started")):
            continue
        waiting = _get(state, "waiting.reason")
        if state.get("terminated"):
            reason = "Init:" + _terminated_reason(state["terminated"])
        elif waiting and waiting != "PodInitializing":
            reason = f"Init:{waiting}"
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        running = False
        for cs in reversed(containers):
            state = cs.get("state") or {}
            if _get(state, "waiting.reason"):
                reason = str(state["waiting"]["reason"])
            elif state.get("terminated"):
                reason = _terminated_reason(state["terminated"])
            elif cs.get("ready") and state.get("running") is not None:
                running, ready = True, ready + 1
        if reason == "Completed" and running:
            ready_condition = _first(status.get("conditions"), "type", "Ready")
            reason = "Running" if ready_condition.get("status") == "True" else "NotReady"
    if _get(pod, "metadata.deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    # Restarts count init containers while the pod initialises, afterwards sidecars and app containers.
    counted = inits if initializing else [c for c in inits if c.get("name") in sidecars] + containers
    restarts = sum(int(c.get("restartCount") or 0) for c in counted)
    times = [t for c in counted if c.get("restartCount")
             if (t := _parse_time(_get(c, "lastState.terminated.finishedAt")))]
    ago = f" ({human_duration((now - max(times)).total_seconds())} ago)" if times else ""
    total = len(spec.get("containers") or []) + len(sidecars)
    return (f"{ready}/{total}", reason, f"{restarts}{ago}")[index]


def _readiness_gates(pod: dict[str, Any], _now: datetime) -> str:
    gates = [g.get("conditionType") for g in _get(pod, "spec.readinessGates") or []]
    true = {c.get("type") for c in _get(pod, "status.conditions") or [] if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g in true)}/{len(gates)}" if gates else "<none>"


_WEBHOOK_COLUMNS = [NAME_COLUMN, _col("Webhooks", _count("webhooks"), "integer"), AGE_COLUMN]

BUILTIN_COLUMNS: dict[str, list[ColumnSpec]] = {
    "namespaces": [NAME_COLUMN, _col("Status", _string("status.phase")), AGE_COLUMN],
    "configmaps": [NAME_COLUMN, _col("Data", _count("data", "binaryData"), "integer"), AGE_COLUMN],
    "secrets": [NAME_COLUMN, _col("Type", _string("type")), _col("Data", _count("data"), "integer"),
                AGE_COLUMN],
    "serviceaccounts": [NAME_COLUMN, _col("Secrets", _count("secrets"), "integer"), AGE_COLUMN],
    "events": [
        _col("Last Seen", _event(0)), _col("Type", _string("type")), _col("Reason", _string("reason")),
        _col("Object", _event(1)), _col("Subobject", _string("involvedObject.fieldPath"), priority=1),
        _col("Source", _event(2), priority=1),
        _col("Message", lambda e, _now: str(e.get("message") or e.get("note") or "").strip()),
        _col("First Seen", _event(3), priority=1), _col("Count", _event(4), "integer", priority=1),
        {**NAME_COLUMN, "priority": 1},
    ],
    "leases": [NAME_COLUMN, _col("Holder", _string("spec.holderIdentity")), AGE_COLUMN],
    # CRDs use kube's default table: the creation time as an RFC 3339 string, not an age.
    "customresourcedefinitions": [
        NAME_COLUMN, _col("Created At", _string(_CREATED), "date", desc=_AGE_DESCRIPTION)],
    "nodes": [
        NAME_COLUMN, _col("Status", _node_status), _col("Roles", _node_roles), AGE_COLUMN,
        _col("Version", _string("status.nodeInfo.kubeletVersion")),
        _col("Internal-IP", _node_address("InternalIP"), priority=1),
        _col("External-IP", _node_address("ExternalIP"), priority=1),
        *(_col(name, _string(f"status.nodeInfo.{key}", "<unknown>"), priority=1) for name, key in (
            ("OS-Image", "osImage"), ("Kernel-Version", "kernelVersion"),
            ("Container-Runtime", "containerRuntimeVersion"))),
    ],
    "pods": [
        NAME_COLUMN, *(_col(n, partial(_pod_cell, i)) for i, n in enumerate(("Ready", "Status", "Restarts"))),
        AGE_COLUMN,
        *(_col(name, _string(path, "<none>"), priority=1) for name, path in (
            ("IP", "status.podIP"), ("Node", "spec.nodeName"),
            ("Nominated Node", "status.nominatedNodeName"))),
        _col("Readiness Gates", _readiness_gates, priority=1),
    ],
    "mutatingwebhookconfigurations": _WEBHOOK_COLUMNS,
    "validatingwebhookconfigurations": _WEBHOOK_COLUMNS,
}
"""Columns of the built-in resources by plural, matching what kube's server-side printers send."""
