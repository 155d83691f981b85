"""`herd up` killed with SIGKILL in the middle of a control-plane rollout, then started again on the same data
dir: the rollout finishes with exactly `replicas` control-plane Machines of the new version, etcd's members are
exactly their Nodes, and nothing is orphaned (every KubeadmConfig and DevMachine is controlled by an existing
Machine, every control-plane Machine by the KubeadmControlPlane)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from support.kcp import KCP, ControlPlaneHerd, condition_status, ha_cluster, name, node_name, summary
from support.waiting import eventually_sync

NAMESPACE, OLD, NEW, REPLICAS = "crash", "v1.32.2", "v1.33.0", 3


def no_orphans(herd: ControlPlaneHerd) -> None:
    machines = {m["metadata"]["uid"]: name(m) for m in herd.items("machines", NAMESPACE)}
    kcp_uid = herd.kcp(NAMESPACE)["metadata"]["uid"]
    for machine in herd.control_plane_machines(NAMESPACE):
        owners = [r["uid"] for r in machine["metadata"].get("ownerReferences") or [] if r.get("controller")]
        assert owners == [kcp_uid], (name(machine), machine["metadata"].get("ownerReferences"))
    for kind in ("devmachines", "kubeadmconfigs"):
        for obj in herd.items(kind, NAMESPACE):
            owners = [r for r in obj["metadata"].get("ownerReferences") or []
                      if r["kind"] == "Machine" and r.get("controller")]
            assert owners and machines.get(owners[0]["uid"]) == owners[0]["name"], (kind, name(obj), owners)


@pytest.mark.timeout(300)
def test_herd_up_killed_mid_rollout_finishes_it_after_a_restart_without_orphans(tmp_path: Path) -> None:
    first_run = ControlPlaneHerd.start(tmp_path / "data", tmp_path / "kubectl-cache")
    try:
        first_run.apply(NAMESPACE, ha_cluster(NAMESPACE, workers=0, version=OLD, startup="1s"))
        old = {name(m) for m in first_run.control_plane_available(NAMESPACE, REPLICAS)}
        first_run.patch("kubeadmcontrolplane", KCP, NAMESPACE, {"spec": {"version": NEW}})

        def mid_rollout() -> None:
            machines = first_run.control_plane_machines(NAMESPACE)
            assert any(m["spec"]["version"] == NEW for m in machines), summary(machines)
        eventually_sync(mid_rollout, "a new-version control-plane Machine", timeout=60, poll=0.1)
    finally:
        first_run.process.stop(signal.SIGKILL)
    assert first_run.process.proc.returncode == -signal.SIGKILL

    second_run = ControlPlaneHerd.start(tmp_path / "data", tmp_path / "kubectl-cache")
    try:
        def finished() -> None:
            machines = second_run.control_plane_available(NAMESPACE, REPLICAS, without=old, timeout=1)
            assert all(m["spec"]["version"] == NEW for m in machines), summary(machines)
            assert condition_status(second_run.kcp(NAMESPACE), "MachinesUpToDate") == "True"
            nodes = sorted(str(node_name(m)) for m in machines)
            assert second_run.etcd(NAMESPACE, nodes[0]).members == tuple(nodes)
            no_orphans(second_run)
        eventually_sync(finished, "the rollout finished after the restart", timeout=150, poll=0.5)
    finally:
        assert second_run.process.stop() == 0, "".join(second_run.process.lines)
