"""The patch helper writes exactly what changed: merge patches computed from a snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from herd.api.cluster import MACHINE
from herd.apiserver.patch import merge_patch as apply_merge_patch
from herd.runtime.errors import NotFound
from herd.runtime.objects import Kind
from herd.runtime.patch import PatchHelper, merge_patch, patch_helper

CONFIGMAP = Kind("v1", "ConfigMap", "configmaps", status_subresource=False)


@pytest.mark.parametrize(("before", "after", "patch"), [
    ({"a": 1}, {"a": 1}, {}),
    ({"a": 1}, {"a": 2}, {"a": 2}),
    ({"a": 1}, {}, {"a": None}),
    ({}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}, {"a": {"c": 3}}),
    ({"a": {"b": 1}}, {"a": {}}, {"a": {"b": None}}),
    ({"a": [1, 2]}, {"a": [1, 2, 3]}, {"a": [1, 2, 3]}),  # lists are replaced whole
    ({"a": {"b": 1}}, {"a": "x"}, {"a": "x"}),
    ({"a": "x"}, {"a": {"b": 1}}, {"a": {"b": 1}}),
])
def test_merge_patch(before: dict[str, Any], after: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch(before, after) == patch


class FakeClient:
    """Records patches and answers with the patched object, like the server."""

    def __init__(self, stored: dict[str, Any], *, missing: bool = False) -> None:
        self.stored = stored
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.missing = missing

    async def kind_of(self, obj: dict[str, Any]) -> Kind:
        return MACHINE

    def _apply(self, patch: dict[str, Any]) -> dict[str, Any]:
        from herd.runtime.objects import deep_copy

        self.stored = apply_merge_patch(self.stored, patch)  # what the server does with the PATCH
        self.stored["metadata"]["resourceVersion"] = str(int(self.stored["metadata"]["resourceVersion"]) + 1)
        return deep_copy(self.stored)

    async def patch(self, kind: Kind, name: str, patch: dict[str, Any], *, namespace: str | None = None,
                    **_: Any) -> dict[str, Any]:
        if self.missing:
            raise NotFound(404, "NotFound", "gone")
        self.calls.append(("patch", patch))
        return self._apply(patch)

    async def patch_status(self, kind: Kind, name: str, patch: dict[str, Any], *,
                           namespace: str | None = None) -> dict[str, Any]:
        if self.missing:
            raise NotFound(404, "NotFound", "gone")
        self.calls.append(("status", patch))
        return self._apply(patch)


def machine() -> dict[str, Any]:
    return {"apiVersion": MACHINE.api_version, "kind": "Machine",
            "metadata": {"name": "m", "namespace": "ns", "generation": 4, "resourceVersion": "10"},
            "spec": {"clusterName": "c"}, "status": {"phase": "Pending", "observedGeneration": 3}}


async def test_unchanged_object_is_not_written_except_observed_generation() -> None:
    obj = machine()
    client = FakeClient(machine())
    async with patch_helper(client, obj, kind=MACHINE):  # type: ignore[arg-type]
        pass
    assert client.calls == [("status", {"status": {"observedGeneration": 4}})]


async def test_spec_metadata_and_status_changes_are_two_patches() -> None:
    obj = machine()
    client = FakeClient(machine())
    async with patch_helper(client, obj, kind=MACHINE) as m:  # type: ignore[arg-type]
        m["metadata"]["finalizers"] = ["machine.cluster.x-k8s.io"]
        m["spec"]["version"] = "v1.33.0"
        m["status"]["phase"] = "Running"
    assert client.calls == [
        ("patch", {"metadata": {"finalizers": ["machine.cluster.x-k8s.io"]}, "spec": {"version": "v1.33.0"}}),
        ("status", {"status": {"phase": "Running", "observedGeneration": 4}}),
    ]
    assert obj["metadata"]["resourceVersion"] == "12", "the object is refreshed from the server's answer"


async def test_a_failed_reconcile_writes_its_changes_but_not_observed_generation() -> None:
    obj = machine()
    client = FakeClient(machine())
    with pytest.raises(RuntimeError):
        async with patch_helper(client, obj, kind=MACHINE) as m:  # type: ignore[arg-type]
            m["status"]["phase"] = "Failed"
            raise RuntimeError("boom")
    assert client.calls == [("status", {"status": {"phase": "Failed"}})]


async def test_optimistic_lock_sends_the_resource_version_read() -> None:
    obj = machine()
    client = FakeClient(machine())
    helper = PatchHelper(client, obj, kind=MACHINE, optimistic_lock=True, observed_generation=False)  # type: ignore[arg-type]
    obj["spec"]["paused"] = True
    await helper.patch(obj)
    assert client.calls == [("patch", {"spec": {"paused": True}, "metadata": {"resourceVersion": "10"}})]


async def test_kinds_without_status_subresource_get_one_patch() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns",
                                                                 "resourceVersion": "1"}, "data": {"a": "1"}}
    client = FakeClient(dict(obj))
    async with patch_helper(client, obj, kind=CONFIGMAP) as cm:  # type: ignore[arg-type]
        cm["data"]["b"] = "2"
    assert client.calls == [("patch", {"data": {"b": "2"}})]


async def test_an_object_gone_after_its_last_finalizer_was_removed_is_not_an_error() -> None:
    obj = machine()
    obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    obj["metadata"]["finalizers"] = ["f"]
    client = FakeClient(machine(), missing=True)
    async with patch_helper(client, obj, kind=MACHINE) as m:  # type: ignore[arg-type]
        m["metadata"]["finalizers"] = []
    obj2 = machine()
    with pytest.raises(NotFound):
        async with patch_helper(FakeClient(machine(), missing=True), obj2, kind=MACHINE) as m:  # type: ignore[arg-type]
            m["spec"]["x"] = 1
