"""`herd up --feature-gates ClusterTopology=true` killed with SIGKILL in the middle of a `topology.version`
upgrade, once as the control plane starts rolling and once as the first worker of the new version appears, and
started again each time on the same data dir: the upgrade completes (control plane first, then the workers) with
exactly one KubeadmControlPlane, one MachineDeployment per topology entry, and no template the topology made
beyond the ones the KubeadmControlPlane and the MachineDeployments refer to."""

from __future__ import annotations

import re
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from support.herd_up import WatchRecorder
from support.topology import DEPLOYMENT_TOPOLOGY, GATE, TopologyHerd, eventually, generate

CLUSTER, OLD, NEW = "crashed", "v1.33.0", "v1.33.1"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"


def manifest() -> str:
    """The topology flavor, 1 control plane and 2 workers, every simulated startup at 0s."""
    text = generate(CLUSTER, "--flavor", "topology", "--kubernetes-version", OLD,
                    "--control-plane-machine-count", "1", "--worker-machine-count", "2",
                    env={"VM_STARTUP_DURATION": "0s"})
    return re.sub(r"startupDuration: [0-9a-z]+", "startupDuration: 0s", text)


def is_control_plane(machine: dict[str, Any]) -> bool:
    return CONTROL_PLANE_LABEL in machine["metadata"].get("labels", {})


class KillWhen(WatchRecorder):
    """Kills `herd up` with SIGKILL from the watch's reader thread the moment a Machine of the new version (a
    control-plane one or a worker) is reported; remembers the control plane seen when the first new worker
    appeared."""

    def __init__(self, herd: TopologyHerd, control_plane: bool) -> None:
        self.herd, self.control_plane = herd, control_plane
        self.machines: dict[str, dict[str, Any]] = {}
        self.at_first_new_worker: list[tuple[str, str, bool]] | None = None
        self.killed = threading.Event()

    def record(self, type_: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if type_ == "DELETED":
            self.machines.pop(name, None)
            return
        self.machines[name] = obj
        if obj["spec"].get("version") != NEW:
            return
        if not is_control_plane(obj) and self.at_first_new_worker is None:
            self.at_first_new_worker = [
                (m["metadata"]["name"], m["spec"].get("version"), bool(m["metadata"].get("deletionTimestamp")))
                for m in self.machines.values() if is_control_plane(m)]
        if is_control_plane(obj) == self.control_plane and not self.killed.is_set():
            self.herd.process.stop(signal.SIGKILL)
            self.killed.set()


def run_until_killed(herd: TopologyHerd, control_plane: bool, timeout: float) -> KillWhen:
    """Watches the Machines until a new-version one of the kind asked for appears (herd up is then killed), or
    the timeout passes (herd up keeps running)."""
    killer = KillWhen(herd, control_plane).start_watch(herd, "machines", "-n", herd.namespace)
    killer.killed.wait(timeout)
    if killer.killed.is_set():
        assert herd.process.proc.wait(timeout=10) == -signal.SIGKILL
    killer.stop()
    return killer


def referenced(ref_owner: dict[str, Any], *path: str) -> str:
    value: Any = ref_owner
    for key in path:
        value = value[key]
    return str(value["name"])


@pytest.mark.timeout(300)
def test_killed_twice_mid_upgrade_it_completes_without_duplicates(tmp_path: Path) -> None:
    data, cache = tmp_path / "data", tmp_path / "kubectl-cache"
    herd = TopologyHerd.start(data, cache, *GATE)
    try:
        herd.kubectl("apply", "-f", "-", input=manifest())
        herd.wait_available(CLUSTER, 1, 2, OLD, timeout=90)
        herd.patch_cluster(CLUSTER, [{"op": "replace", "path": "/spec/topology/version", "value": NEW}])
        first = run_until_killed(herd, control_plane=True, timeout=60)
        assert first.killed.is_set(), "no control-plane Machine of the new version appeared"

        herd = TopologyHerd.start(data, cache, *GATE)
        second = run_until_killed(herd, control_plane=False, timeout=60)
        if second.killed.is_set():
            herd = TopologyHerd.start(data, cache, *GATE)
        machines = herd.wait_available(CLUSTER, 1, 2, NEW, timeout=120)

        cluster = herd.cluster(CLUSTER)
        kcp, = herd.owned("kubeadmcontrolplane", CLUSTER)
        assert kcp["metadata"]["name"] == cluster["spec"]["controlPlaneRef"]["name"]
        deployments = herd.owned("machinedeployment", CLUSTER)
        entries = [md["name"] for md in cluster["spec"]["topology"]["workers"]["machineDeployments"]]
        assert sorted(md["metadata"]["labels"][DEPLOYMENT_TOPOLOGY] for md in deployments) == sorted(entries)
        infrastructure = {referenced(kcp, "spec", "machineTemplate", "spec", "infrastructureRef")}
        infrastructure |= {referenced(md, "spec", "template", "spec", "infrastructureRef") for md in deployments}
        bootstrap = {referenced(md, "spec", "template", "spec", "bootstrap", "configRef") for md in deployments}
        assert len(infrastructure) == 1 + len(deployments) and len(bootstrap) == len(deployments)

        def only_referenced_templates() -> None:
            made = {kind: {t["metadata"]["name"] for t in herd.owned(kind, CLUSTER)}
                    for kind in ("devmachinetemplate", "kubeadmconfigtemplate", "devcluster")}
            assert made == {"devmachinetemplate": infrastructure, "kubeadmconfigtemplate": bootstrap,
                            "devcluster": {cluster["spec"]["infrastructureRef"]["name"]}}, made
        eventually(only_referenced_templates, "only the referenced templates left", timeout=20)
        assert all(m["spec"]["version"] == NEW for m in machines)
        assert herd.process.stop() == 0, "".join(herd.process.lines)  # a clean exit on SIGTERM after all that
    finally:
        herd.process.stop()
    witness = first.at_first_new_worker or second.at_first_new_worker
    if witness is not None:  # a worker of the new version was seen while a watch ran: the control plane was done
        running = [(name, version) for name, version, deleting in witness if not deleting]
        assert running and all(version == NEW for _, version in running), witness
