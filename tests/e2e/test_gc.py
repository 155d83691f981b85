"""Owner references and namespace deletion with the real kubectl against `herd serve`.

Each test works in its own namespace on a shared plane. Waiting is event-driven where kubectl can do it
(`kubectl wait --for=delete`, and `kubectl delete` itself) and otherwise a poll with a deadline.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.plane import ServedPlane
from support.waiting import eventually_sync

MANIFESTS = Path(__file__).parent / "manifests"
HOLD = "example.com/hold"


@pytest.fixture
def ns(shared_plane: ServedPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "gc-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].rstrip("-")
    shared_plane.kubectl("create", "namespace", name)
    yield name
    shared_plane.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


eventually = functools.partial(eventually_sync, poll=0.1)


def get(plane: ServedPlane, ns: str, ref: str) -> dict[str, Any] | None:
    """The object as JSON, or None when it does not exist."""
    result = plane.kubectl("get", ref, "-n", ns, "-o", "json", "--ignore-not-found")
    return json.loads(result.stdout) if result.stdout.strip() else None


def uid(plane: ServedPlane, ns: str, ref: str) -> str:
    return plane.kubectl("get", ref, "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout


def create_configmap(plane: ServedPlane, ns: str, name: str, *owners: tuple[str, str, bool],
                     finalizers: tuple[str, ...] = ()) -> None:
    """A ConfigMap owned by ConfigMaps given as (name, uid, blockOwnerDeletion)."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if owners:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": owner_uid,
                                    "blockOwnerDeletion": block} for owner, owner_uid, block in owners]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    plane.kubectl("create", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": meta, "data": {"k": "v"}}))


def create_owners(plane: ServedPlane, ns: str) -> tuple[str, str]:
    """ConfigMaps `owner` and `other`; their uids."""
    create_configmap(plane, ns, "owner")
    create_configmap(plane, ns, "other")
    return uid(plane, ns, "cm/owner"), uid(plane, ns, "cm/other")


def owner_names(obj: dict[str, Any] | None) -> list[str]:
    assert obj is not None
    return [r["name"] for r in obj["metadata"].get("ownerReferences") or []]


def test_background_cascade(shared_plane: ServedPlane, ns: str) -> None:
    plane = shared_plane
    owner_uid, other_uid = create_owners(plane, ns)
    create_configmap(plane, ns, "child", ("owner", owner_uid, False))
    create_configmap(plane, ns, "grandchild", ("child", uid(plane, ns, "cm/child"), False))
    create_configmap(plane, ns, "shared", ("owner", owner_uid, False), ("other", other_uid, False))
    plane.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=background")
    plane.kubectl("wait", "--for=delete", "cm/child", "cm/grandchild", "-n", ns, "--timeout=30s")
    eventually(lambda: owner_names(get(plane, ns, "cm/shared")) == ["other"],
               "the dangling reference to be removed from the dependent with another live owner")


def test_foreground_cascade_waits_for_blocking_dependents(shared_plane: ServedPlane, ns: str) -> None:
    plane = shared_plane
    create_configmap(plane, ns, "owner")
    owner_uid = uid(plane, ns, "cm/owner")
    create_configmap(plane, ns, "blocker", ("owner", owner_uid, True), finalizers=(HOLD,))
    create_configmap(plane, ns, "plain", ("owner", owner_uid, False))
    plane.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=foreground", "--wait=false")
    plane.kubectl("wait", "--for=delete", "cm/plain", "-n", ns, "--timeout=30s")
    eventually(lambda: bool((get(plane, ns, "cm/blocker") or {})["metadata"].get("deletionTimestamp")),
               "the blocking dependent to be deleting")
    owner = get(plane, ns, "cm/owner")
    assert owner is not None, "the owner must wait for its blocking dependent"
    assert owner["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in owner["metadata"]["finalizers"]
    plane.kubectl("patch", "cm", "blocker", "-n", ns, "--type", "json",
                  "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]')
    plane.kubectl("wait", "--for=delete", "cm/blocker", "cm/owner", "-n", ns, "--timeout=30s")


def test_orphan_cascade_keeps_dependents(shared_plane: ServedPlane, ns: str) -> None:
    plane = shared_plane
    owner_uid, other_uid = create_owners(plane, ns)
    create_configmap(plane, ns, "child", ("owner", owner_uid, True))
    create_configmap(plane, ns, "shared", ("owner", owner_uid, False), ("other", other_uid, False))
    plane.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=orphan")  # waits until the owner is gone
    assert get(plane, ns, "cm/owner") is None
    assert owner_names(get(plane, ns, "cm/child")) == []
    assert owner_names(get(plane, ns, "cm/shared")) == ["other"]


def test_custom_resources_are_collected(shared_plane: ServedPlane, ns: str) -> None:
    plane = shared_plane
    plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))
    plane.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    create_configmap(plane, ns, "owner")
    owner_uid = uid(plane, ns, "cm/owner")
    for name in ("w1", "w2"):
        widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": "small"},
                  "metadata": {"name": name, "namespace": ns, "ownerReferences": [
                      {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}]}}
        plane.kubectl("create", "-f", "-", input=yaml.safe_dump(widget))
    plane.kubectl("delete", "cm", "owner", "-n", ns)
    plane.kubectl("wait", "--for=delete", "widget/w1", "widget/w2", "-n", ns, "--timeout=30s")


