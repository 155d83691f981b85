"""`herd wait`, `herd rollout` and `herd delete` against `herd up`, as a user runs them on examples/ha-cluster.yaml
(a KubeadmControlPlane of 3 and a MachineDeployment of 3): waiting for the cluster, restarting the workers and the
control plane (every Machine replaced), pausing, undoing a template change, and deleting it all while watching
what is left. Exit codes 0 when converged, 1 (one line on stderr) on a timeout or an error.

One `herd up` serves the module; the tests run in file order on the one cluster (the deletion comes last).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ha-cluster.yaml"
CLUSTER, KCP, MD, NAMESPACE = "ha", "ha-control-plane", "ha-md-0", "default"
WORKERS = f"cluster.x-k8s.io/deployment-name={MD}"
CONTROL_PLANE = "cluster.x-k8s.io/control-plane"
PAUSED = "cluster.x-k8s.io/paused"
REVISION = "machinedeployment.clusters.x-k8s.io/revision"
LONG = "180s"  # generous for a busy machine; the steps take 10-20 s here

eventually = functools.partial(eventually_sync, timeout=30.0, poll=0.3)


def herd(plane: HerdUp, *args: str) -> subprocess.CompletedProcess[str]:
    """The `herd` command against `plane` (through $KUBECONFIG), its output read as a pipe would."""
    return subprocess.run([sys.executable, "-m", "herd.cli.main", *args], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "KUBECONFIG": str(plane.kubeconfig)})


def succeeds(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stdout's lines of a command that exited 0 with nothing on stderr."""
    assert (result.returncode, result.stderr) == (0, ""), (result.returncode, result.stdout, result.stderr)
    return result.stdout.splitlines()


def fails_with_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The message of a command that exited 1 with exactly one `herd: ...` line on stderr."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("herd: "), result.stderr
    return result.stderr.removeprefix("herd: ").rstrip("\n")


def machines(plane: HerdUp, *selector: str) -> set[str]:
    """The names of the Machines not being deleted."""
    return {m["metadata"]["name"] for m in plane.items("machines", NAMESPACE, *selector)
            if not m["metadata"].get("deletionTimestamp")}


def rolls_out(plane: HerdUp, target: str, named: str) -> list[str]:
    """`herd rollout status TARGET` until it exits 0 saying `named` (TYPE/NAME spelled out) rolled out; the lines
    it printed."""
    lines = succeeds(herd(plane, "rollout", "status", target, "--timeout", LONG))
    assert lines[-1] == f"{named} successfully rolled out", lines
    assert all(line.startswith(f"Waiting for {named} rollout to finish: ") for line in lines[:-1]), lines
    return lines


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), HerdUp) as running:
        running.kubectl("apply", "-f", str(EXAMPLE))
        yield running


def test_wait_times_out_on_a_cluster_that_cannot_become_available_naming_the_blocker(plane: HerdUp) -> None:
    # its DevCluster does not exist, so the infrastructure never becomes ready
    lonely = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
              "metadata": {"name": "lonely", "namespace": NAMESPACE},
              "spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevCluster",
                                             "name": "lonely"}}}
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(lonely))

    def blocked_by_the_infrastructure() -> None:
        result = herd(plane, "wait", "cluster", "lonely", "--for", "available", "--timeout", "1s")
        message = fails_with_one_line(result)
        assert message.startswith("timed out after 1s waiting for cluster lonely to be available: NotAvailable: "), \
            message
        assert "InfrastructureReady: DevCluster does not exist" in message, message
        assert result.stdout.startswith("cluster lonely not available: NotAvailable: "), result.stdout
    eventually(blocked_by_the_infrastructure, "herd wait naming the missing DevCluster")

    # a plain delete; then `--for deleted` waits for the finalizer's work to end
    assert succeeds(herd(plane, "delete", "cluster", "lonely")) == ["cluster lonely marked for deletion"]
    lines = succeeds(herd(plane, "wait", "cluster", "lonely", "--for", "deleted", "--timeout", LONG))
    assert lines[-1] == "cluster lonely is deleted", lines


def test_wait_for_available_prints_what_is_missing_until_it_is(plane: HerdUp) -> None:
    lines = succeeds(herd(plane, "wait", "cluster", CLUSTER, "--for", "available", "--timeout", LONG))
    assert lines[-1] == f"cluster {CLUSTER} is available", lines
    assert all(line.startswith(f"cluster {CLUSTER} not available: ") for line in lines[:-1]), lines
    assert len(lines) == len(set(lines)), lines  # a line per change, not per poll
    available = plane.kubectl("get", "cluster", CLUSTER, "-o",
                              "jsonpath={.status.conditions[?(@.type=='Available')].status}").stdout
    assert available == "True"


