"""TopologyReconciled as a user reads it: why a topology is not (yet) reconciled, and where an upgrade is."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.topology.compare import owned_patch, spec_changed
from herd.controllers.topology.status import paused, topology_reconciled
from herd.controllers.topology.upgrade import UpgradeTracker

REFS = {"infrastructureRef": {"name": "i"}, "controlPlaneRef": {"name": "c"}}


def cluster(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c1"}, "spec": {"topology": {"version": "v1.33.1"}, **spec}}


@pytest.mark.parametrize(("obj", "kwargs", "reason"), [
    (cluster(**REFS), {"error": "boom"}, "ReconcileFailed"),
    (cluster(**REFS), {"class_not_reconciled": True}, "ClusterClassNotReconciled"),
    (cluster(), {}, "ClusterCreating"),
    (cluster(**REFS), {"tracker": UpgradeTracker()}, "ReconcileSucceeded"),
    (cluster(**REFS), {"tracker": UpgradeTracker(md_deferred=["md"])}, "MachineDeploymentsUpgradeDeferred"),
    (cluster(**REFS), {"tracker": UpgradeTracker(control_plane_upgrading=True, md_deferred=["md"])},
     "ClusterUpgrading"),
])
def test_reasons(obj: dict[str, Any], kwargs: dict[str, Any], reason: str) -> None:
    condition = topology_reconciled(obj, **kwargs)
    assert (condition["reason"], condition["status"]) == (reason, "True" if reason == "ReconcileSucceeded" else "False")


def test_an_upgrade_message_says_what_upgrades_and_what_waits() -> None:
    tracker = UpgradeTracker(control_plane_version="v1.33.1", control_plane_upgrading=True, md_pending=["md-a"],
                             md_pending_create=["md-new"])
    message = topology_reconciled(cluster(**REFS), tracker=tracker, control_plane_kind="KubeadmControlPlane")["message"]
    assert message.splitlines() == [
        "Cluster is upgrading to v1.33.1",
        "* KubeadmControlPlane upgrading to version v1.33.1",
        "* MachineDeployment md-a pending upgrade to version v1.33.1",
        "* MachineDeployment md-new creation deferred while the control plane is not stable"]
    assert paused({"metadata": {}, "spec": {"paused": True}})["reason"] == "Paused"


def test_owned_fields_compared_and_put_back_as_a_merge_patch() -> None:
    desired = {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 3, "taints": [{"key": "k"}]}}
    live = {"metadata": {"labels": {"a": "1", "other": "x"}, "uid": "u"},
            "spec": {"replicas": 3, "taints": [{"key": "k", "propagation": "Always"}], "defaulted": True}}
    assert owned_patch(live, desired) is None  # what the server adds around the owned fields is no change
    live["spec"]["replicas"] = 5
    live["metadata"]["labels"]["a"] = "2"
    assert owned_patch(live, desired) == {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 3}}
    assert spec_changed({"spec": {"template": {"spec": {"x": 1}}}}, {"spec": {"template": {"spec": {"x": 2}}}})
