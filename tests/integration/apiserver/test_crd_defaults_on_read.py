"""A default a CRD update adds shows on objects written before it, as kube-apiserver shows them (it applies the
storage version's defaults when it reads an object from storage), without a new resourceVersion."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aiohttp
from support.inprocess import admin_session, running_server, until_served

from herd.apiserver.storage.sqlite import SqliteBackend
from herd.apiserver.storage.store import Store

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NAME = "dials.defaults.herd.dev"
DIALS = "/apis/defaults.herd.dev/v1/namespaces/default/dials"


def crd(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": NAME},
        "spec": {"group": "defaults.herd.dev", "scope": "Namespaced",
                 "names": {"plural": "dials", "singular": "dial", "kind": "Dial", "listKind": "DialList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": spec_schema}}}}]},
    }


PLAIN = {"type": "object", "properties": {
    "size": {"type": "integer"},
    "ports": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "protocol": {"type": "string"}}}},
}}
DEFAULTED = copy.deepcopy(PLAIN)
DEFAULTED["properties"]["mode"] = {"type": "string", "default": "auto"}
DEFAULTED["properties"]["ports"]["items"]["properties"]["protocol"]["default"] = "TCP"


async def install_without_defaults(http: aiohttp.ClientSession) -> None:
    async with http.post(CRDS, json=crd(PLAIN)) as response:
        assert response.status == 201, await response.text()
    await until_served(http, DIALS)


async def add_defaults(http: aiohttp.ClientSession) -> None:
    """Update the CRD: its schema now declares `spec.mode` and `spec.ports[].protocol` defaults."""
    async with http.get(f"{CRDS}/{NAME}") as response:
        current = await response.json()
    current["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = DEFAULTED
    async with http.put(f"{CRDS}/{NAME}", json=current) as response:
        assert response.status == 200, await response.text()


async def test_a_default_added_by_a_crd_update_shows_on_objects_written_before_it(
        http: aiohttp.ClientSession) -> None:
    await install_without_defaults(http)
    body = {"apiVersion": "defaults.herd.dev/v1", "kind": "Dial", "metadata": {"name": "d"},
            "spec": {"size": 1, "ports": [{"name": "http"}]}}
    async with http.post(DIALS, json=body) as response:
        assert response.status == 201, await response.text()
        written = await response.json()
    assert "mode" not in written["spec"] and "protocol" not in written["spec"]["ports"][0]

    await add_defaults(http)

    async with http.get(f"{DIALS}/d") as response:
        read = await response.json()
    assert read["spec"] == {"size": 1, "mode": "auto", "ports": [{"name": "http", "protocol": "TCP"}]}
    assert read["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]  # not a write
    async with http.get(DIALS) as response:
        listed = (await response.json())["items"]
    assert [item["spec"]["mode"] for item in listed] == ["auto"]


async def test_defaults_on_read_never_replace_what_an_object_sets(http: aiohttp.ClientSession) -> None:
    await install_without_defaults(http)
    body = {"apiVersion": "defaults.herd.dev/v1", "kind": "Dial", "metadata": {"name": "d"},
            "spec": {"ports": [{"name": "dns", "protocol": "UDP"}]}}
    async with http.post(DIALS, json=body) as response:
        assert response.status == 201, await response.text()
    await add_defaults(http)
    async with http.get(f"{DIALS}/d") as response:
        read = await response.json()
    assert read["spec"] == {"mode": "auto", "ports": [{"name": "dns", "protocol": "UDP"}]}


async def test_after_a_restart_objects_show_the_defaults_their_stored_rows_lack(tmp_path: Path) -> None:
    async with running_server(Store(SqliteBackend(tmp_path / "state.db"))) as server, \
            admin_session(server) as http:
        await install_without_defaults(http)
        async with http.post(DIALS, json={"apiVersion": "defaults.herd.dev/v1", "kind": "Dial",
                                          "metadata": {"name": "d"}, "spec": {"size": 2}}) as response:
            assert response.status == 201, await response.text()
        await add_defaults(http)
    async with running_server(Store(SqliteBackend(tmp_path / "state.db"))) as server, \
            admin_session(server) as http, http.get(f"{DIALS}/d") as response:
        assert (await response.json())["spec"] == {"size": 2, "mode": "auto"}
