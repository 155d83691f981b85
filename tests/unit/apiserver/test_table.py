"""meta.k8s.io/v1 Tables for `kubectl get`: kube's columns, JSONPath dialect and cell formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.apiserver.table import (
    BUILTIN_COLUMNS,
    NAME_COLUMN,
    ColumnSpec,
    crd_columns,
    human_duration,
    jsonpath_find,
    to_table,
)

NOW = datetime(2025, 1, 10, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


MACHINE: dict[str, Any] = {
    "apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine",
    "metadata": {"name": "m-1", "namespace": "default", "creationTimestamp": ago(minutes=5),
                 "labels": {"cluster.x-k8s.io/cluster-name": "c1", "plain": "p"}},
    "spec": {"replicas": 3, "ratio": 1.5, "paused": False, "providerID": "docker:///m-1", "tags": ["a", "b"],
             "version": "v1.32.0", "never": ""},
    "status": {"phase": "Running",
               "conditions": [{"type": "Ready", "status": "True"}, {"type": "Healthy", "status": "False"}]},
}


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (130, "2m10s"),
    (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"),
    (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"),
    (729 * 86400, "729d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration_matches_apimachinery(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("path", "found"), [
    (".spec.replicas", [3]),
    ("{.spec.replicas}", [3]),
    ("$.spec.replicas", [3]),
    (".missing.deeper", []),
    (".status.conditions[?(@.type==\"Ready\")].status", ["True"]),
    (".status.conditions[?(@.type=='Healthy')].status", ["False"]),
    (".status.conditions[?(@.status!=\"True\")].type", ["Healthy"]),
    (".status.conditions[*].type", ["Ready", "Healthy"]),
    (".status.conditions[0].type", ["Ready"]),
    (".status.conditions[-1].type", ["Healthy"]),
    (".status.conditions[5].type", []),
    (".metadata.labels['cluster.x-k8s.io/cluster-name']", ["c1"]),
    (".metadata.labels[\"plain\"]", ["p"]),
    (".metadata.labels.cluster\\.x-k8s\\.io/cluster-name", ["c1"]),
    (".spec.tags", [["a", "b"]]),
    (".spec[?(@.x)]", []),
])
def test_jsonpath_dialect(path: str, found: list[Any]) -> None:
    assert jsonpath_find(MACHINE, path) == found


@pytest.mark.parametrize("path", [".a[", "..name", ".a[?(bogus)]"])
def test_jsonpath_rejects_unsupported_syntax(path: str) -> None:
    with pytest.raises(ValueError):
        jsonpath_find(MACHINE, path)


def column(name: str, type_: str, path: str) -> dict[str, Any]:
    return {"name": name, "type": type_, "jsonPath": path}


@pytest.mark.parametrize(("spec", "cell"), [
    (column("Replicas", "integer", ".spec.replicas"), 3),
    (column("Ratio", "integer", ".spec.ratio"), 1),
    (column("Ratio", "number", ".spec.ratio"), 1.5),
    (column("Replicas", "number", ".spec.replicas"), 3.0),
    (column("Paused", "boolean", ".spec.paused"), False),
    (column("Paused", "string", ".spec.paused"), "false"),
    (column("Replicas", "string", ".spec.replicas"), "3"),
    (column("Phase", "integer", ".status.phase"), None),
    (column("Phase", "boolean", ".status.phase"), None),
    (column("Tags", "string", ".spec.tags"), '["a","b"]'),
    (column("Tag", "string", ".spec.tags[*]"), "a"),
    (column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status"), "True"),
    (column("Missing", "string", ".status.nope"), None),
    (column("Age", "date", ".metadata.creationTimestamp"), "5m"),
    (column("When", "date", ".status.phase"), "<invalid>"),
    (column("When", "date", ".spec.never"), "<unknown>"),
    (column("When", "date", ".spec.replicas"), None),
    (column("Broken", "string", ".spec["), None),
], ids=lambda v: f"{v['type']}:{v['jsonPath']}" if isinstance(v, dict) else None)
def test_crd_printer_column_cells_follow_kube(spec: dict[str, Any], cell: object) -> None:
    table = to_table([MACHINE], crd_columns([spec]), list_metadata={}, now=NOW)
    assert table["rows"][0]["cells"] == ["m-1", cell]


def test_crd_columns_are_name_then_the_printer_columns() -> None:
    printer: list[dict[str, Any]] = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1,
         "description": "Machine phase"},
        {"name": "Version", "type": "string", "jsonPath": ".spec.version", "format": "x"}]
    table = to_table([MACHINE], crd_columns(printer), list_metadata={"resourceVersion": "7"}, now=NOW)
    assert table["columnDefinitions"] == [
        {"name": "Name", "type": "string", "format": "name", "description": NAME_COLUMN["description"],
         "priority": 0},
        {"name": "Phase", "type": "string", "format": "", "description": "Machine phase", "priority": 1},
        {"name": "Version", "type": "string", "format": "x",
         "description": "Custom resource definition column (in JSONPath format): .spec.version",
         "priority": 0},
    ]
    assert table["rows"][0]["cells"] == ["m-1", "Running", "v1.32.0"]
    assert (table["kind"], table["apiVersion"], table["metadata"]) == ("Table", "meta.k8s.io/v1",
                                                                      {"resourceVersion": "7"})


def test_crd_without_printer_columns_gets_name_and_age() -> None:
    table = to_table([MACHINE], crd_columns([]), list_metadata={}, now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["m-1", "5m"]


@pytest.mark.parametrize(("include", "expected"), [
    ("Metadata", {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                  "metadata": MACHINE["metadata"]}),
    ("Object", MACHINE),
    ("None", None),
])
def test_include_object_controls_the_row_object(include: str, expected: object) -> None:
    row = to_table([MACHINE], crd_columns([]), list_metadata={}, include_object=include, now=NOW)["rows"][0]
    assert row.get("object") == expected


def test_partial_object_metadata_api_version_can_be_v1beta1() -> None:
    row = to_table([MACHINE], [NAME_COLUMN], list_metadata={}, api_version_of_partial="meta.k8s.io/v1beta1")
    assert row["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_watch_event_table_has_one_row_and_optional_headers() -> None:
    event = to_table([MACHINE], crd_columns([]), list_metadata={"resourceVersion": "9"}, now=NOW)
    assert len(event["rows"]) == 1 and len(event["columnDefinitions"]) == 2
    assert to_table([MACHINE], crd_columns([]), list_metadata={}, no_headers=True)["columnDefinitions"] == []


def test_empty_list_renders_headers_and_no_rows() -> None:
    table = to_table([], BUILTIN_COLUMNS["configmaps"], list_metadata={"resourceVersion": "1"})
    assert table["rows"] == [] and [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]


# ------------------------------------------------------------------------------------- built-in resources

def cells(plural: str, obj: dict[str, Any], wide: bool = False) -> dict[str, Any]:
    columns: list[ColumnSpec] = BUILTIN_COLUMNS[plural]
    table = to_table([obj], columns, list_metadata={}, now=NOW)
    pairs = zip(table["columnDefinitions"], table["rows"][0]["cells"], strict=True)
    shown = [(d["name"], c) for d, c in pairs if wide or d["priority"] == 0]
    return dict(shown)


CREATED = {"name": "x", "creationTimestamp": ago(hours=3)}


@pytest.mark.parametrize(("plural", "obj", "expected"), [
    ("namespaces", {"metadata": CREATED, "status": {"phase": "Active"}},
     {"Name": "x", "Status": "Active", "Age": "3h"}),
    ("configmaps", {"metadata": CREATED, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}},
     {"Name": "x", "Data": 3, "Age": "3h"}),
    ("configmaps", {"metadata": CREATED}, {"Name": "x", "Data": 0, "Age": "3h"}),
    ("secrets", {"metadata": CREATED, "type": "Opaque", "data": {"a": "MQ=="}},
     {"Name": "x", "Type": "Opaque", "Data": 1, "Age": "3h"}),
    ("serviceaccounts", {"metadata": CREATED}, {"Name": "x", "Secrets": 0, "Age": "3h"}),
    ("leases", {"metadata": CREATED, "spec": {"holderIdentity": "node-1"}},
     {"Name": "x", "Holder": "node-1", "Age": "3h"}),
    ("customresourcedefinitions", {"metadata": {"name": "machines.cluster.x-k8s.io",
                                                "creationTimestamp": "2025-01-01T00:00:00Z"}},
     {"Name": "machines.cluster.x-k8s.io", "Created At": "2025-01-01T00:00:00Z"}),
    ("mutatingwebhookconfigurations", {"metadata": CREATED, "webhooks": [{"name": "a"}, {"name": "b"}]},
     {"Name": "x", "Webhooks": 2, "Age": "3h"}),
    ("validatingwebhookconfigurations", {"metadata": {"name": "v"}}, {"Name": "v", "Webhooks": 0,
                                                                     "Age": "<unknown>"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_builtin_columns_like_kubectl_get(plural: str, obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert cells(plural, obj) == expected


def test_event_columns() -> None:
    event = {"metadata": {"name": "p.123", "namespace": "ns"}, "type": "Warning", "reason": "BackOff",
             "message": " Back-off restarting \n", "involvedObject": {"kind": "Pod", "name": "p",
                                                                       "fieldPath": "spec.containers{app}"},
             "source": {"component": "kubelet", "host": "node-1"}, "count": 4,
             "firstTimestamp": ago(minutes=30), "lastTimestamp": ago(seconds=20)}
    assert cells("events", event, wide=True) == {
        "Last Seen": "20s", "Type": "Warning", "Reason": "BackOff", "Object": "pod/p",
        "Subobject": "spec.containers{app}", "Source": "kubelet, node-1", "Message": "Back-off restarting",
        "First Seen": "30m", "Count": 4, "Name": "p.123"}


def test_event_columns_for_series_and_event_time_only_events() -> None:
    event = {"metadata": {"name": "e"}, "eventTime": ago(hours=4), "reportingComponent": "ctrl",
             "series": {"count": 7, "lastObservedTime": ago(minutes=1)}, "involvedObject": {"kind": "Node"}}
    got = cells("events", event, wide=True)
    assert (got["Last Seen"], got["First Seen"], got["Count"], got["Object"], got["Source"]) == (
        "60s", "4h", 7, "node", "ctrl")


@pytest.mark.parametrize(("node", "expected"), [
    ({"metadata": {"name": "n1", "creationTimestamp": ago(days=3),
                   "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master"}},
      "status": {"conditions": [{"type": "Ready", "status": "True"}],
                 "nodeInfo": {"kubeletVersion": "v1.32.0"},
                 "addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}},
     {"Name": "n1", "Status": "Ready", "Roles": "control-plane,master", "Age": "3d", "Version": "v1.32.0",
      "Internal-IP": "10.0.0.2", "External-IP": "<none>", "OS-Image": "<unknown>",
      "Kernel-Version": "<unknown>",
      "Container-Runtime": "<unknown>"}),
    ({"metadata": {"name": "n2"}, "spec": {"unschedulable": True},
      "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
     {"Status": "NotReady,SchedulingDisabled", "Roles": "<none>"}),
    ({"metadata": {"name": "n3"}}, {"Status": "Unknown"}),
])
def test_node_columns(node: dict[str, Any], expected: dict[str, Any]) -> None:
    got = cells("nodes", node, wide=True)
    assert {k: got[k] for k in expected} == expected


def running(name: str, ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


POD_SPEC = {"containers": [{"name": "app"}, {"name": "side"}]}


@pytest.mark.parametrize(("pod", "ready", "status", "restarts"), [
    ({"spec": POD_SPEC,
      "status": {"phase": "Running", "containerStatuses": [running("app"), running("side")]}},
     "2/2", "Running", "0"),
    ({"spec": POD_SPEC, "status": {"phase": "Pending"}}, "0/2", "Pending", "0"),
    ({"spec": POD_SPEC, "status": {"phase": "Running", "containerStatuses": [
        running("app"),
        {"name": "side", "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"finishedAt": ago(minutes=2)}}}]}},
     "1/2", "CrashLoopBackOff", "5 (2m ago)"),
    ({"spec": POD_SPEC, "status": {"phase": "Failed", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 137, "signal": 9}}},
        {"name": "side", "state": {"terminated": {"exitCode": 2}}}]}},
     "0/2", "Signal:9", "0"),
    ({"spec": POD_SPEC, "status": {"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "side", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}},
     "0/2", "Completed", "0"),
    ({"spec": {**POD_SPEC, "initContainers": [{"name": "init1"}, {"name": "init2"}]},
      "status": {"phase": "Pending", "initContainerStatuses": [
          {"name": "init1", "state": {"terminated": {"exitCode": 0}}},
          {"name": "init2", "state": {"running": {}}}]}},
     "0/2", "Init:1/2", "0"),
    ({"spec": {**POD_SPEC, "initContainers": [{"name": "init1"}]},
      "status": {"phase": "Pending", "initContainerStatuses": [
          {"name": "init1", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
     "0/2", "Init:CrashLoopBackOff", "2"),
    ({"spec": {**POD_SPEC, "initContainers": [{"name": "init1"}]},
      "status": {"phase": "Pending", "initContainerStatuses": [
          {"name": "init1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}},
     "0/2", "Init:Error", "0"),
    ({"spec": {**POD_SPEC, "initContainers": [{"name": "proxy", "restartPolicy": "Always"}]},
      "status": {"phase": "Running", "initContainerStatuses": [running("proxy", started=True)],
                 "containerStatuses": [running("app"), running("side", ready=False)]}},
     "2/3", "Running", "0"),
    ({"metadata": {"deletionTimestamp": ago(seconds=5)}, "spec": POD_SPEC,
      "status": {"phase": "Running", "containerStatuses": [running("app"), running("side")]}},
     "2/2", "Terminating", "0"),
    ({"spec": POD_SPEC, "status": {"phase": "Failed", "reason": "Evicted"}}, "0/2", "Evicted", "0"),
], ids=["running", "pending", "crash-loop-with-last-restart", "killed-by-signal", "completed",
        "init-progress", "init-crash-loop", "init-error", "sidecar-counts-as-ready", "terminating",
        "evicted"])
def test_pod_ready_status_and_restarts(pod: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    got = cells("pods", {"metadata": {"name": "p", "creationTimestamp": ago(days=1)}, **pod})
    assert (got["Ready"], got["Status"], got["Restarts"]) == (ready, status, restarts)


def test_pod_completed_with_a_running_container_reports_running_or_not_ready() -> None:
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}, running("side")]}
    pod = {"metadata": {"name": "p"}, "spec": POD_SPEC, "status": status}
    assert cells("pods", pod)["Status"] == "NotReady"


def test_pod_wide_columns() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {**POD_SPEC, "nodeName": "n1",
                                               "readinessGates": [{"conditionType": "x/ok"}]},
           "status": {"podIP": "10.1.0.5", "conditions": [{"type": "x/ok", "status": "True"}]}}
    got = cells("pods", pod, wide=True)
    assert (got["IP"], got["Node"], got["Nominated Node"], got["Readiness Gates"]) == (
        "10.1.0.5", "n1", "<none>", "1/1")
