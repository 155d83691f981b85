"""The Dev provider's pure parts, as tables: machine conditions, Node conditions, startup timing, waiting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from herd.api.infrastructure.dev_types import CommonProvisioningSettings
from herd.providers.dev.devmachine_controller import waiting_for
from herd.providers.dev.kinds import fault_of, provider_id
from herd.providers.dev.status import (
    MachineProgress,
    Stage,
    node_conditions,
    set_devcluster_provisioned,
    set_machine_conditions,
    set_machine_provisioned,
)
from herd.providers.dev.timing import (
    format_timeline,
    parse_duration,
    parse_jitter,
    parse_timeline,
    ready_at,
    startup_delay,
)
from herd.runtime import conditions

DONE = Stage("done")
STARTING = Stage("starting")
PENDING = Stage()


def _conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions.get_conditions(obj)}


@pytest.mark.parametrize("progress, expected", [
    pytest.param(MachineProgress(waiting_for="cluster-infrastructure"), {
        "VMProvisioned": ("False", "WaitingForClusterInfrastructureReady"),
        "NodeProvisioned": ("False", "WaitingForVMProvisioned"), "Ready": ("False", "NotReady")},
        id="waits-for-cluster-infrastructure"),
    pytest.param(MachineProgress(waiting_for="control-plane-initialized"), {
        "VMProvisioned": ("False", "WaitingForControlPlaneInitialized"),
        "NodeProvisioned": ("False", "WaitingForVMProvisioned"), "Ready": ("False", "NotReady")},
        id="worker-waits-for-control-plane"),
    pytest.param(MachineProgress(waiting_for="bootstrap-data", control_plane=True), {
        "VMProvisioned": ("False", "WaitingForBootstrapData"),
        "NodeProvisioned": ("False", "WaitingForVMProvisioned"),
        "EtcdProvisioned": ("False", "WaitingForVMProvisioned"),
        "APIServerProvisioned": ("False", "WaitingForVMProvisioned"), "Ready": ("False", "NotReady")},
        id="waits-for-bootstrap-data"),
    pytest.param(MachineProgress(vm=STARTING), {
        "VMProvisioned": ("False", "WaitingForStartupTimeout"),
        "NodeProvisioned": ("False", "WaitingForVMProvisioned"), "Ready": ("False", "NotReady")},
        id="vm-starting"),
    pytest.param(MachineProgress(vm=DONE, node=STARTING), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("False", "WaitingForStartupTimeout"),
        "Ready": ("False", "NotReady")}, id="kubelet-starting"),
    pytest.param(MachineProgress(vm=DONE, node=DONE), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("True", "Provisioned"),
        "Ready": ("True", "Ready")}, id="worker-ready"),
    pytest.param(MachineProgress(control_plane=True, vm=DONE, node=STARTING, etcd=PENDING, api_server=PENDING), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("False", "WaitingForStartupTimeout"),
        "EtcdProvisioned": ("False", "WaitingForNodeProvisioned"),
        "APIServerProvisioned": ("False", "WaitingForNodeProvisioned"), "Ready": ("False", "NotReady")},
        id="static-pods-wait-for-the-kubelet"),
    pytest.param(MachineProgress(control_plane=True, vm=DONE, node=Stage("waiting"), etcd=DONE,
                                 api_server=STARTING), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("False", "WaitingForAPIServer"),
        "EtcdProvisioned": ("True", "Provisioned"),
        "APIServerProvisioned": ("False", "WaitingForStartupTimeout"), "Ready": ("False", "NotReady")},
        id="node-waits-for-the-api-server"),
    pytest.param(MachineProgress(control_plane=True, vm=DONE, node=DONE, etcd=DONE, api_server=DONE), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("True", "Provisioned"),
        "EtcdProvisioned": ("True", "Provisioned"), "APIServerProvisioned": ("True", "Provisioned"),
        "Ready": ("True", "Ready")}, id="control-plane-ready"),
    pytest.param(MachineProgress(vm=Stage("failed", "gone", "VMGone"), node=DONE), {
        "VMProvisioned": ("False", "VMGone"), "NodeProvisioned": ("False", "WaitingForVMProvisioned"),
        "Ready": ("False", "NotReady")}, id="vm-gone"),
    pytest.param(MachineProgress(control_plane=True, vm=DONE, node=DONE, etcd=DONE,
                                 api_server=Stage("failed", "stopped", "APIServerDown")), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("True", "Provisioned"),
        "EtcdProvisioned": ("True", "Provisioned"), "APIServerProvisioned": ("False", "APIServerDown"),
        "Ready": ("False", "NotReady")}, id="apiserver-down"),
    pytest.param(MachineProgress(vm=DONE, node=Stage("failed", "bad data", "BootstrapFailed")), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("False", "BootstrapFailed"),
        "Ready": ("False", "NotReady")}, id="bad-bootstrap-data"),
    pytest.param(MachineProgress(vm=DONE, node=DONE, deleting=True), {
        "VMProvisioned": ("True", "Provisioned"), "NodeProvisioned": ("True", "Provisioned"),
        "Ready": ("False", "Deleting")}, id="deleting"),
])
def test_machine_conditions(progress: MachineProgress, expected: dict[str, tuple[str, str]]) -> None:
    devmachine: dict[str, Any] = {"metadata": {"generation": 3}}
    set_machine_conditions(devmachine, progress)
    assert _conditions(devmachine) == expected


def test_ready_says_which_conditions_hold_it_back() -> None:
    devmachine: dict[str, Any] = {}
    set_machine_conditions(devmachine, MachineProgress(vm=DONE, node=Stage("failed", "bad data", "BootstrapFailed")))
    ready = conditions.get_condition(devmachine, "Ready")
    assert ready is not None and ready["message"] == "* NodeProvisioned: bad data"


def test_a_worker_loses_stale_control_plane_conditions() -> None:
    devmachine: dict[str, Any] = {}
    set_machine_conditions(devmachine, MachineProgress(control_plane=True, vm=DONE))
    set_machine_conditions(devmachine, MachineProgress(control_plane=False, vm=DONE))
    assert "EtcdProvisioned" not in _conditions(devmachine)
    assert "APIServerProvisioned" not in _conditions(devmachine)


def test_provisioned_machine_reports_the_contract_fields() -> None:
    devmachine: dict[str, Any] = {"spec": {"backend": {"inMemory": {}}}}
    set_machine_provisioned(devmachine, provider_id("ns", "m-0"), "m-0", "127.0.0.1")
    assert devmachine["spec"]["providerID"] == "in-memory://ns/m-0"
    assert devmachine["status"]["initialization"] == {"provisioned": True}
    assert devmachine["status"]["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"},
                                                 {"type": "Hostname", "address": "m-0"}]


def test_devcluster_provisioned() -> None:
    devcluster: dict[str, Any] = {}
    set_devcluster_provisioned(devcluster, "127.0.0.1:40001")
    assert devcluster["status"]["initialization"] == {"provisioned": True}
    assert _conditions(devcluster) == {"Ready": ("True", "Ready")}


# ----- Node conditions posted by the simulated kubelet ---------------------------------------------------------

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=10)


def _by_type(conds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in conds}


@pytest.mark.parametrize("before, after, reason, heartbeat, transition", [
    ("True", "True", "KubeletReady", "2025-01-01T12:00:10Z", "2025-01-01T12:00:00Z"),
    ("True", "False", "KubeletNotReady", "2025-01-01T12:00:10Z", "2025-01-01T12:00:10Z"),
    ("False", "True", "KubeletReady", "2025-01-01T12:00:10Z", "2025-01-01T12:00:10Z"),
    ("True", "Unknown", "NodeStatusUnknown", "2025-01-01T12:00:00Z", "2025-01-01T12:00:10Z"),
])
def test_node_ready_condition_after_a_heartbeat(before: str, after: str, reason: str, heartbeat: str,
                                                transition: str) -> None:
    previous = node_conditions([], before, T0)
    ready = _by_type(node_conditions(previous, after, T1))["Ready"]
    assert (ready["status"], ready["reason"]) == (after, reason)
    assert ready["lastHeartbeatTime"] == heartbeat, "a silent kubelet's last heartbeat stays as it was"
    assert ready["lastTransitionTime"] == transition


def test_pressure_conditions_are_false_unless_the_node_is_unknown() -> None:
    healthy = _by_type(node_conditions([], "False", T0))
    assert {t: c["status"] for t, c in healthy.items()} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "False"}
    silent = _by_type(node_conditions(list(healthy.values()), "Unknown", T1))
    assert {c["status"] for c in silent.values()} == {"Unknown"}


# ----- startup timing ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("0", 0.0), ("0s", 0.0), ("10s", 10.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("300ms", 0.3), ("2us", 2e-6),
    ("1h2m3s", 3723.0), (" 5s ", 5.0),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "-5s", "1m-3s", "ten seconds"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text, jitter", [(None, 0.0), ("", 0.0), ("0.2", 0.2), ("1", 1.0)])
def test_jitter(text: str | None, jitter: float) -> None:
    assert parse_jitter(text) == jitter


@pytest.mark.parametrize("text", ["-0.1", "a lot", "nan"])
def test_bad_jitter(text: str) -> None:
    with pytest.raises(ValueError):
        parse_jitter(text)


def test_startup_delay_stays_between_duration_and_duration_plus_jitter() -> None:
    settings = CommonProvisioningSettings(startup_duration="10s", startup_jitter="0.5")
    rng = random.Random(7)
    delays = [startup_delay(settings, rng) for _ in range(200)]
    assert all(10.0 <= d <= 15.0 for d in delays) and len(set(delays)) > 100
    assert startup_delay(None, rng) == 0.0
    assert startup_delay(CommonProvisioningSettings(startup_duration="0s", startup_jitter="0.5"), rng) == 0.0


def test_a_moment_is_decided_once_and_survives_the_annotation_round_trip() -> None:
    timeline: dict[str, datetime] = {}
    first = ready_at(timeline, "vm", T0, 5.0)
    again = ready_at(timeline, "vm", T1, 99.0)
    assert first == again == T0 + timedelta(seconds=5)
    assert parse_timeline(format_timeline(timeline)) == timeline
    assert parse_timeline("not json") == {} and parse_timeline('{"vm": "yesterday"}') == {}


# ----- what a machine waits for, faults, pause -------------------------------------------------------------------

DEVCLUSTER = {"spec": {"controlPlaneEndpoint": {"host": "127.0.0.1", "port": 40001}},
              "status": {"initialization": {"provisioned": True}}}
CP = {"metadata": {"labels": {"cluster.x-k8s.io/control-plane": ""}}, "spec": {"bootstrap": {}}}
WORKER = {"metadata": {}, "spec": {"bootstrap": {}}}
WITH_DATA = {"metadata": {}, "spec": {"bootstrap": {"dataSecretName": "m-0-data"}}}
CLUSTER: dict[str, Any] = {"status": {}}
INITIALIZED = {"status": {"initialization": {"controlPlaneInitialized": True}}}


@pytest.mark.parametrize("machine, cluster, devcluster, expected", [
    (WITH_DATA, CLUSTER, None, "cluster-infrastructure"),
    (WITH_DATA, CLUSTER, {"spec": {}, "status": {"initialization": {"provisioned": True}}}, "cluster-infrastructure"),
    (WITH_DATA, CLUSTER, {**DEVCLUSTER, "metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}},
     "cluster-infrastructure"),
    (WORKER, CLUSTER, DEVCLUSTER, "control-plane-initialized"),
    (WORKER, INITIALIZED, DEVCLUSTER, "bootstrap-data"),
    (CP, CLUSTER, DEVCLUSTER, "bootstrap-data"),
    (WITH_DATA, CLUSTER, DEVCLUSTER, None),
])
def test_what_a_machine_waits_for(machine: dict[str, Any], cluster: dict[str, Any], devcluster: dict[str, Any] | None,
                                  expected: str | None) -> None:
    assert waiting_for(machine, cluster, devcluster) == expected


@pytest.mark.parametrize("value, fault", [
    ("node-not-ready", "node-not-ready"), ("vm-gone", "vm-gone"), (" apiserver-down ", "apiserver-down"),
    ("something-else", None), (None, None),
])
def test_fault_annotation(value: str | None, fault: str | None) -> None:
    obj = {"metadata": {"annotations": {"herd.dev/fail": value} if value is not None else {}}}
    assert fault_of(obj) == fault
