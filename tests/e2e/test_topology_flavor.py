"""`herd generate cluster --flavor topology` (herd's `dev` ClusterClass and a Cluster using it) applied to `herd up
--feature-gates ClusterTopology=true`: the class's variable lands, through its inline patches, in the templates the
topology makes; changing the variable rotates the worker template (a new one, the old one deleted once the
workers rolled out); a version change upgrades the control plane before any worker (a watch of the Machines sees
no worker of the new version while a control-plane Machine of the old one runs); a worker class missing from the
ClusterClass is reported on the Cluster; rebasing the Cluster onto another class rolls out the workers whose
template differs and leaves the control plane alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import WatchRecorder, herd_up
from support.topology import DEPLOYMENT_TOPOLOGY, GATE, TopologyHerd, condition, eventually, generate

CLUSTER, VERSION, NEW = "flavored", "v1.33.0", "v1.33.1"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"
EXAMPLE = Path(__file__).parents[2] / "examples" / "clusterclass-dev.yaml"


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), TopologyHerd, *GATE) as running:
        manifest = generate(CLUSTER, "--flavor", "topology", "--kubernetes-version", VERSION,
                            "--control-plane-machine-count", "3", "--worker-machine-count", "2",
                            env={"VM_STARTUP_DURATION": "2s"})
        running.kubectl("apply", "-f", "-", input=manifest)
        running.wait_available(CLUSTER, 3, 2, VERSION)
        yield running


def startup(template: dict[str, Any]) -> str:
    return str(template["spec"]["template"]["spec"]["backend"]["inMemory"]["vm"]["provisioning"]["startupDuration"])


def worker_template(herd: TopologyHerd) -> dict[str, Any]:
    md, = herd.owned("machinedeployment", CLUSTER)
    name = md["spec"]["template"]["spec"]["infrastructureRef"]["name"]
    return herd.get("devmachinetemplate", name, herd.namespace)


def test_the_variable_lands_in_the_generated_templates(herd: TopologyHerd) -> None:
    templates = herd.owned("devmachinetemplate", CLUSTER)
    assert len(templates) == 2 and {startup(t) for t in templates} == {"2s"}, templates
    bootstrap, = herd.owned("kubeadmconfigtemplate", CLUSTER)
    args = bootstrap["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert {"name": "node-labels", "value": "herd.dev/machine-deployment=md-0"} in args
    assert startup(herd.get("devmachinetemplate", "dev-default-worker", herd.namespace)) == "1s"


def test_a_changed_variable_rotates_the_worker_template(herd: TopologyHerd) -> None:
    old = worker_template(herd)["metadata"]["name"]
    old_workers = {m["metadata"]["name"] for m in herd.machines(CLUSTER)
                   if DEPLOYMENT_TOPOLOGY in m["metadata"]["labels"]}
    herd.patch_cluster(CLUSTER, [{"op": "replace", "path": "/spec/topology/variables/0/value", "value": "3s"}])

    def rotated() -> dict[str, Any]:
        template = worker_template(herd)
        assert template["metadata"]["name"] != old and startup(template) == "3s", template["metadata"]
        return template
    new = eventually(rotated, "a new worker template", timeout=30)
    assert new["metadata"]["name"].startswith(f"{CLUSTER}-md-0-")
    herd.wait_available(CLUSTER, 3, 2, VERSION, timeout=120, without=old_workers)

    def old_deleted() -> None:
        names = {t["metadata"]["name"] for t in herd.owned("devmachinetemplate", CLUSTER)}
        assert old not in names and new["metadata"]["name"] in names, names
    eventually(old_deleted, "the old worker template deleted", timeout=30)


class UpgradeOrder(WatchRecorder):
    """Machines as a watch reports them; what the control plane looked like when the first new worker appeared."""

    def __init__(self) -> None:
        self.machines: dict[str, dict[str, Any]] = {}
        self.at_first_new_worker: list[tuple[str, str, bool]] | None = None
        self.lock = threading.Lock()

    def record(self, type_: str, obj: dict[str, Any]) -> None:
        with self.lock:
            name = obj["metadata"]["name"]
            if type_ == "DELETED":
                self.machines.pop(name, None)
                return
            self.machines[name] = obj
            worker = CONTROL_PLANE_LABEL not in obj["metadata"].get("labels", {})
            if worker and obj["spec"].get("version") == NEW and self.at_first_new_worker is None:
                self.at_first_new_worker = [
                    (m["metadata"]["name"], m["spec"].get("version"), bool(m["metadata"].get("deletionTimestamp")))
                    for m in self.machines.values() if CONTROL_PLANE_LABEL in m["metadata"].get("labels", {})]


@pytest.mark.timeout(300)
def test_a_version_change_upgrades_the_control_plane_before_the_workers(
        herd: TopologyHerd) -> None:
    order = UpgradeOrder().start_watch(herd, "machines", "-n", herd.namespace)
    try:
        herd.patch_cluster(CLUSTER, [{"op": "replace", "path": "/spec/topology/version", "value": NEW}])

        def upgrading() -> str:
            reconciled = condition(herd.cluster(CLUSTER), "TopologyReconciled")
            assert reconciled.get("reason") == "ClusterUpgrading", reconciled
            return str(reconciled.get("message"))
        assert f"KubeadmControlPlane upgrading to version {NEW}" in eventually(upgrading, "ClusterUpgrading")
        herd.wait_available(CLUSTER, 3, 2, NEW, timeout=240)
    finally:
        order.stop()
    control_plane = order.at_first_new_worker
    assert control_plane is not None, "no worker of the new version was ever seen"
    running = [(name, version) for name, version, deleting in control_plane if not deleting]
    assert len(running) == 3 and all(version == NEW for _, version in running), control_plane


def test_rebasing_onto_another_class_rolls_out_the_workers_it_changes(herd: TopologyHerd) -> None:
    objects = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    for obj in objects:  # the same class under other names, whose worker machines boot slower
        obj["metadata"]["name"] = obj["metadata"]["name"].replace("dev", "dev-slow")
        for ref in _template_refs(obj):
            ref["name"] = ref["name"].replace("dev", "dev-slow")
        if obj["metadata"]["name"] == "dev-slow-default-worker" and obj["kind"] == "DevMachineTemplate":
            obj["spec"]["template"]["spec"]["backend"]["inMemory"]["node"]["provisioning"]["startupDuration"] = "2s"
    herd.kubectl("apply", "-n", herd.namespace, "-f", "-", input=yaml.safe_dump_all(objects))
    version = herd.cluster(CLUSTER)["spec"]["topology"]["version"]
    kcp, = herd.owned("kubeadmcontrolplane", CLUSTER)
    control_plane = {m["metadata"]["name"] for m in herd.machines(CLUSTER)
                     if CONTROL_PLANE_LABEL in m["metadata"]["labels"]}
    old_workers = {m["metadata"]["name"] for m in herd.machines(CLUSTER)} - control_plane
    herd.patch_cluster(CLUSTER, [{"op": "replace", "path": "/spec/topology/classRef/name", "value": "dev-slow"}])
    machines = herd.wait_available(CLUSTER, 3, 2, version, timeout=120, without=old_workers)
    assert control_plane <= {m["metadata"]["name"] for m in machines}  # the control plane did not change
    node = worker_template(herd)["spec"]["template"]["spec"]["backend"]["inMemory"]["node"]
    assert node["provisioning"]["startupDuration"] == "2s"
    assert worker_template(herd)["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-name"] == \
        "dev-slow-default-worker"
    assert herd.owned("kubeadmcontrolplane", CLUSTER)[0]["metadata"]["name"] == kcp["metadata"]["name"]


def _template_refs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] != "ClusterClass":
        return []
    spec = obj["spec"]
    refs = [spec["infrastructure"]["templateRef"], spec["controlPlane"]["templateRef"],
            spec["controlPlane"]["machineInfrastructure"]["templateRef"]]
    for worker in spec["workers"]["machineDeployments"]:
        refs += [worker["bootstrap"]["templateRef"], worker["infrastructure"]["templateRef"]]
    return refs


def test_a_worker_class_missing_from_the_class_is_reported(herd: TopologyHerd) -> None:
    manifest = generate("broken", "--flavor", "topology", "--kubernetes-version", VERSION)
    broken = manifest.replace("- class: default-worker", "- class: no-such-class")
    result = herd.kubectl("apply", "-f", "-", input=broken, check=False)
    if result.returncode != 0:  # the ClusterClass webhook refuses it at admission: as upstream does
        assert "no-such-class" in result.stderr, result.stderr
        return

    def reported() -> str:
        reconciled = condition(herd.cluster("broken"), "TopologyReconciled")
        assert (reconciled.get("status"), reconciled.get("reason")) == ("False", "ReconcileFailed"), reconciled
        return str(reconciled.get("message"))
    assert "MachineDeployment class 'no-such-class' not found" in eventually(reported, "TopologyReconciled False")
