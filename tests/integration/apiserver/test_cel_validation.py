"""CEL `x-kubernetes-validations` through the in-process API server: refused writes are 422 Invalid with causes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from support.inprocess import admin_session, running_server, until_served

from herd.api.registry import all_crds

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"


def crd(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": spec_schema}}}}],
        },
    }


SPEC = {
    "type": "object",
    "properties": {
        "args": {
            "type": "array", "maxItems": 100,  # bounded, as upstream's: unbounded, the rule's cost refuses the CRD
            "items": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 256},
                                                       "value": {"type": "string"}}},
            "x-kubernetes-validations": [{"rule": "self.all(x, self.exists_one(y, x.name == y.name))",
                                          "message": "extraArgs name must be unique"}],
        },
        "size": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "self >= oldSelf", "message": "size may not shrink", "reason": "FieldValueForbidden"}]},
    },
}


def gadget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with running_server() as server, admin_session(server) as http:
        yield http


async def create_crd(http: aiohttp.ClientSession, spec_schema: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(CRDS, json=crd(spec_schema)) as response:
        return response.status, await response.json()


async def test_duplicate_names_are_refused_with_the_rules_message_and_field(session: aiohttp.ClientSession) -> None:
    assert (await create_crd(session, SPEC))[0] == 201
    await until_served(session, GADGETS)
    bad = gadget("g1", args=[{"name": "v", "value": "1"}, {"name": "v", "value": "2"}])
    async with session.post(GADGETS, json=bad) as response:
        assert response.status == 422
        body = await response.json()
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.args",
                                          "message": 'Invalid value: "array": extraArgs name must be unique'}]
    good = gadget("g1", args=[{"name": "v", "value": "1"}, {"name": "w", "value": "2"}])
    async with session.post(GADGETS, json=good) as response:
        assert response.status == 201


async def test_a_transition_rule_refuses_an_illegal_update_and_allows_a_legal_one(
        session: aiohttp.ClientSession) -> None:
    assert (await create_crd(session, SPEC))[0] == 201
    await until_served(session, GADGETS)
    async with session.post(GADGETS, json=gadget("g2", size=3)) as response:
        assert response.status == 201
    patch = {"headers": {"Content-Type": "application/merge-patch+json"}}
    async with session.patch(f"{GADGETS}/g2", json={"spec": {"size": 2}}, **patch) as response:
        assert response.status == 422
        causes = (await response.json())["details"]["causes"]
    assert causes == [{"reason": "FieldValueForbidden", "field": "spec.size",
                       "message": "Forbidden: size may not shrink"}]
    async with session.patch(f"{GADGETS}/g2", json={"spec": {"size": 5}}, **patch) as response:
        assert response.status == 200


async def test_a_crd_whose_rule_does_not_compile_is_refused(session: aiohttp.ClientSession) -> None:
    broken = {"type": "object", "x-kubernetes-validations": [{"rule": "self.size() >"}]}
    status, body = await create_crd(session, broken)
    assert status == 422
    [cause] = body["details"]["causes"]
    assert cause["field"] == "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    assert "compilation failed" in cause["message"] and "self.size() >" in cause["message"]


async def test_a_crd_whose_rule_selects_a_field_its_schema_lacks_is_refused(session: aiohttp.ClientSession) -> None:
    typo = {"type": "object", "properties": {"size": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.sise > 0"}]}
    status, body = await create_crd(session, typo)
    assert status == 422
    [cause] = body["details"]["causes"]
    assert cause["field"] == "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    assert cause["message"] == ('Invalid value: "self.sise > 0": compilation failed: ERROR: <input>:1:5: undefined '
                                "field 'sise'\n | self.sise > 0\n | ....^")


async def test_herds_kubeadmconfig_refuses_repeated_extra_args_with_upstreams_message(
        session: aiohttp.ClientSession) -> None:
    [kubeadm_configs] = [c for c in all_crds() if c["metadata"]["name"] == "kubeadmconfigs.bootstrap.cluster.x-k8s.io"]
    async with session.post(CRDS, json=kubeadm_configs) as response:
        assert response.status == 201
    path = "/apis/bootstrap.cluster.x-k8s.io/v1beta2/namespaces/default/kubeadmconfigs"
    await until_served(session, path)
    extra_args = [{"name": "v", "value": "2"}, {"name": "audit-log-path", "value": "-"}, {"name": "v", "value": "4"}]
    config = {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta2", "kind": "KubeadmConfig", "metadata": {"name": "k"},
              "spec": {"clusterConfiguration": {"apiServer": {"extraArgs": extra_args}}}}
    async with session.post(path, json=config) as response:
        assert response.status == 422
        body = await response.json()
    assert body["message"] == ('KubeadmConfig.bootstrap.cluster.x-k8s.io "k" is invalid: '
                               'spec.clusterConfiguration.apiServer.extraArgs: '
                               'Invalid value: "array": extraArgs name must be unique')
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid",
                                          "field": "spec.clusterConfiguration.apiServer.extraArgs",
                                          "message": 'Invalid value: "array": extraArgs name must be unique'}]