def test_restart_replaces_every_worker(plane: HerdUp) -> None:
    before = machines(plane, "-l", WORKERS)
    assert len(before) == 3
    assert succeeds(herd(plane, "rollout", "restart", f"machinedeployment/{MD}")) == [
        f"machinedeployment.cluster.x-k8s.io/{MD} restarted"]
    after = plane.get("machinedeployment", MD, NAMESPACE)["spec"]["rollout"]["after"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", after), after
    lines = rolls_out(plane, f"md/{MD}", f"machinedeployment/{MD}")
    assert len(lines) > 1, lines  # it saw the rollout under way

    def all_new() -> None:
        now = machines(plane, "-l", WORKERS)
        assert len(now) == 3 and not now & before, (before, now)
    eventually(all_new, "every worker Machine replaced")


def template(plane: HerdUp) -> dict[str, Any]:
    spec: dict[str, Any] = plane.get("machinedeployment", MD, NAMESPACE)["spec"]
    return dict(spec["template"])


def worker_sets(plane: HerdUp) -> list[tuple[str, int, int]]:
    """What `kubectl get machinesets` shows of the workers: version, desired and current replicas, oldest first."""
    sets = sorted(plane.items("machinesets", NAMESPACE, "-l", WORKERS),
                  key=lambda ms: (ms["metadata"]["creationTimestamp"], ms["metadata"]["name"]))
    return [(ms["spec"]["template"]["spec"]["version"], ms["spec"]["replicas"],
             (ms.get("status") or {}).get("replicas") or 0) for ms in sets]


# a template whose Machines never finish starting: a bad rollout that stalls, the old MachineSet still there
STUCK_TEMPLATE = {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "DevMachineTemplate",
                  "metadata": {"name": "ha-md-0-stuck", "namespace": NAMESPACE},
                  "spec": {"template": {"spec": {"backend": {"inMemory": {
                      "vm": {"provisioning": {"startupDuration": "1h"}},
                      "node": {"provisioning": {"startupDuration": "1h"}}}}}}}}


def test_undo_puts_the_previous_template_back(plane: HerdUp) -> None:
    previous = template(plane)
    assert previous["spec"]["version"] == "v1.33.0"
    # a finished rollout (the restart's) deletes its old MachineSets: there is no revision to go back to
    rolls_out(plane, f"md/{MD}", f"machinedeployment/{MD}")

    def one_set() -> None:
        assert worker_sets(plane) == [("v1.33.0", 3, 3)], worker_sets(plane)
    eventually(one_set, "one MachineSet of 3 workers")
    assert fails_with_one_line(herd(plane, "rollout", "undo", f"md/{MD}")) == (
        f"no rollout history found for machinedeployment/{MD}: no revision before the current one is left (a finished "
        "rollout deletes its old MachineSets); edit spec.template back instead")
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(STUCK_TEMPLATE))
    plane.kubectl("patch", "machinedeployment", MD, "--type", "merge", "-p",
                  '{"spec":{"template":{"spec":{"version":"v1.33.1","infrastructureRef":{"name":"ha-md-0-stuck"}}}}}')

    def stalled() -> None:
        assert worker_sets(plane) == [("v1.33.0", 3, 3), ("v1.33.1", 1, 1)], worker_sets(plane)
    eventually(stalled, "the rollout stalled on one new Machine that never starts")

    lines = succeeds(herd(plane, "rollout", "undo", f"md/{MD}"))
    assert re.fullmatch(rf"machinedeployment\.cluster\.x-k8s\.io/{MD} rolled back to revision \d+", lines[0]), lines
    assert template(plane) == previous
    rolls_out(plane, f"md/{MD}", f"machinedeployment/{MD}")

    def back_to_the_old_version() -> None:
        versions = [m["spec"]["version"] for m in plane.items("machines", NAMESPACE, "-l", WORKERS)]
        assert versions == ["v1.33.0"] * 3, versions
    eventually(back_to_the_old_version, "the workers back on v1.33.0")

    eventually(one_set, "the stalled MachineSet, emptied, deleted too")

    # the MachineSet rolled back to is the newest revision now, as upstream numbers them
    current = plane.get("machinedeployment", MD, NAMESPACE)["metadata"]["annotations"][REVISION]
    again = succeeds(herd(plane, "rollout", "undo", f"md/{MD}", "--to-revision", current))
    assert again == [f"machinedeployment.cluster.x-k8s.io/{MD} skipped rollback (the current template already "
                     f"matches revision {current})"]
    message = fails_with_one_line(herd(plane, "rollout", "undo", f"md/{MD}", "--to-revision", "99"))
    assert message == (f"revision 99 of machinedeployment/{MD} not found (revisions: {current}; a finished rollout "
                       "deletes its old MachineSets, so only one under way has earlier ones)"), message
    message = fails_with_one_line(herd(plane, "rollout", "undo", f"kcp/{KCP}"))
    assert message.startswith("undo is not supported for kubeadmcontrolplane"), message


