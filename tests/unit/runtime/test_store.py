"""The informer's store: objects by key and named indexes kept exact through adds, updates and deletes."""

from __future__ import annotations

from typing import Any

import pytest

from herd.runtime.labels import Selector
from herd.runtime.objects import ObjectKey
from herd.runtime.store import (
    Indexer,
    index_by_controller_uid,
    index_by_field,
    index_by_label,
    index_by_owner_uid,
)

CLUSTER = "cluster.x-k8s.io/cluster-name"


def machine(name: str, cluster: str | None = None, owner_uid: str | None = None, namespace: str = "ns",
            provider_id: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {}}
    if cluster:
        meta["labels"][CLUSTER] = cluster
    if owner_uid:
        meta["ownerReferences"] = [{"uid": "other", "controller": False},
                                   {"uid": owner_uid, "controller": True, "kind": "MachineSet"}]
    obj: dict[str, Any] = {"metadata": meta, "spec": {}}
    if provider_id:
        obj["spec"]["providerID"] = provider_id
    return obj


def test_machines_are_found_by_cluster_name_label_as_they_move() -> None:
    store = Indexer()
    store.add_index("cluster", index_by_label(CLUSTER))
    store.upsert(machine("m1", "c1"))
    store.upsert(machine("m2", "c1"))
    store.upsert(machine("m3", "c2"))
    assert [m["metadata"]["name"] for m in store.by_index("cluster", "c1")] == ["m1", "m2"]
    store.upsert(machine("m2", "c2"))  # relabelled
    assert store.index_keys("cluster", "c1") == {ObjectKey("ns", "m1")}
    assert store.index_keys("cluster", "c2") == {ObjectKey("ns", "m2"), ObjectKey("ns", "m3")}
    store.remove(ObjectKey("ns", "m3"))
    store.upsert(machine("m1"))  # label removed
    assert store.index_keys("cluster", "c1") == set()
    assert store.index_keys("cluster", "c2") == {ObjectKey("ns", "m2")}


def test_machines_are_found_by_controller_owner_uid_but_not_by_other_owners() -> None:
    store = Indexer()
    store.add_index("controller", index_by_controller_uid)
    store.add_index("owner", index_by_owner_uid)
    store.upsert(machine("m1", owner_uid="ms-1"))
    assert store.index_keys("controller", "ms-1") == {ObjectKey("ns", "m1")}
    assert store.index_keys("controller", "other") == set()
    assert store.index_keys("owner", "other") == {ObjectKey("ns", "m1")}


def test_nodes_are_found_by_provider_id() -> None:
    store = Indexer()
    store.add_index("providerID", index_by_field("spec.providerID"))
    store.upsert({"metadata": {"name": "n1"}, "spec": {"providerID": "dev://m1"}})
    store.upsert({"metadata": {"name": "n2"}, "spec": {}})
    store.upsert({"metadata": {"name": "n3"}})
    assert [n["metadata"]["name"] for n in store.by_index("providerID", "dev://m1")] == ["n1"]
    assert store.index_keys("providerID", "") == set()


def test_an_index_added_later_covers_objects_already_stored() -> None:
    store = Indexer()
    store.upsert(machine("m1", "c1"))
    store.add_index("cluster", index_by_label(CLUSTER))
    assert store.index_keys("cluster", "c1") == {ObjectKey("ns", "m1")}
    with pytest.raises(ValueError):
        store.add_index("cluster", index_by_label(CLUSTER))
    with pytest.raises(KeyError):
        store.by_index("nope", "x")


def test_list_filters_by_namespace_and_label_selector_sorted_by_key() -> None:
    store = Indexer()
    store.upsert(machine("b", "c1", namespace="ns1"))
    store.upsert(machine("a", "c2", namespace="ns1"))
    store.upsert(machine("c", "c1", namespace="ns2"))
    assert [m["metadata"]["name"] for m in store.list()] == ["a", "b", "c"]
    assert [m["metadata"]["name"] for m in store.list("ns1")] == ["a", "b"]
    assert [m["metadata"]["name"] for m in store.list(None, Selector.parse(f"{CLUSTER}=c1"))] == ["b", "c"]
    assert [m["metadata"]["name"] for m in store.list("ns2", Selector.parse(f"{CLUSTER}=c2"))] == []
    store.remove(ObjectKey("ns1", "a"))
    assert [m["metadata"]["name"] for m in store.list("ns1")] == ["b"]
    assert len(store) == 2 and ObjectKey("ns2", "c") in store


def test_upsert_and_remove_return_what_they_replaced() -> None:
    store = Indexer()
    assert store.upsert(machine("m", "c1")) is None
    old = store.upsert(machine("m", "c2"))
    assert old is not None and old["metadata"]["labels"][CLUSTER] == "c1"
    assert store.remove(ObjectKey("ns", "m")) is not None
    assert store.remove(ObjectKey("ns", "m")) is None