def test_delete_namespace_removes_its_contents(shared_plane: ServedPlane) -> None:
    plane = shared_plane
    plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))
    plane.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    plane.kubectl("create", "namespace", "gc-doomed")
    create_configmap(plane, "gc-doomed", "cm-a")
    create_configmap(plane, "gc-doomed", "cm-b")
    plane.kubectl("create", "secret", "generic", "s", "-n", "gc-doomed", "--from-literal=k=v")
    widget = yaml.safe_load((MANIFESTS / "widget.yaml").read_text())
    widget["metadata"]["namespace"] = "gc-doomed"
    plane.kubectl("create", "-f", "-", input=yaml.safe_dump(widget))
    plane.kubectl("delete", "namespace", "gc-doomed", timeout=60)  # kubectl waits until it is gone
    missing = plane.kubectl("get", "namespace", "gc-doomed", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr
    for resource in ("configmaps", "secrets", "widgets"):
        listing = plane.kubectl("get", resource, "-n", "gc-doomed", "-o", "name")
        assert listing.stdout.strip() == "", f"{resource} left behind: {listing.stdout}"


def test_namespace_waits_for_content_finalizers(shared_plane: ServedPlane) -> None:
    plane = shared_plane
    plane.kubectl("create", "namespace", "gc-held")
    create_configmap(plane, "gc-held", "stuck", finalizers=(HOLD,))
    plane.kubectl("delete", "namespace", "gc-held", "--wait=false")

    def reported() -> bool:
        ns = json.loads(plane.kubectl("get", "namespace", "gc-held", "-o", "json").stdout)
        types = {c["type"]: c for c in ns["status"].get("conditions") or []}
        return types.get("NamespaceFinalizersRemaining", {}).get("status") == "True"

    eventually(reported, "the namespace to report the remaining finalizer")
    ns = json.loads(plane.kubectl("get", "namespace", "gc-held", "-o", "json").stdout)
    assert ns["status"]["phase"] == "Terminating"
    remaining = next(c for c in ns["status"]["conditions"] if c["type"] == "NamespaceContentRemaining")
    assert remaining["message"] == "Some resources are remaining: configmaps. has 1 resource instances"
    plane.kubectl("patch", "cm", "stuck", "-n", "gc-held", "--type", "merge", "-p",
                  '{"metadata": {"finalizers": null}}')
    plane.kubectl("wait", "--for=delete", "namespace/gc-held", "--timeout=30s")
