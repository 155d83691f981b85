"""Deleting a CRD ends the watches of its custom resources, as kube-apiserver does, instead of leaving them
open and silent until their timeout."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from support.inprocess import until_served

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/watch.herd.dev/v1/namespaces/default/widgets"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.watch.herd.dev"},
    "spec": {"group": "watch.herd.dev", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


async def test_a_watch_of_a_deleted_crds_resource_ends_promptly(http: aiohttp.ClientSession) -> None:
    async with http.post(CRDS, json=CRD) as response:
        assert response.status == 201, await response.text()
    await until_served(http, WIDGETS)
    async with http.post(WIDGETS, json={"apiVersion": "watch.herd.dev/v1", "kind": "Widget",
                                        "metadata": {"name": "w"}}) as response:
        assert response.status == 201, await response.text()
    async with http.get(WIDGETS, params={"watch": "true", "timeoutSeconds": "60"}) as watch:
        assert watch.status == 200
        first = json.loads(await asyncio.wait_for(watch.content.readline(), 5))
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "w")
        async with http.delete(f"{CRDS}/{CRD['metadata']['name']}") as response:
            assert response.status == 200, await response.text()
        started = time.monotonic()
        rest = await asyncio.wait_for(watch.content.read(), 10)  # the stream ends: read() returns at its end
        ended_after = time.monotonic() - started
    # the instance is deleted first (the CRD's cleanup), then the watch ends, long before its 60 s timeout
    events = [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", "w")]
    assert ended_after < 10
    async with http.get(WIDGETS) as response:
        assert response.status == 404
