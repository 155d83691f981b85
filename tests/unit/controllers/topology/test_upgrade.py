"""Which version each part runs while spec.topology.version changes: the control plane first, then the
MachineDeployments (one at a time by default), with defer and hold annotations honoured."""

from __future__ import annotations

from typing import Any

from herd.controllers.topology.upgrade import WorkerState, plan

OLD, NEW = "v1.33.0", "v1.33.1"


def cluster(*mds: dict[str, Any], concurrency: str | None = None) -> dict[str, Any]:
    annotations = {"topology.cluster.x-k8s.io/upgrade-concurrency": concurrency} if concurrency else {}
    return {"metadata": {"name": "c", "annotations": annotations},
            "spec": {"topology": {"version": NEW, "workers": {"machineDeployments": list(mds)}}}}


def control_plane(spec: str, reported: str | None, replicas: int = 3, ready: int = 3) -> dict[str, Any]:
    status: dict[str, Any] = {"replicas": ready, "upToDateReplicas": ready, "availableReplicas": ready}
    if reported:
        status["version"] = reported
    return {"spec": {"version": spec, "replicas": replicas}, "status": status}


def worker(name: str, version: str, upgrading: bool = False) -> WorkerState:
    return WorkerState({"metadata": {"name": name}, "spec": {"template": {"spec": {"version": version}}}}, upgrading)


def md(name: str, **annotations: str) -> dict[str, Any]:
    return {"name": name, "class": "w", "metadata": {"annotations": annotations}}


def test_the_control_plane_starts_first_and_the_workers_wait() -> None:
    t = plan(cluster(md("a")), control_plane(OLD, OLD), {"a": worker("c-a", OLD)})
    assert (t.control_plane_version, t.control_plane_starting, t.md_versions, t.md_pending) == (
        NEW, True, {"a": OLD}, ["c-a"])


def test_workers_wait_while_the_control_plane_upgrades_or_scales() -> None:
    t = plan(cluster(md("a")), control_plane(NEW, OLD), {"a": worker("c-a", OLD)})
    assert (t.control_plane_upgrading, t.md_versions["a"]) == (True, OLD)
    t = plan(cluster(md("a")), control_plane(NEW, NEW, ready=4), {"a": worker("c-a", OLD)})
    assert (t.control_plane_scaling, t.md_versions["a"], t.md_pending) == (True, OLD, ["c-a"])


def test_workers_follow_one_at_a_time_unless_the_concurrency_annotation_says_more() -> None:
    workers = {"a": worker("c-a", OLD), "b": worker("c-b", OLD)}
    t = plan(cluster(md("a"), md("b")), control_plane(NEW, NEW), workers)
    assert (t.md_versions, t.md_upgrading, t.md_pending) == ({"a": NEW, "b": OLD}, ["c-a"], ["c-b"])
    t = plan(cluster(md("a"), md("b"), concurrency="2"), control_plane(NEW, NEW), workers)
    assert t.md_versions == {"a": NEW, "b": NEW}


def test_an_upgrading_worker_takes_the_slot_and_holds_the_next_control_plane_version() -> None:
    t = plan(cluster(md("a"), md("b")), control_plane(NEW, NEW), {"a": worker("c-a", NEW, upgrading=True),
                                                                  "b": worker("c-b", OLD)})
    assert (t.md_versions["b"], t.md_upgrading, t.md_pending) == (OLD, ["c-a"], ["c-b"])
    newer = cluster(md("a"))
    newer["spec"]["topology"]["version"] = "v1.34.0"
    t = plan(newer, control_plane(NEW, NEW), {"a": worker("c-a", NEW, upgrading=True)})
    assert (t.control_plane_version, t.control_plane_pending) == (NEW, True)


def test_defer_and_hold_annotations_keep_workers_back() -> None:
    deferred = md("a", **{"topology.cluster.x-k8s.io/defer-upgrade": ""})
    held = md("b", **{"topology.cluster.x-k8s.io/hold-upgrade-sequence": ""})
    workers = {n: worker(f"c-{n}", OLD) for n in "abc"}
    t = plan(cluster(deferred, held, md("c"), concurrency="3"), control_plane(NEW, NEW), workers)
    assert (t.md_versions, sorted(t.md_deferred)) == ({"a": OLD, "b": OLD, "c": OLD}, ["c-a", "c-b", "c-c"])
    t = plan(cluster(deferred, md("b"), md("c"), concurrency="3"), control_plane(NEW, NEW), workers)
    assert t.md_versions == {"a": OLD, "b": NEW, "c": NEW}


def test_new_machine_deployments_wait_for_a_stable_control_plane() -> None:
    assert plan(cluster(md("a")), None, {}).md_pending_create == []
    t = plan(cluster(md("a")), control_plane(NEW, None), {})
    assert (t.control_plane_provisioning, t.md_pending_create, t.md_versions) == (True, ["a"], {"a": NEW})
