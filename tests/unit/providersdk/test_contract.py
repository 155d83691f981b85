"""The SDK's pure parts: what a machine waits for, the Ready summary, backoff delays, the generated CRDs, provider
loading and find_or_create."""

from __future__ import annotations

from typing import Any

import pytest

from herd.providers.example import provider as example
from herd.providersdk import Backoff, ProviderLoadError, find_or_create, load_provider, machine_waiting_for
from herd.providersdk.contract import set_machine_provisioned, set_not_provisioned, set_provisioned, set_ready
from herd.runtime import conditions


def machine(*, control_plane: bool = False, data: str | None = None) -> dict[str, Any]:
    labels = {"cluster.x-k8s.io/control-plane": ""} if control_plane else {}
    bootstrap = {"dataSecretName": data} if data else {}
    return {"metadata": {"name": "m", "labels": labels}, "spec": {"bootstrap": bootstrap}}


def cluster(*, initialized: bool = False) -> dict[str, Any]:
    return {"status": {"initialization": {"controlPlaneInitialized": initialized}}}


@pytest.mark.parametrize(("obj", "owner", "infra_ready", "reason"), [
    (machine(), cluster(), False, "WaitingForClusterInfrastructureReady"),
    (machine(), cluster(), True, "WaitingForControlPlaneInitialized"),
    (machine(control_plane=True), cluster(), True, "WaitingForBootstrapData"),
    (machine(), cluster(initialized=True), True, "WaitingForBootstrapData"),
    (machine(data="m-data"), cluster(), True, None),
])
def test_what_a_machine_waits_for(obj: dict[str, Any], owner: dict[str, Any], infra_ready: bool,
                                  reason: str | None) -> None:
    waiting = machine_waiting_for(obj, owner, cluster_infrastructure_ready=infra_ready)
    assert (waiting.reason if waiting else None) == reason


def test_ready_summarizes_provisioned_and_the_providers_own_conditions() -> None:
    obj: dict[str, Any] = {"kind": "AWSCluster"}
    set_not_provisioned(obj, "Throttling", "Rate exceeded")
    conditions.set_condition(obj, "VpcReady", True, "Created")
    set_ready(obj)
    ready = conditions.get_condition(obj, "Ready")
    assert ready is not None and ready["status"] == "False" and ready["reason"] == "NotReady"
    assert ready["message"] == "* Provisioned: Rate exceeded"
    assert set_provisioned(obj) is True and set_provisioned(obj) is False  # the first time only
    conditions.set_condition(obj, "LoadBalancerReady", False, "Creating", "the load balancer is being created")
    set_ready(obj)
    ready = conditions.get_condition(obj, "Ready")
    assert ready is not None and ready["message"] == "* LoadBalancerReady: the load balancer is being created"
    set_ready(obj, deleting=True)
    ready = conditions.get_condition(obj, "Ready")
    assert ready is not None and (ready["reason"], ready["message"]) == ("Deleting", "The AWSCluster is being deleted")


def test_a_provisioned_machine_carries_its_provider_id_and_addresses() -> None:
    obj: dict[str, Any] = {}
    assert set_machine_provisioned(obj, "aws:///a/i-1", [{"type": "InternalIP", "address": "10.0.0.1"}])
    assert obj == {"spec": {"providerID": "aws:///a/i-1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}], "initialization": {"provisioned": True}}}


def test_backoff_doubles_up_to_its_maximum() -> None:
    backoff = Backoff(initial=1, factor=2, maximum=10)
    assert [backoff.delay(n) for n in range(6)] == [0, 1, 2, 4, 8, 10]


def test_crds_of_a_provider_carry_the_contract_label_and_template_kinds() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in example.crds()}
    assert sorted(crds) == ["ProcessCluster", "ProcessClusterTemplate", "ProcessMachine", "ProcessMachineTemplate"]
    for crd in crds.values():
        assert crd["metadata"]["labels"] == {"cluster.x-k8s.io/v1beta2": "v1beta2"}
        assert crd["spec"]["group"] == "infrastructure.cluster.x-k8s.io"
    schema = crds["ProcessMachine"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert {"providerID", "workDir"} <= set(schema["spec"]["properties"])
    assert {"conditions", "initialization", "addresses", "pid"} <= set(schema["status"]["properties"])
    template = crds["ProcessClusterTemplate"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert "controlPlaneEndpoint" in template["spec"]["properties"]["template"]["properties"]["spec"]["properties"]
    assert "status" not in crds["ProcessMachineTemplate"]["spec"]["versions"][0].get("subresources", {})


@pytest.mark.parametrize(("spec", "message"), [
    ("herd.providers.example", "expected module:attribute"),
    ("no.such.module:provider", "cannot import no.such.module"),
    ("herd.providers.example:nothing", "has no attribute nothing"),
    ("herd.providers.example:HOST", "is a str, not an InfrastructureProvider"),
])
def test_a_provider_that_cannot_be_loaded_is_one_clear_line(spec: str, message: str) -> None:
    with pytest.raises(ProviderLoadError, match=message):
        load_provider(spec)
    assert load_provider("herd.providers.example:provider") is example


async def test_find_or_create_creates_only_what_it_cannot_find() -> None:
    made: list[str] = []

    def create() -> str:  # a blocking call, as boto3's: run in a worker thread
        made.append("vpc-1")
        return "vpc-1"

    async def find_nothing() -> str | None:
        return None

    assert await find_or_create(find_nothing, create) == ("vpc-1", True)
    assert await find_or_create(lambda: made[0] if made else None, create) == ("vpc-1", False)
    assert made == ["vpc-1"]