def test_pause_and_resume(plane: HerdUp) -> None:
    assert succeeds(herd(plane, "rollout", "pause", f"kcp/{KCP}")) == [
        f"kubeadmcontrolplane.controlplane.cluster.x-k8s.io/{KCP} paused"]
    assert plane.get("kubeadmcontrolplane", KCP, NAMESPACE)["metadata"]["annotations"][PAUSED] == "true"
    assert fails_with_one_line(herd(plane, "rollout", "pause", f"kcp/{KCP}")) == \
        f"kubeadmcontrolplane/{KCP} is already paused"
    assert fails_with_one_line(herd(plane, "rollout", "restart", f"kcp/{KCP}")) == (
        f"cannot restart the paused kubeadmcontrolplane/{KCP}: run `herd rollout resume kubeadmcontrolplane/{KCP}` "
        "first")
    assert succeeds(herd(plane, "rollout", "resume", f"kubeadmcontrolplane/{KCP}")) == [
        f"kubeadmcontrolplane.controlplane.cluster.x-k8s.io/{KCP} resumed"]
    assert PAUSED not in (plane.get("kubeadmcontrolplane", KCP, NAMESPACE)["metadata"].get("annotations") or {})

    succeeds(herd(plane, "rollout", "pause", f"md/{MD}"))
    assert plane.get("machinedeployment", MD, NAMESPACE)["spec"]["paused"] is True
    assert fails_with_one_line(herd(plane, "rollout", "undo", f"md/{MD}")).startswith(
        f"cannot undo the paused machinedeployment/{MD}")
    succeeds(herd(plane, "rollout", "resume", f"md/{MD}"))
    assert plane.get("machinedeployment", MD, NAMESPACE)["spec"]["paused"] is False
    assert fails_with_one_line(herd(plane, "rollout", "resume", f"md/{MD}")) == \
        f"machinedeployment/{MD} is not paused"


def test_restart_replaces_every_control_plane_machine(plane: HerdUp) -> None:
    before = machines(plane, "-l", CONTROL_PLANE)
    assert len(before) == 3
    assert succeeds(herd(plane, "rollout", "restart", f"kcp/{KCP}")) == [
        f"kubeadmcontrolplane.controlplane.cluster.x-k8s.io/{KCP} restarted"]
    rolls_out(plane, f"kubeadmcontrolplane/{KCP}", f"kubeadmcontrolplane/{KCP}")

    def all_new() -> None:
        now = machines(plane, "-l", CONTROL_PLANE)
        assert len(now) == 3 and not now & before, (before, now)
    eventually(all_new, "every control-plane Machine replaced")


def test_errors_are_one_line(plane: HerdUp) -> None:
    assert fails_with_one_line(herd(plane, "delete", "cluster", "nope")) == \
        f"cluster nope not found in namespace {NAMESPACE}"
    assert fails_with_one_line(herd(plane, "wait", "cluster", "nope", "--for", "available")) == \
        f"cluster nope not found in namespace {NAMESPACE}"
    assert fails_with_one_line(herd(plane, "rollout", "status", "md/nope")) == \
        f"machinedeployment/nope not found in namespace {NAMESPACE}"
    assert fails_with_one_line(herd(plane, "rollout", "restart", "deployment/web")) == \
        "invalid resource type 'deployment'; valid types: machinedeployment (md), kubeadmcontrolplane (kcp)"
    message = fails_with_one_line(herd(plane, "wait", "cluster", CLUSTER, "--for", "deleted", "--timeout", "1s"))
    assert message == f"timed out after 1s waiting for cluster {CLUSTER} to be deleted: it is not being deleted"


def test_delete_wait_shows_what_is_left_until_the_cluster_is_gone(plane: HerdUp) -> None:
    lines = succeeds(herd(plane, "delete", "cluster", CLUSTER, "--wait", "--timeout", LONG))
    assert lines[0] == f"cluster {CLUSTER} marked for deletion", lines
    assert lines[-1] == f"cluster {CLUSTER} is deleted", lines
    progress = lines[1:-1]
    assert progress and all(line.startswith(f"cluster {CLUSTER} deleting; left: ") for line in progress), lines
    assert any(re.search(r"left: \d+ Machines \(\d control plane\)", line) for line in progress), lines
    assert any("WaitingFor" in line for line in progress), lines  # the Deleting condition's reason
    assert plane.kubectl("get", "cluster", CLUSTER, check=False).returncode == 1
    assert plane.items("machines", NAMESPACE) == []
