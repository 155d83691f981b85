"""The object envelope every group shares, the Cluster-API-wide object helpers and the kinds each group exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from herd.api import bootstrap, cluster, controlplane, infrastructure
from herd.api.bootstrap import KubeadmConfig
from herd.api.cluster import Machine
from herd.api.cluster.labels import PAUSED_ANNOTATION
from herd.api.common import APIObject
from herd.api.controlplane import KubeadmControlPlane
from herd.api.infrastructure import DevMachine, DevMachineTemplate
from herd.api.objects import is_paused, nested, parse_time, rfc3339
from herd.api.registry import all_crd_specs


def test_nested_walks_dicts_and_stops_at_anything_else() -> None:
    obj = {"spec": {"template": {"spec": {"version": "v1.31.0"}}, "replicas": 3}}
    assert nested(obj, "spec", "template", "spec", "version") == "v1.31.0"
    assert nested(obj, "spec", "missing", "deeper") is None
    assert nested(obj, "spec", "replicas", "deeper") is None
    assert nested(None, "spec") is None
    assert nested(obj) is obj


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01T10:20:30Z", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ("2024-05-01T12:20:30+02:00", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ("2024-05-01T10:20:30.250000Z", datetime(2024, 5, 1, 10, 20, 30, 250000, tzinfo=UTC)),
    (None, None), ("", None), ("yesterday", None),
])
def test_parse_time_reads_rfc3339_and_gives_none_for_anything_else(text: str | None,
                                                                     expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_rfc3339_writes_utc_whole_seconds_and_reads_back() -> None:
    moment = datetime(2024, 5, 1, 12, 20, 30, 999, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2024-05-01T10:20:30Z"
    assert parse_time(rfc3339(moment)) == moment.replace(microsecond=0)


def test_is_paused_by_the_cluster_or_the_annotation() -> None:
    running = {"metadata": {"name": "m"}}
    annotated = {"metadata": {"name": "m", "annotations": {PAUSED_ANNOTATION: ""}}}
    assert not is_paused(None, running)
    assert not is_paused({"spec": {"paused": False}}, running)
    assert not is_paused({"spec": None}, running)
    assert is_paused({"spec": {"paused": True}}, running)
    assert is_paused(None, annotated)
    assert is_paused({"spec": {"paused": False}}, annotated)


def test_every_group_exports_a_kind_per_crd() -> None:
    exported = [cluster.CLUSTER, cluster.CLUSTER_CLASS, cluster.MACHINE, cluster.MACHINE_SET,
                cluster.MACHINE_DEPLOYMENT, cluster.MACHINE_HEALTH_CHECK, bootstrap.KUBEADM_CONFIG,
                bootstrap.KUBEADM_CONFIG_TEMPLATE,
                controlplane.KUBEADM_CONTROL_PLANE, controlplane.KUBEADM_CONTROL_PLANE_TEMPLATE,
                infrastructure.DEV_CLUSTER, infrastructure.DEV_CLUSTER_TEMPLATE, infrastructure.DEV_MACHINE,
                infrastructure.DEV_MACHINE_TEMPLATE]
    served = {(f"{spec.group}/{spec.version}", spec.kind, spec.plural) for spec in all_crd_specs()}
    assert {(k.api_version, k.kind, k.plural) for k in exported} == served


def test_kinds_carry_the_rest_details_of_their_crd() -> None:
    machine = cluster.MACHINE
    assert (machine.api_version, machine.kind, machine.plural) == ("cluster.x-k8s.io/v1beta2", "Machine", "machines")
    assert machine.namespaced
    assert machine.status_subresource
    assert not infrastructure.DEV_CLUSTER_TEMPLATE.status_subresource  # a template has no status to write
    assert bootstrap.KUBEADM_CONFIG.group_kind == ("bootstrap.cluster.x-k8s.io", "KubeadmConfig")


@pytest.mark.parametrize("model", [Machine, KubeadmConfig, KubeadmControlPlane, DevMachine, DevMachineTemplate])
def test_every_group_shares_one_object_envelope(model: type[APIObject]) -> None:
    wire = {"apiVersion": model.model_fields["api_version"].default, "kind": model.__name__,
            "metadata": {"name": "m1", "namespace": "default", "labels": {"a": "1"}, "annotations": {"b": "2"}}}
    if model is Machine:
        wire["spec"] = {"clusterName": "c1", "bootstrap": {"dataSecretName": "s"},
                        "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine",
                                              "name": "m1"}}
    if model is KubeadmControlPlane:
        wire["spec"] = {"version": "v1.31.0", "machineTemplate": {"spec": {"infrastructureRef": {
            "apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "t"}}}}
    obj = model.from_dict({**wire, "status": {}})
    assert isinstance(obj, model)
    assert (obj.name, obj.namespace, obj.labels, obj.annotations) == ("m1", "default", {"a": "1"}, {"b": "2"})
    obj.labels["a"] = "changed"  # a copy: the object itself only changes through metadata
    assert obj.metadata["labels"] == {"a": "1"}
    assert "status" not in obj.to_dict()  # an empty status is left out, whatever the group
    assert obj.to_dict()["apiVersion"] == wire["apiVersion"]


def test_an_envelope_without_metadata_reads_empty() -> None:
    machine = DevMachine()
    assert (machine.name, machine.namespace, machine.labels, machine.annotations) == ("", "", {}, {})
    assert machine.api_version == "infrastructure.cluster.x-k8s.io/v1beta2"
    assert machine.kind == "DevMachine"
