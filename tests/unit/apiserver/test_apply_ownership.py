"""Merge, field removal, Update bookkeeping, Apply conflicts and the upgrade from client-side apply, as the
Kubernetes "Server-Side Apply" documentation describes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from herd.apiserver.apply.conflicts import conflict_error
from herd.apiserver.apply.fieldsets import WHOLE
from herd.apiserver.apply.managed import ApplyConflicts, Writer, manager_from_user_agent, record_apply, record_update
from herd.apiserver.apply.merge import merge
from herd.apiserver.apply.shapes import shape_for
from herd.apiserver.errors import StatusError

CONFIGMAP = shape_for("ConfigMap", True, None)
DEPLOYMENT = shape_for("Deployment", True, None)


def cm(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


def writer(manager: str) -> Writer:
    return Writer(manager, "v1", "", "2026-01-01T00:00:00Z")


def applied(live: dict[str, Any] | None, config: dict[str, Any], manager: str, force: bool = False,
            shape: Any = CONFIGMAP) -> dict[str, Any]:
    return record_apply(live, merge(live or {}, config, shape), config, shape, writer(manager), WHOLE, force)


def owners(obj: dict[str, Any]) -> dict[str, Any]:
    return {f'{e["manager"]}/{e["operation"]}': e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


@pytest.mark.parametrize(("live", "config", "merged"), [
    ({"spec": {"replicas": 1, "paused": True}}, {"spec": {"replicas": 2}}, {"spec": {"replicas": 2, "paused": True}}),
    ({"spec": {"selector": {"matchLabels": {"a": "1"}}}}, {"spec": {"selector": {"matchLabels": {"b": "2"}}}},
     {"spec": {"selector": {"matchLabels": {"b": "2"}}}}),  # an atomic map is replaced
    ({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}},
     {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}}}},
     {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"},
                                                    {"name": "c", "image": "3"}]}}}}),  # merged by name
    ({"metadata": {"finalizers": ["x"]}}, {"metadata": {"finalizers": ["y", "x"]}},
     {"metadata": {"finalizers": ["x", "y"]}}),  # a set: union
    ({"spec": {"replicas": 1}}, {"spec": {"replicas": None}}, {"spec": {}}),  # null removes
])
def test_the_apply_merge(live: dict[str, Any], config: dict[str, Any], merged: dict[str, Any]) -> None:
    before = json.dumps(live)
    assert merge(live, config, DEPLOYMENT) == merged
    assert json.dumps(live) == before


def test_conflicts_name_each_field_and_manager_and_force_takes_ownership() -> None:
    live = applied(None, cm(a="1", b="1"), "alice")
    with pytest.raises(ApplyConflicts) as raised:
        applied(live, cm(a="2", b="2"), "bob")
    error = conflict_error(raised.value.conflicts)
    assert isinstance(error, StatusError) and (error.code, error.reason) == (409, "Conflict")
    assert error.message == ('Apply failed with 2 conflicts: conflicts with "alice":\n- .data.a\n- .data.b')
    assert [(c.field, c.message) for c in error.causes] == [(".data.a", 'conflict with "alice"'),
                                                           (".data.b", 'conflict with "alice"')]
    forced = applied(live, cm(a="2"), "bob", force=True)
    assert owners(forced) == {"alice/Apply": {"f:data": {"f:b": {}}}, "bob/Apply": {"f:data": {"f:a": {}}}}


def test_an_updater_is_named_with_its_version_in_conflicts() -> None:
    live = cm(a="1")
    record_update(None, live, CONFIGMAP, writer("kubectl-edit"), WHOLE)
    with pytest.raises(ApplyConflicts) as raised:
        applied(live, cm(a="2"), "alice")
    assert conflict_error(raised.value.conflicts).message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a')


def test_removal_only_of_fields_no_one_else_owns() -> None:
    live = applied(None, cm(a="1", b="1", c="1"), "alice")
    live = applied(live, cm(b="1"), "bob")  # same value: shared
    live["data"]["d"] = "unowned"
    after = applied(live, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "alice")
    assert after["data"] == {"b": "1", "d": "unowned"}
    assert owners(after) == {"bob/Apply": {"f:data": {"f:b": {}}}}  # an applier owning nothing has no entry


def test_updates_take_fields_and_merge_per_manager() -> None:
    live = cm(a="1")
    record_update(None, live, CONFIGMAP, writer("maker"), WHOLE)
    assert owners(live) == {"maker/Update": {"f:data": {".": {}, "f:a": {}}}}
    new = json.loads(json.dumps(live))
    new["data"] = {"a": "2", "b": "2"}
    record_update(live, new, CONFIGMAP, writer("editor"), WHOLE)
    assert owners(new) == {"maker/Update": {"f:data": {}}, "editor/Update": {"f:data": {"f:a": {}, "f:b": {}}}}
    newer = json.loads(json.dumps(new))
    newer["data"] = {"a": "3"}
    record_update(new, newer, CONFIGMAP, writer("editor"), WHOLE)
    assert owners(newer)["editor/Update"] == {"f:data": {"f:a": {}}}  # one entry, b removed from it


def test_kubectl_takes_over_fields_of_its_last_client_side_apply() -> None:
    last = cm(a="1")
    live = cm(a="1")
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(last)}
    record_update(None, live, CONFIGMAP, writer("kubectl-client-side-apply"), WHOLE)
    upgraded = applied(live, cm(a="2"), "kubectl")
    assert upgraded["data"] == {"a": "2"} and owners(upgraded)["kubectl/Apply"] == {"f:data": {"f:a": {}}}
    with pytest.raises(ApplyConflicts):
        applied(live, cm(a="2"), "someone-else")


@pytest.mark.parametrize(("agent", "manager"), [
    ("kubectl/v1.33.0 (linux/amd64) kubernetes/abc", "kubectl"),
    ("OpenAPI-Generator/33.1.0/python", "OpenAPI-Generator"),
    ("", ""),
    ("tab\there", "tabhere"),
])
def test_the_manager_of_a_user_agent(agent: str, manager: str) -> None:
    assert manager_from_user_agent(agent) == manager


def test_more_than_ten_updaters_fold_their_oldest_into_ancient_changes() -> None:
    live = cm()
    for i in range(12):
        new = json.loads(json.dumps(live))
        new["data"][f"k{i}"] = "v"
        record_update(live, new, CONFIGMAP, Writer(f"m{i:02}", "v1", "", f"2026-01-01T00:00:{i:02}Z"), WHOLE)
        live = new
    entries = live["metadata"]["managedFields"]
    assert [e["manager"] for e in entries] == ["ancient-changes", *(f"m{i:02}" for i in range(3, 12))]
    assert entries[0]["fieldsV1"] == {"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}}
    assert entries[0]["time"] == "2026-01-01T00:00:02Z"  # the newest change folded in
