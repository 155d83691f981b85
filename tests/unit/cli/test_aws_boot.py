"""When herd up boots AWS instances itself, which instances it boots, and where a load balancer's name leads."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from herd.cli.aws_boot import _instances, loopback_address, wanted
from herd.providers.aws.provider import provider as aws_provider
from herd.providers.example import provider as example_provider
from herd.runtime.transport import _AliasResolver, set_host_alias

LOCAL = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}


@pytest.mark.parametrize(("providers", "environ", "expected"), [
    ((aws_provider,), LOCAL, True),
    ((aws_provider,), {"AWS_ENDPOINT_URL": "http://localhost:5000"}, True),
    ((aws_provider,), {}, False),  # real AWS
    ((aws_provider,), {"AWS_ENDPOINT_URL": "https://ec2.example.com"}, False),
    ((aws_provider,), {"HERD_AWS_BOOT_SIMULATOR": "1"}, True),
    ((aws_provider,), {**LOCAL, "HERD_AWS_BOOT_SIMULATOR": "0"}, False),
    ((example_provider,), LOCAL, False),  # no AWS provider: nothing to boot
    ((), LOCAL, False),
])
def test_the_simulator_runs_only_for_the_aws_provider_against_a_local_endpoint(
        providers: tuple[object, ...], environ: dict[str, str], expected: bool) -> None:
    assert wanted(providers, environ) is expected  # type: ignore[arg-type]


def test_each_endpoint_gets_a_loopback_address_of_its_own_and_keeps_it() -> None:
    first, second = loopback_address("a-1.elb.amazonaws.com"), loopback_address("b-2.elb.amazonaws.com")
    assert first != second and first == loopback_address("A-1.elb.amazonaws.com")
    assert all(ipaddress.ip_address(a).is_loopback and a != "127.0.0.1" for a in (first, second))


def test_only_awsmachines_with_an_instance_and_a_machine_that_are_not_deleted_are_booted() -> None:
    def awsmachine(name: str, provider_id: str | None, owner: bool = True, deleting: bool = False) -> dict[str, object]:
        meta: dict[str, object] = {"name": name, "namespace": "ns"}
        if owner:
            meta["ownerReferences"] = [{"kind": "Machine", "name": f"m-{name}"}]
        if deleting:
            meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return {"metadata": meta, "spec": {"providerID": provider_id} if provider_id else {}}

    found = _instances([awsmachine("a", "aws:///us-east-1b/i-0a"), awsmachine("b", None),
                        awsmachine("c", "aws:///us-east-1a/i-0c", owner=False),
                        awsmachine("d", "aws:///us-east-1a/i-0d", deleting=True),
                        awsmachine("e", "dev:///x")])
    assert [(i.instance_id, i.zone, i.region, i.machine_name, i.provider_id) for i in found] == [
        ("i-0a", "us-east-1b", "us-east-1", "m-a", "aws:///us-east-1b/i-0a")]


def test_herds_clients_resolve_an_aliased_name_to_its_address_and_others_as_before() -> None:
    async def resolve(name: str) -> str:
        return str((await _AliasResolver().resolve(name, 6443))[0]["host"])

    set_host_alias("demo-apiserver.invalid", "127.9.8.7")
    try:
        assert asyncio.run(resolve("Demo-APIServer.invalid")) == "127.9.8.7"
        assert asyncio.run(resolve("localhost")) in ("127.0.0.1", "::1")
    finally:
        set_host_alias("demo-apiserver.invalid", None)
    with pytest.raises(OSError):
        asyncio.run(resolve("demo-apiserver.invalid"))
