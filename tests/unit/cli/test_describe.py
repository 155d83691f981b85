"""`herd describe cluster` over fixed objects: the tree, its columns and the blockers it names, compared with golden
files in tests/data/describe (HERD_UPDATE_GOLDEN=1 rewrites them; review the diff before committing)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herd.cli.main import main
from herd.cli.tree import ClusterObjects, DescribeOptions, build_tree
from herd.cli.treeview import paragraph, render_text, status_style, tree_json

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "describe"
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NAMESPACE = "default"


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cond(kind: str, status: str = "True", reason: str = "", message: str = "", age: int = 300) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason or kind, "message": message,
            "lastTransitionTime": ago(age)}


def obj(api: str, kind: str, name: str, conditions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": NAMESPACE, "uid": f"uid-{kind}-{name}", **fields.pop("metadata", {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": fields.pop("spec", {}),
            "status": {**fields.pop("status", {}), "conditions": conditions}}


def owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "x/v1", "kind": kind, "name": name, "uid": f"uid-{kind}-{name}", "controller": True}]


def healthy_machine_conditions(age: int) -> list[dict[str, Any]]:
    return [cond("NodeHealthy", age=age), cond("Deleting", "False", "NotDeleting", age=age), cond("Ready", age=age),
            cond("Available", age=age), cond("UpToDate", age=age)]


def machine(name: str, controller: tuple[str, str], *, control_plane: bool = False, age: int = 240,
            conditions: list[dict[str, Any]] | None = None, **metadata: Any) -> dict[str, Any]:
    labels = {"cluster.x-k8s.io/cluster-name": "ha"} | ({"cluster.x-k8s.io/control-plane": ""} if control_plane else {})
    spec = {"version": "v1.33.0",
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine", "name": name},
            "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig",
                                        "name": name}}}
    return obj("cluster.x-k8s.io/v1beta2", "Machine", name, conditions or healthy_machine_conditions(age), spec=spec,
               metadata={"labels": labels, "ownerReferences": owner(*controller), "finalizers":
                         ["machine.cluster.x-k8s.io"], **metadata})


def cluster_objects(*, faults: bool = False) -> ClusterObjects:
    """The HA example's objects: a KubeadmControlPlane of 3 and a MachineDeployment of 3, all healthy or (faults)
    with a worker failed by a fault, a worker held by a pre-terminate hook and a control-plane Machine whose
    deletion waits on its finalizer."""
    counts = {"replicas": 3, "availableReplicas": 3, "readyReplicas": 3, "upToDateReplicas": 3}
    cluster = obj("cluster.x-k8s.io/v1beta2", "Cluster", "ha",
                  [cond("InfrastructureReady", message="The simulated control plane endpoint is 127.0.0.1:43805",
                        age=400), cond("Deleting", "False", "NotDeleting", age=400), cond("Available", age=200)],
                  status={"controlPlane": {**counts, "desiredReplicas": 3},
                          "workers": {**counts, "desiredReplicas": 3}})
    infrastructure = obj("infrastructure.cluster.x-k8s.io/v1beta2", "DevCluster", "ha",
                         [cond("Paused", "False", "NotPaused", age=400), cond("Ready", age=395)])
    control_plane = obj("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", "ha-control-plane",
                        [cond("EtcdClusterHealthy", age=230), cond("Available", age=250)],
                        spec={"replicas": 3, "version": "v1.33.0"}, status=dict(counts))
    deployment = obj("cluster.x-k8s.io/v1beta2", "MachineDeployment", "ha-md-0", [cond("Available", age=180)],
                     spec={"replicas": 3, "template": {"spec": {"version": "v1.33.0"}}}, status=dict(counts))
    machine_set = obj("cluster.x-k8s.io/v1beta2", "MachineSet", "ha-md-0-abc", [],
                      metadata={"ownerReferences": owner("MachineDeployment", "ha-md-0")},
                      spec={"replicas": 3, "template": {"spec": {"version": "v1.33.0"}}}, status=dict(counts))
    control_planes = [machine(f"ha-control-plane-{s}", ("KubeadmControlPlane", "ha-control-plane"),
                              control_plane=True, age=age)
                      for s, age in (("aaaaa", 250), ("bbbbb", 235), ("ccccc", 220))]
    workers = [machine(f"ha-md-0-abc-{s}", ("MachineSet", "ha-md-0-abc"), age=age)
               for s, age in (("xxxxx", 190), ("yyyyy", 185), ("zzzzz", 180))]
    infrastructure_machines = {m["metadata"]["name"]: obj("infrastructure.cluster.x-k8s.io/v1beta2", "DevMachine",
                                                          m["metadata"]["name"], [cond("Ready", age=200)])
                               for m in control_planes + workers}
    configs = {m["metadata"]["name"]: obj("bootstrap.cluster.x-k8s.io/v1beta2", "KubeadmConfig", m["metadata"]["name"],
                                          [cond("Ready", age=260)]) for m in control_planes + workers}
    if faults:
        add_faults(cluster, deployment, control_planes, workers, infrastructure_machines)
    return ClusterObjects(cluster=cluster, infrastructure=infrastructure, control_plane=control_plane,
                          machines=control_planes + workers, machine_sets=[machine_set],
                          machine_deployments=[deployment], machine_infrastructure=infrastructure_machines,
                          bootstrap_configs=configs)


FAULT = "container runtime is down (fault injected with herd.dev/fail=node-not-ready)"


def add_faults(cluster: dict[str, Any], deployment: dict[str, Any], control_planes: list[dict[str, Any]],
               workers: list[dict[str, Any]], infrastructure_machines: dict[str, dict[str, Any]]) -> None:
    failed, held = workers[0], workers[1]
    failed["status"]["conditions"] = [
        cond("NodeHealthy", "False", "NodeNotHealthy", f"* Node.Ready: {FAULT}", age=40),
        cond("Deleting", "False", "NotDeleting"), cond("Ready", "False", "NotReady",
                                                       f"* NodeHealthy:\n  * Node.Ready: {FAULT}", age=40),
        cond("Available", "False", "NotReady", age=40), cond("UpToDate", age=190)]
    infrastructure_machines[failed["metadata"]["name"]]["status"]["conditions"] = [
        cond("Ready", "False", "NodeNotReady", "The simulated kubelet reports the Node not ready", age=42)]
    held["metadata"] |= {"deletionTimestamp": ago(30)}
    held["metadata"]["annotations"] = {"pre-terminate.delete.hook.machine.cluster.x-k8s.io/test": "me"}
    held["status"]["conditions"] = [
        cond("Deleting", "True", "WaitingForPreTerminateHook", "Waiting for pre-terminate hooks to succeed (hooks: "
             "pre-terminate.delete.hook.machine.cluster.x-k8s.io/test)", age=30),
        cond("Ready", "False", "NotReady", "* Deleting: Machine deletion in progress, stage: "
             "WaitingForPreTerminateHook", age=30), cond("Available", "False", "NotReady", age=30),
        cond("UpToDate", age=185)]
    going = control_planes[2]  # being deleted; its Deleting condition not written yet
    going["metadata"] |= {"deletionTimestamp": ago(12)}
    deployment["status"] |= {"availableReplicas": 1, "readyReplicas": 1}
    deployment["status"]["conditions"] = [cond("Available", "False", "NotAvailable",
                                               "1 available replicas, at least 3 required", age=40)]
    cluster["status"]["workers"] |= {"availableReplicas": 1, "readyReplicas": 1}
    cluster["status"]["conditions"][-1] = cond("Available", "False", "NotAvailable", "* WorkersAvailable:\n"
                                               "  * MachineDeployment ha-md-0: 1 available replicas, at least 3 "
                                               "required", age=40)


def compare_with_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("HERD_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path} is missing: run with HERD_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(), f"differs from {path} (HERD_UPDATE_GOLDEN=1 rewrites it)"


CASES = [
    pytest.param("healthy.txt", False, DescribeOptions(), id="healthy-grouped"),
    pytest.param("no-grouping.txt", False, DescribeOptions(grouping=False), id="grouping-false"),
    pytest.param("show-conditions-all.txt", False, DescribeOptions(show_conditions="all"), id="show-conditions-all"),
    pytest.param("faults.txt", True, DescribeOptions(), id="fault-and-blocked-deletions"),
    pytest.param("machinesets.txt", True, DescribeOptions(show_machine_sets=True), id="show-machinesets"),
    pytest.param("faults-echo-machines.txt", True, DescribeOptions(echo=True, show_conditions="Machine+"),
                 id="faults-echo-nonzero-machine-conditions"),
]


@pytest.mark.parametrize(("golden", "faults", "options"), CASES)
def test_tree_matches_golden(golden: str, faults: bool, options: DescribeOptions) -> None:
    compare_with_golden(golden, render_text(build_tree(cluster_objects(faults=faults), options), NOW))


def test_json_matches_golden() -> None:
    tree = tree_json(build_tree(cluster_objects(faults=True), DescribeOptions()), NOW)
    compare_with_golden("faults.json", json.dumps(tree, indent=2) + "\n")


def rows(text: str) -> dict[str, list[str]]:
    """Each object row's cells (split on runs of 2+ spaces) by the object's kind and name."""
    found = {}
    for line in text.splitlines():
        cells = [c for c in line.split("  ") if c.strip()]
        name = cells[0].lstrip("│├└─ ").removeprefix("!! DELETED !! ")
        found[name.split(",")[0]] = [c.strip() for c in cells[1:]]
    return found


def test_healthy_alike_machines_fold_into_one_row_each_group() -> None:
    text = render_text(build_tree(cluster_objects(), DescribeOptions()), NOW)
    found = rows(text)
    groups = [[c.strip() for c in line.split("  ") if c.strip()][1:] for line in text.splitlines()
              if "3 Machines..." in line]
    assert groups == [
        ["3", "3", "3", "True", "Ready", "4m10s", "See ha-control-plane-aaaaa, ha-control-plane-bbbbb, ..."],
        ["3", "3", "3", "True", "Ready", "3m10s", "See ha-md-0-abc-xxxxx, ha-md-0-abc-yyyyy, ..."]]
    assert found["Cluster default/ha"][:4] == ["6/6", "6", "6", "6"]
    assert found["MachineDeployment default/ha-md-0"][:6] == ["3/3", "3", "3", "3", "True", "Available"]


def test_every_blocker_is_named_on_its_machine_row() -> None:
    found = rows(render_text(build_tree(cluster_objects(faults=True), DescribeOptions()), NOW))
    assert found["Machine default/ha-md-0-abc-xxxxx"][-4:] == ["False", "NotReady", "40s", "* NodeHealthy:"]
    assert found["Machine default/ha-md-0-abc-yyyyy"][-4:-1] == ["True", "WaitingForPreTerminateHook", "30s"]
    assert found["Machine default/ha-control-plane-ccccc"][-4:] == [
        "True", "Deleting", "12s", "Waiting for finalizers: machine.cluster.x-k8s.io"]
    # the failed worker's DevMachine is not Ready and says something the Machine does not: it shows
    assert found["DevMachine default/ha-md-0-abc-xxxxx"][-2:] == ["42s", "The simulated kubelet reports the Node "
                                                                  "not ready"]


def test_a_group_never_holds_a_machine_that_is_stuck() -> None:
    objects = cluster_objects(faults=True)
    for worker in objects.machines[3:5]:  # two workers failed alike: each keeps its own row and message
        worker["status"]["conditions"] = cluster_objects(faults=True).machines[3]["status"]["conditions"]
        worker["metadata"].pop("deletionTimestamp", None)
    text = render_text(build_tree(objects, DescribeOptions()), NOW)
    assert text.count("* Node.Ready: container runtime is down") == 2
    assert "2 Machines..." in text  # the healthy control-plane pair still folds


@pytest.mark.parametrize(("message", "lines"), [
    pytest.param("", [""], id="empty"),
    pytest.param("* A:\n  * B: why", ["* A:", "  * B: why"], id="indents-kept"),
    pytest.param("* " + "word " * 30, ["* " + " ".join(["word"] * 19), "  " + " ".join(["word"] * 11)],
                 id="bullet-wrapped-under-its-text"),
])
def test_messages_wrap_as_paragraphs(message: str, lines: list[str]) -> None:
    assert paragraph(message) == lines


@pytest.mark.parametrize(("argv", "error"), [
    pytest.param(["--grouping", "maybe"], "needs true or false, not 'maybe'", id="grouping-not-a-bool"),
    pytest.param(["-o", "yaml"], "invalid choice: 'yaml'", id="unknown-output"),
])
def test_bad_flags_are_one_usage_error(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["describe", "cluster", "ha", *argv])
    assert exit_info.value.code == 2
    assert error in capsys.readouterr().err


def test_whitespace_in_show_conditions_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["describe", "cluster", "ha", "--show-conditions", "Machine, Cluster",
                 "--kubeconfig", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().err == "herd: --show-conditions 'Machine, Cluster': whitespace is not allowed\n"


def test_machines_nobody_controls_are_listed_under_other() -> None:
    # examples/cluster-with-workers.yaml: a hand-written control-plane Machine and no control plane object
    objects = cluster_objects()
    hand_written = objects.machines[0]
    hand_written["metadata"]["ownerReferences"] = []
    objects.control_plane, objects.machines = None, [hand_written]
    header, *lines = render_text(build_tree(objects, DescribeOptions()), NOW).splitlines()
    assert [line[:header.index("REPLICAS")].rstrip() for line in lines] == [
        "Cluster default/ha", "├─DevCluster default/ha", "└─Workers", "  └─Other",
        "    └─Machine default/ha-control-plane-aaaaa, v1.33.0"]


@pytest.mark.parametrize(("show", "shown"), [
    pytest.param("machine/HA-MD-0-ABC-XXXXX", ["ha-md-0-abc-xxxxx"], id="kind-and-name-any-case"),
    pytest.param("KubeadmControlPlane,DevCluster", ["ha", "ha-control-plane"], id="two-kinds"),
    pytest.param("Cluster+", [], id="non-zero-of-a-healthy-cluster"),
])
def test_show_conditions_picks_the_objects_named(show: str, shown: list[str]) -> None:
    tree = build_tree(cluster_objects(), DescribeOptions(show_conditions=show))
    assert sorted(node.name for node in tree.walk() if node.show_conditions) == sorted(shown + (
        ["ha"] if show == "Cluster+" else []))
    text = render_text(tree, NOW)
    assert ("─EtcdClusterHealthy" in text) == ("KubeadmControlPlane" in show)
    assert ("─Deleting" in text) == (show == "machine/HA-MD-0-ABC-XXXXX")  # Cluster+ hides its normal Deleting


@pytest.mark.parametrize(("condition", "style"), [
    pytest.param(cond("Ready"), "green", id="ready-true"),
    pytest.param(cond("Ready", "False"), "red", id="ready-false"),
    pytest.param(cond("Ready", "Unknown"), "yellow", id="unknown"),
    pytest.param(cond("Deleting", "True"), "red", id="deleting-true-is-the-alarm"),
    pytest.param(cond("Deleting", "False"), "green", id="not-deleting"),
    pytest.param(cond("Paused", "True"), "red", id="paused"),
])
def test_status_colours_follow_the_condition_polarity(condition: dict[str, Any], style: str) -> None:
    assert status_style(condition) == style
