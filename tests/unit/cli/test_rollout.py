"""`herd rollout`'s pure parts: TYPE/NAME and its spellings, the MachineSet an undo goes back to, the template it
puts back, the progress line `herd rollout status` prints from an object's state, and what `--help` says of undo."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.cluster import MACHINE_DEPLOYMENT
from herd.api.controlplane import KUBEADM_CONTROL_PLANE
from herd.cli.main import main
from herd.cli.rollout_state import (
    Target,
    check_undo,
    machine_template,
    owned_machine_sets,
    parse_target,
    rollout_progress,
    undo_source,
)
from herd.cli.serve import CLIError

MD = Target(MACHINE_DEPLOYMENT, "fleet-md-0")
KCP = Target(KUBEADM_CONTROL_PLANE, "ha-control-plane")
REVISION = "machinedeployment.clusters.x-k8s.io/revision"


@pytest.mark.parametrize(("text", "expected"), [
    ("machinedeployment/fleet-md-0", MD),
    ("machinedeployments/fleet-md-0", MD),
    ("md/fleet-md-0", MD),
    ("MachineDeployment/fleet-md-0", MD),
    ("machinedeployment.cluster.x-k8s.io/fleet-md-0", MD),
    ("kubeadmcontrolplane/ha-control-plane", KCP),
    ("kcp/ha-control-plane", KCP),
    ("KCP/ha-control-plane", KCP),
    ("kubeadmcontrolplanes.controlplane.cluster.x-k8s.io/ha-control-plane", KCP),
])
def test_type_and_name_in_every_spelling(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("fleet-md-0", "'fleet-md-0' is not TYPE/NAME; e.g. machinedeployment/my-md-0 or kcp/my-control-plane"),
    ("md/", "'md/' is not TYPE/NAME"),
    ("/fleet", "'/fleet' is not TYPE/NAME"),
    ("md/a/b", "'md/a/b' is not TYPE/NAME"),
    ("deployment/web", "invalid resource type 'deployment'; valid types: machinedeployment (md), "
                       "kubeadmcontrolplane (kcp)"),
    ("machineset/fleet-md-0-abc", "invalid resource type 'machineset'"),
    ("kcp.cluster.x-k8s.io/ha", "invalid resource type 'kcp.cluster.x-k8s.io'"),  # the wrong group
])
def test_a_bad_target_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(CLIError) as raised:
        parse_target(text)
    assert str(raised.value).startswith(message)


def test_the_names_printed_for_a_target() -> None:
    assert (MD.type_name, MD.short) == ("machinedeployment.cluster.x-k8s.io/fleet-md-0", "machinedeployment/fleet-md-0")
    assert KCP.type_name == "kubeadmcontrolplane.controlplane.cluster.x-k8s.io/ha-control-plane"


def test_undo_help_says_a_finished_rollout_leaves_nothing_to_go_back_to(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rollout", "undo", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert "Only a rollout still under way (a stalled one, typically) has earlier revisions" in text
    assert "the old MachineSets are deleted and there is nothing to go back to; edit spec.template back instead" in text
    with pytest.raises(SystemExit):
        main(["rollout", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "undo put a MachineDeployment's template back to an earlier revision's (only while a rollout is under " \
        "way)" in text


def test_undo_is_refused_for_a_control_plane_and_a_negative_revision() -> None:
    check_undo(MD, 0)
    check_undo(MD, 3)
    with pytest.raises(CLIError, match=r"^undo is not supported for kubeadmcontrolplane: only a machinedeployment"):
        check_undo(KCP, 0)
    with pytest.raises(CLIError, match=r"^--to-revision must not be negative \(got -1\)$"):
        check_undo(MD, -1)


def machine_set(name: str, revision: str | None, version: str = "v1.33.0", owner: str = "md-uid",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
    annotations = {REVISION: revision} if revision is not None else {}
    return {"metadata": {"name": name, "annotations": annotations,
                         "labels": labels or {"cluster.x-k8s.io/deployment-name": "fleet-md-0",
                                              "machine-template-hash": name.rsplit("-", 1)[-1]},
                         "ownerReferences": [{"uid": owner, "controller": True, "kind": "MachineDeployment",
                                              "name": "fleet-md-0", "apiVersion": "cluster.x-k8s.io/v1beta2"}]},
            "spec": {"template": {"metadata": {"labels": {"machine-template-hash": name.rsplit("-", 1)[-1],
                                                          "cluster.x-k8s.io/deployment-name": "fleet-md-0",
                                                          "tier": "web"}},
                                  "spec": {"clusterName": "fleet", "version": version}}}}


HISTORY = [machine_set("fleet-md-0-aaa", "1", "v1.32.0"), machine_set("fleet-md-0-ccc", "3", "v1.33.1"),
           machine_set("fleet-md-0-bbb", "2", "v1.33.0"), machine_set("fleet-md-0-odd", "not-a-number")]


@pytest.mark.parametrize(("to_revision", "expected"), [
    pytest.param(0, "fleet-md-0-bbb", id="the-one-before-the-newest"),
    pytest.param(1, "fleet-md-0-aaa", id="asked-for"),
    pytest.param(3, "fleet-md-0-ccc", id="the-current-one"),
])
def test_the_undo_target_by_revision(to_revision: int, expected: str) -> None:
    assert undo_source(MD, HISTORY, to_revision)["metadata"]["name"] == expected


@pytest.mark.parametrize(("machine_sets", "to_revision", "message"), [
    pytest.param(HISTORY, 7, "revision 7 of machinedeployment/fleet-md-0 not found (revisions: 1, 2, 3; a finished "
                 "rollout deletes its old MachineSets, so only one under way has earlier ones)",
                 id="unknown-revision"),
    pytest.param(HISTORY[:1], 0, "no rollout history found for machinedeployment/fleet-md-0: no revision before "
                 "the current one is left (a finished rollout deletes its old MachineSets); edit spec.template back "
                 "instead", id="one-revision"),
    pytest.param([], 0, "no rollout history found", id="no-machine-sets"),
    pytest.param([], 2, "revision 2 of machinedeployment/fleet-md-0 not found (revisions: none; ", id="none"),
])
def test_no_undo_target_is_one_clear_error(machine_sets: list[dict[str, Any]], to_revision: int,
                                           message: str) -> None:
    with pytest.raises(CLIError) as raised:
        undo_source(MD, machine_sets, to_revision)
    assert str(raised.value).startswith(message)


def test_only_the_deployments_own_matching_machine_sets_are_history() -> None:
    deployment = {"metadata": {"name": "fleet-md-0", "uid": "md-uid"},
                  "spec": {"selector": {"matchLabels": {"cluster.x-k8s.io/deployment-name": "fleet-md-0"}}}}
    other_owner = machine_set("fleet-md-0-xxx", "9", owner="another-uid")
    unmatched = machine_set("fleet-md-0-yyy", "8", labels={"cluster.x-k8s.io/deployment-name": "other"})
    owned = owned_machine_sets(deployment, [*HISTORY, other_owner, unmatched])
    assert [ms["metadata"]["name"] for ms in owned] == [ms["metadata"]["name"] for ms in HISTORY]
    no_selector = {"metadata": {"name": "fleet-md-0", "uid": "md-uid"}, "spec": {}}
    assert owned_machine_sets(no_selector, HISTORY) == []  # an empty selector matches nothing, not everything


def test_the_template_put_back_leaves_out_the_machine_set_hash() -> None:
    source = machine_set("fleet-md-0-aaa", "1", "v1.32.0")
    assert machine_template(source) == {
        "metadata": {"labels": {"cluster.x-k8s.io/deployment-name": "fleet-md-0", "tier": "web"}},
        "spec": {"clusterName": "fleet", "version": "v1.32.0"}}
    assert "machine-template-hash" in source["spec"]["template"]["metadata"]["labels"]  # the MachineSet unchanged


def rolling(*, generation: int = 2, observed: int = 2, desired: int | None = 3, replicas: int = 3,
            up_to_date: int = 3, available: int = 3, paused: bool = False,
            rolling_out: str | None = None) -> dict[str, Any]:
    conditions = [{"type": "RollingOut", "status": "True" if rolling_out else "False",
                   "reason": "RollingOut" if rolling_out else "NotRollingOut", "message": rolling_out or ""}]
    spec: dict[str, Any] = {"paused": paused}
    if desired is not None:
        spec["replicas"] = desired
    return {"metadata": {"name": "fleet-md-0", "generation": generation}, "spec": spec,
            "status": {"observedGeneration": observed, "replicas": replicas, "upToDateReplicas": up_to_date,
                       "availableReplicas": available, "conditions": conditions}}


WAITING = "Waiting for machinedeployment/fleet-md-0 rollout to finish: "


@pytest.mark.parametrize(("obj", "done", "line"), [
    pytest.param(rolling(), True, "machinedeployment/fleet-md-0 successfully rolled out", id="done"),
    pytest.param(rolling(observed=1), False, WAITING + "the controller has not seen generation 2 yet",
                 id="spec-not-seen-yet"),
    pytest.param(rolling(desired=None), False, WAITING + "spec.replicas is not set", id="no-replicas"),
    pytest.param(rolling(replicas=4, up_to_date=1, available=3), False, WAITING + "1 of 3 replicas up to date",
                 id="new-machines-coming"),
    pytest.param(rolling(replicas=4, up_to_date=3, available=3), False, WAITING + "1 old replica pending deletion",
                 id="old-machine-left"),
    pytest.param(rolling(replicas=5, up_to_date=3), False, WAITING + "2 old replicas pending deletion",
                 id="old-machines-left"),
    pytest.param(rolling(available=2), False, WAITING + "2 of 3 up-to-date replicas available", id="not-available"),
    pytest.param(rolling(up_to_date=1, paused=True), False, WAITING + "1 of 3 replicas up to date (paused)",
                 id="paused"),
    pytest.param(rolling(rolling_out="Rolling out 2 not up-to-date replicas\n* new MachineSet x to 2"), False,
                 WAITING + "Rolling out 2 not up-to-date replicas; new MachineSet x to 2", id="controller-says"),
])
def test_rollout_status_lines(obj: dict[str, Any], done: bool, line: str) -> None:
    state = rollout_progress(MD, obj)
    assert (state.done, state.line) == (done, line)
