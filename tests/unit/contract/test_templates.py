"""Objects cloned from provider templates: a template without a spec makes an object without one, which the
kind's schema accepts (an empty spec is what KubeadmConfig's minProperties refuses)."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.registry import all_crds
from herd.apiserver.schema import validate
from herd.contract.templates import clone_from_template

MACHINE_SET = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineSet",
               "metadata": {"name": "md-0-x", "namespace": "ns", "uid": "ms-uid"}}


def kubeadm_config_template(template: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta2", "kind": "KubeadmConfigTemplate",
            "metadata": {"name": "workers", "namespace": "ns"}, "spec": {"template": template}}


def clone(template: dict[str, Any]) -> dict[str, Any]:
    return clone_from_template(template, name="md-0-x-abcde", namespace="ns", cluster_name="c",
                               labels={"pool": "a"}, annotations={}, owner=MACHINE_SET)


def schema_of(kind: str) -> dict[str, Any]:
    crd = next(crd for crd in all_crds() if crd["spec"]["names"]["kind"] == kind)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta2")
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("template", [{}, {"metadata": {"labels": {"tier": "w"}}}],
                         ids=["empty", "metadata only"])
def test_a_template_without_a_spec_clones_an_object_without_one_that_the_schema_accepts(
        template: dict[str, Any]) -> None:
    cloned = clone(kubeadm_config_template(template))
    assert cloned["kind"] == "KubeadmConfig" and "spec" not in cloned
    assert cloned["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] == "c"
    assert validate(cloned, schema_of("KubeadmConfig")) == []


def test_a_spec_with_an_empty_object_is_refused_by_the_schema_so_the_clone_never_carries_one() -> None:
    # what the clone used to write: the bug this guards against
    assert validate({**clone(kubeadm_config_template({})), "spec": {}}, schema_of("KubeadmConfig")) != []


def test_a_template_spec_is_cloned_as_a_copy() -> None:
    spec = {"joinConfiguration": {"nodeRegistration": {"name": "n"}}}
    template = kubeadm_config_template({"spec": spec})
    cloned = clone(template)
    assert cloned["spec"] == spec and validate(cloned, schema_of("KubeadmConfig")) == []
    cloned["spec"]["joinConfiguration"]["nodeRegistration"]["name"] = "changed"
    assert template["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["name"] == "n"
