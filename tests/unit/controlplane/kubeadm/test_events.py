"""A KubeadmControlPlane that cannot create its first Machine, or whose scale-up preflight checks fail, says so in a
Warning Event, as upstream's does."""

from __future__ import annotations

from typing import Any, cast

import pytest
from support.controlplane import healthy_scope, kcp, replaced

from herd.controlplane.kubeadm.scale import EVENT_SOURCE, reconcile_replicas
from herd.controlplane.kubeadm.scope import ControlPlaneScope, Services
from herd.runtime import NotFound

KCP = {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane",
       "metadata": {"name": "demo-cp", "namespace": "ns", "uid": "u-kcp", "labels": {
           "cluster.x-k8s.io/cluster-name": "demo"}},
       "spec": {"replicas": 3, "version": "v1.32.0", "machineTemplate": {"spec": {"infrastructureRef": {
           "apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "missing"}}}}}


class NoCRDs:
    async def resolve(self, ref: dict[str, Any]) -> Any:
        raise NotFound(404, "NotFound", "no CRD serves it")


class EventsOnly:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def create(self, obj: dict[str, Any], *, kind: Any = None) -> dict[str, Any]:
        self.events.append(obj)
        return obj


async def test_a_failed_initialization_is_a_warning_event_on_the_kubeadm_control_plane() -> None:
    client = EventsOnly()
    services = Services(client=cast(Any, client), cache=cast(Any, None), tracker=cast(Any, None),
                        resolver=cast(Any, NoCRDs()), cluster_cache=cast(Any, None))
    scope = ControlPlaneScope(kcp=KCP, services=services)
    with pytest.raises(NotFound):
        await reconcile_replicas(scope)
    (event,) = client.events
    assert (event["type"], event["reason"], event["source"]) == (
        "Warning", "FailedInitialization", {"component": EVENT_SOURCE})
    assert event["involvedObject"]["name"] == "demo-cp"
    assert event["message"] == (
        "Failed to create initial control plane Machine for cluster ns/demo control plane: "
        "DevMachineTemplate missing (spec.machineTemplate.spec.infrastructureRef) does not exist")


async def test_a_scale_up_held_by_preflight_checks_is_a_control_plane_unhealthy_warning() -> None:
    client = EventsOnly()
    blocked = healthy_scope(control_plane=kcp({"replicas": 4}))
    replaced("c", node=False)(blocked)
    blocked.services = Services(client=cast(Any, client), cache=cast(Any, None), tracker=cast(Any, None),
                                resolver=cast(Any, NoCRDs()), cluster_cache=cast(Any, None))
    result = await reconcile_replicas(blocked)
    assert result is not None and result.requeue_after
    (event,) = client.events
    assert (event["type"], event["reason"]) == ("Warning", "ControlPlaneUnhealthy")
    assert event["message"] == ("Waiting for control plane to pass preflight checks to continue reconciliation: "
                                "Waiting for Machine c to have a Node")
