"""The Paused condition every Cluster API object carries, as the shared reconcile skeleton writes it: why it is
paused (the Cluster's spec.paused, the object's annotation, or both), or NotPaused."""

from __future__ import annotations

from typing import Any

import pytest

from herd.contract.conditions import apply, paused_condition
from herd.runtime.conditions import get_condition

ANNOTATION = "cluster.x-k8s.io/paused"


@pytest.mark.parametrize(("cluster_spec", "annotations", "expected"), [
    ({}, None, ("False", "NotPaused", "")),
    ({"paused": False}, {"other": "x"}, ("False", "NotPaused", "")),
    ({"paused": True}, None, ("True", "Paused", "Cluster spec.paused is set to true")),
    ({}, {ANNOTATION: ""}, ("True", "Paused", f"KubeadmConfig has the {ANNOTATION} annotation")),
    ({"paused": True}, {ANNOTATION: "true"},
     ("True", "Paused", f"Cluster spec.paused is set to true, KubeadmConfig has the {ANNOTATION} annotation")),
])
def test_paused_condition_says_why(cluster_spec: dict[str, Any], annotations: dict[str, str] | None,
                                   expected: tuple[str, str, str]) -> None:
    cluster = {"kind": "Cluster", "metadata": {"name": "c"}, "spec": cluster_spec}
    config: dict[str, Any] = {"kind": "KubeadmConfig", "metadata": {"name": "m", "annotations": annotations or {}}}
    assert apply(config, paused_condition(cluster, config))
    found = get_condition(config, "Paused")
    assert found is not None and (found["status"], found["reason"], found["message"]) == expected
    assert not apply(config, paused_condition(cluster, config)), "setting it again changes nothing"


def test_a_missing_cluster_pauses_only_by_annotation() -> None:
    machine = {"kind": "DevMachine", "metadata": {"annotations": {ANNOTATION: ""}}}
    assert paused_condition(None, machine)["status"] == "True"
    assert paused_condition(None, {"kind": "DevMachine", "metadata": {}})["status"] == "False"
