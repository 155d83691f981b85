"""A KubeadmControlPlane grows one Machine at a time, and only over a healthy control plane.

- Three replicas from nothing, watched Machine event by Machine event: each control-plane Machine after the
  first appears only once the one before has its Node and the control plane is initialized, and once the
  KubeadmControlPlane had seen that Machine's control-plane components and etcd member healthy.
- One healthy replica whose kube-apiserver pod goes down (`herd.dev/fail=apiserver-pod-down`), then scaled to
  three: ScalingUp is True with a message saying the scale up is blocked and by what, and no Machine is created
  while the fault lasts; once it clears, the control plane grows to three.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from support import waiting
from support.herd_up import herd_up
from support.kcp import (
    FAIL,
    KCP,
    ControlPlaneHerd,
    MachineWatch,
    conditions,
    ha_cluster,
    node_name,
    summary,
)
from support.waiting import eventually_sync

HEALTH = ("APIServerPodHealthy", "ControllerManagerPodHealthy", "SchedulerPodHealthy", "EtcdPodHealthy",
          "EtcdMemberHealthy")
SLACK = timedelta(seconds=1)  # times are whole seconds, and conditions are written at the end of a reconcile

eventually = functools.partial(eventually_sync, timeout=60.0, poll=0.3)
throughout = functools.partial(waiting.throughout, seconds=4.0, poll=0.3)


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneHerd]:
    with herd_up(tmp_path_factory.mktemp("herd-up"), ControlPlaneHerd) as running:
        yield running


def time_of(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def created(machine: dict[str, Any]) -> datetime:
    return time_of(machine["metadata"]["creationTimestamp"])


@pytest.mark.timeout(300)  # longer than the waits, so a failure says what did not happen
def test_each_control_plane_machine_waits_for_the_one_before_to_be_initialized_and_healthy(
        herd: ControlPlaneHerd) -> None:
    namespace = "one-at-a-time"
    herd.kubectl("create", "namespace", namespace)
    watch = MachineWatch().start_watch(herd, "machines", "-n", namespace, "-l", "cluster.x-k8s.io/control-plane")
    try:
        herd.kubectl("apply", "-f", "-", input=ha_cluster(namespace, workers=0, startup="1s"))
        machines = sorted(herd.control_plane_available(namespace, 3), key=created)
    finally:
        watch.stop()

    # the state the watch showed when each Machine after the first appeared: the ones before it had their Node
    for later in machines[1:]:
        first_seen = next(state for state in watch.states if later["metadata"]["name"] in state)
        before = [m for m in first_seen.values() if m["metadata"]["name"] != later["metadata"]["name"]]
        assert before and all(node_name(m) for m in before), (later["metadata"]["name"], summary(before))

    # and the KubeadmControlPlane had seen the control plane initialized and each earlier Machine healthy
    initialized = conditions(herd.kcp(namespace))["Initialized"]
    assert initialized["status"] == "True"
    assert time_of(initialized["lastTransitionTime"]) <= created(machines[1]) + SLACK, (initialized, summary(machines))
    for earlier, later in itertools.pairwise(machines):
        healthy = conditions(earlier)
        for type_ in HEALTH:
            assert healthy[type_]["status"] == "True", (earlier["metadata"]["name"], healthy.get(type_))
            assert time_of(healthy[type_]["lastTransitionTime"]) <= created(later) + SLACK, \
                (type_, earlier["metadata"]["name"], healthy[type_], later["metadata"]["creationTimestamp"])


@pytest.mark.timeout(300)
def test_an_unhealthy_control_plane_blocks_scaling_up_until_it_recovers(herd: ControlPlaneHerd) -> None:
    namespace = "blocked"
    herd.apply(namespace, ha_cluster(namespace, replicas=1, workers=0))
    [machine] = herd.control_plane_available(namespace, 1)
    dev_machine = machine["spec"]["infrastructureRef"]["name"]
    herd.kubectl("annotate", "devmachine", dev_machine, "-n", namespace, f"{FAIL}=apiserver-pod-down")

    def api_server_down() -> None:
        [seen] = herd.control_plane_machines(namespace)
        assert conditions(seen).get("APIServerPodHealthy", {}).get("status") == "False", conditions(seen)
    eventually(api_server_down, "the KubeadmControlPlane sees the kube-apiserver pod down")

    herd.kubectl("scale", "kubeadmcontrolplane", KCP, "-n", namespace, "--replicas=3")

    def blocked() -> dict[str, Any]:
        scaling_up = conditions(herd.kcp(namespace)).get("ScalingUp", {})
        assert scaling_up.get("status") == "True", scaling_up
        message = str(scaling_up.get("message"))
        assert message.startswith("Scaling up from 1 to 3 replicas is blocked because"), message
        assert "control plane components" in message, message
        return scaling_up
    eventually(blocked, "ScalingUp saying what blocks it")

    def still_one() -> None:
        machines = herd.control_plane_machines(namespace)
        assert [m["metadata"]["name"] for m in machines] == [machine["metadata"]["name"]], summary(machines)
        blocked()
    throughout(still_one)

    herd.kubectl("annotate", "devmachine", dev_machine, "-n", namespace, f"{FAIL}-")
    machines = herd.control_plane_available(namespace, 3)
    assert machine["metadata"]["name"] in {m["metadata"]["name"] for m in machines}
    eventually(lambda: conditions(herd.kcp(namespace))["ScalingUp"]["status"] == "False", "ScalingUp False")
