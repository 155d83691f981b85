"""Rolling out a KubeadmControlPlane, watched Machine event by Machine event with `kubectl get machines -w`:

- `spec.version` v1.32 → v1.33 with maxSurge 1: never more than replicas + 1 control-plane Machines, and at every
  event the Machines whose etcd member the KubeadmControlPlane reports healthy are a quorum of the members; etcd,
  asked directly all along (a port-forward to each member), never has more members than that and always a quorum
  of them answering;
- the same with maxSurge 0 (scale in first): never more than replicas;
- `spec.rollout.after` set to a time now past: every Machine is replaced, the version unchanged.

Each ends with every control-plane Machine new and available, MachinesUpToDate=True, etcd's members exactly the
new Nodes, and the version bump reaching the workload cluster's kubeadm-config and kube-proxy.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from support.herd_up import herd_up
from support.kcp import (
    KCP,
    ControlPlaneHerd,
    EtcdHealth,
    MachineWatch,
    Sampler,
    available,
    condition_status,
    deleting,
    ha_cluster,
    name,
    node_name,
    summary,
)
from support.waiting import eventually_sync

OLD, NEW, REPLICAS = "v1.32.2", "v1.33.0", 3

eventually = functools.partial(eventually_sync, timeout=120.0, poll=0.3)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), ControlPlaneHerd) as running:
        yield running


def converged(herd: ControlPlaneHerd, namespace: str, version: str, *,
              besides: Collection[str] = ()) -> list[dict[str, Any]]:
    """Once REPLICAS control-plane Machines of `version`, none of them in `besides`, are available, up to date and
    etcd's members: the Machines."""
    def probe() -> list[dict[str, Any]]:
        machines = herd.control_plane_machines(namespace)
        assert len(machines) == REPLICAS and all(available(m) and m["spec"]["version"] == version
                                                 for m in machines), summary(machines)
        assert not {name(m) for m in machines} & set(besides), summary(machines)
        kcp = herd.kcp(namespace)
        status = kcp.get("status") or {}
        assert condition_status(kcp, "MachinesUpToDate") == "True", status
        assert (status.get("version"), status.get("upToDateReplicas"), status.get("readyReplicas")) == \
            (version, REPLICAS, REPLICAS), status
        nodes = sorted(str(node_name(m)) for m in machines)
        assert herd.etcd(namespace, nodes[0]).members == tuple(nodes)
        return machines
    machines: list[dict[str, Any]] = eventually(probe, f"{REPLICAS} {version} control-plane Machines in {namespace}")
    return machines


def bounded(limit: int, state: dict[str, dict[str, Any]]) -> None:
    """At most `limit` control-plane Machines (being deleted included), and etcd keeps its quorum."""
    machines = list(state.values())
    assert len(machines) <= limit, summary(machines)
    members = [m for m in machines if not deleting(m) and node_name(m)]
    healthy = [m for m in members if condition_status(m, "EtcdMemberHealthy") == "True"]
    assert len(healthy) >= len(members) // 2 + 1, ("etcd quorum", summary(members), [name(m) for m in healthy])


def roll_out(herd: ControlPlaneHerd, namespace: str, limit: int, patch: dict[str, Any],
             version: str) -> tuple[MachineWatch, list[dict[str, Any]]]:
    """Apply `patch` to the KubeadmControlPlane while watching its Machines against `limit`; the watch and the new
    Machines once converged."""
    old = {name(m) for m in converged(herd, namespace, OLD)}
    watch = MachineWatch(functools.partial(bounded, limit))
    watch.start_watch(herd, "machines", "-n", namespace, "-l", "cluster.x-k8s.io/control-plane")
    try:
        eventually(lambda: watch.states and set(watch.states[-1]) == old, "the watch lists the Machines")
        with Sampler(lambda: herd.etcd_health(namespace)) as etcd:
            herd.patch("kubeadmcontrolplane", KCP, namespace, patch)
            new = converged(herd, namespace, version, besides=old)
        eventually(lambda: set(watch.states[-1]) == {name(m) for m in new}, "the watch sees the new Machines")
    finally:
        watch.stop()
    assert not watch.failures, watch.failures[:3]
    assert len(watch.states) > 2 * REPLICAS
    # asked of etcd itself all along: a quorum of its members answered every time
    assert len(etcd.samples) >= REPLICAS, etcd.samples
    lost = [sample for sample in etcd.samples if not (isinstance(sample, EtcdHealth) and sample.quorate)]
    assert not lost, lost[:3]
    assert max(len(sample.members) for sample in etcd.samples if isinstance(sample, EtcdHealth)) <= limit
    return watch, new


def assert_workload_cluster_at(herd: ControlPlaneHerd, namespace: str, version: str) -> None:
    def probe() -> None:
        config = herd.workload_object(namespace, "configmap", "kubeadm-config", "kube-system")
        cluster_configuration = yaml.safe_load(config["data"]["ClusterConfiguration"])
        assert cluster_configuration["kubernetesVersion"] == version, cluster_configuration
        proxy = herd.workload_object(namespace, "daemonset", "kube-proxy", "kube-system")
        images = [c["image"] for c in proxy["spec"]["template"]["spec"]["containers"]]
        assert images and all(image.endswith(f":{version}") for image in images), images
    eventually(probe, f"kubeadm-config and kube-proxy at {version}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("max_surge", [1, 0])
def test_a_version_bump_replaces_every_machine_within_max_surge_keeping_etcd_quorum(
        herd: ControlPlaneHerd, max_surge: int) -> None:
    namespace = f"version-surge-{max_surge}"
    rollout = {"rollout": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge}}}}
    herd.apply(namespace, ha_cluster(namespace, workers=0, version=OLD, kcp=rollout))
    watch, _ = roll_out(herd, namespace, REPLICAS + max_surge, {"spec": {"version": NEW}}, NEW)
    versions = {m["spec"]["version"] for state in watch.states for m in state.values()}
    assert versions == {OLD, NEW}
    assert_workload_cluster_at(herd, namespace, NEW)


@pytest.mark.timeout(300)
def test_rollout_after_a_past_time_replaces_every_machine(herd: ControlPlaneHerd) -> None:
    namespace = "rollout-after"
    herd.apply(namespace, ha_cluster(namespace, workers=0, version=OLD))
    converged(herd, namespace, OLD)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, new = roll_out(herd, namespace, REPLICAS + 1, {"spec": {"rollout": {"after": now}}}, OLD)
    assert all(m["metadata"]["creationTimestamp"] >= now for m in new), summary(new)
