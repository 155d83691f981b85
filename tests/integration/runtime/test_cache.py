"""The shared cache against `herd serve`: one informer per kind, reads by key, selector and index."""

from __future__ import annotations

import pytest
from support.waiting import eventually

from herd.runtime import CONFIGMAP, NAMESPACE, SECRET, Cache, Client, NotSynced, index_by_label

CLUSTER = "cluster.x-k8s.io/cluster-name"


def configmap(name: str, namespace: str = "default", **labels: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace,
                                                                  "labels": labels}}


async def test_reads_by_key_namespace_selector_and_index_follow_the_server(client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    cache = Cache(client)
    assert cache.informer(CONFIGMAP) is cache.informer(CONFIGMAP), "one informer per kind"
    cache.add_index(CONFIGMAP, "cluster", index_by_label(CLUSTER))
    await cache.start()
    try:
        assert await cache.wait_for_sync(timeout=10)
        await client.create(configmap("m1", **{CLUSTER: "c1", "role": "worker"}))
        await client.create(configmap("m2", **{CLUSTER: "c1", "role": "control-plane"}))
        await client.create(configmap("m3", "other", **{CLUSTER: "c2", "role": "worker"}))

        def names(objs: list[dict[str, object]]) -> list[str]:
            return [o["metadata"]["name"] for o in objs]  # type: ignore[index]

        await eventually(lambda: len(cache.list(CONFIGMAP, label_selector=CLUSTER)) == 3)
        assert names(cache.by_index(CONFIGMAP, "cluster", "c1")) == ["m1", "m2"]
        assert names(cache.list(CONFIGMAP, namespace="other")) == ["m3"]
        assert names(cache.list(CONFIGMAP, label_selector="role=worker")) == ["m1", "m3"]
        assert names(cache.list(CONFIGMAP, label_selector={"role": "worker"}, namespace="default")) == ["m1"]

        await client.patch(CONFIGMAP, "m2", {"metadata": {"labels": {CLUSTER: "c2"}}}, namespace="default")
        await client.delete(CONFIGMAP, "m3", "other")
        await eventually(lambda: names(cache.by_index(CONFIGMAP, "cluster", "c2")) == ["m2"])
        assert names(cache.by_index(CONFIGMAP, "cluster", "c1")) == ["m1"]

        copy = cache.get(CONFIGMAP, "default", "m1")
        assert copy is not None
        copy["metadata"]["labels"]["role"] = "changed"
        assert cache.get(CONFIGMAP, "default", "m1")["metadata"]["labels"]["role"] == "worker"  # type: ignore[index]
        assert cache.get(CONFIGMAP, "default", "missing") is None

        namespaces = cache.informer(NAMESPACE)  # started at once because the cache runs
        assert await namespaces.wait_for_sync(10)
        assert cache.get(NAMESPACE, None, "other") is not None
        with pytest.raises(NotSynced):
            cache.get(SECRET, "default", "x")  # just created: its first list has not completed
    finally:
        await cache.stop()
