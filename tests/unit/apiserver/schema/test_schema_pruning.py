"""Structural pruning drops undeclared fields and reports their paths, like kube-apiserver."""

from __future__ import annotations

from typing import Any

import pytest

from herd.apiserver.schema import prune

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "list": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "maps": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "freeWithKnown": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object", "properties": {"x": {"type": "string"}}}},
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}},
                },
                "anything": {"type": "object", "additionalProperties": True},
                "scalar": {"type": "string"},
            },
        },
    },
}


def base() -> dict[str, Any]:
    return {"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "a", "whatever": 1}, "spec": {}}


@pytest.mark.parametrize(
    ("spec", "kept", "removed"),
    [
        ({"replicas": 1, "foo": 2}, {"replicas": 1}, ["spec.foo"]),
        (
            {"list": [{"name": "a", "bar": 1}, {"name": "b"}, {"bar": {"deep": 1}}]},
            {"list": [{"name": "a"}, {"name": "b"}, {}]},
            ["spec.list[0].bar", "spec.list[2].bar"],
        ),
        ({"labels": {"any": "key", "goes": "here"}}, {"labels": {"any": "key", "goes": "here"}}, []),
        ({"maps": {"k": {"a": "x", "b": "y"}}}, {"maps": {"k": {"a": "x"}}}, ["spec.maps.k.b"]),
        ({"free": {"x": {"y": [1, {"z": 2}]}}}, {"free": {"x": {"y": [1, {"z": 2}]}}}, []),
        (
            {"freeWithKnown": {"other": 1, "known": {"x": "1", "y": 2}}},
            {"freeWithKnown": {"other": 1, "known": {"x": "1"}}},
            ["spec.freeWithKnown.known.y"],
        ),
        (
            {
                "template": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p"},
                    "spec": {"image": "i", "x": 1},
                }
            },
            {
                "template": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p"},
                    "spec": {"image": "i"},
                }
            },
            ["spec.template.spec.x"],
        ),
        ({"template": {"kind": 5}}, {"template": {}}, ["spec.template.kind"]),
        (
            {"anything": {"k": {"nested": 1}, "s": "v"}},
            {"anything": {"k": {}, "s": "v"}},
            ["spec.anything.k.nested"],
        ),
        ({"scalar": {"not": "a string"}}, {"scalar": {}}, ["spec.scalar.not"]),
    ],
)
def test_prune_keeps_declared_fields_and_reports_removed_paths(
    spec: dict[str, Any], kept: dict[str, Any], removed: list[str]
) -> None:
    obj = base()
    obj["spec"] = spec
    assert prune(obj, SCHEMA) == removed
    assert obj["spec"] == kept


def test_prune_always_keeps_root_type_and_object_meta_untouched() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"spec": {"type": "object"}}}
    obj = base()
    obj["status"] = {"x": 1}
    assert prune(obj, schema) == ["status"]
    assert obj == {
        "apiVersion": "x.io/v1",
        "kind": "Thing",
        "metadata": {"name": "a", "whatever": 1},
        "spec": {},
    }


def test_prune_returns_removed_paths_sorted() -> None:
    obj = base()
    obj["zeta"] = 1
    obj["alpha"] = 2
    obj["spec"] = {"replicas": 1, "zz": 1, "aa": 2}
    assert prune(obj, SCHEMA) == ["alpha", "spec.aa", "spec.zz", "zeta"]


def test_prune_below_root_preserve_unknown_fields_keeps_everything_but_prunes_declared_fields() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    obj = base()
    obj["extra"] = {"kept": True}
    obj["spec"] = {"a": "x", "b": "y"}
    assert prune(obj, schema) == ["spec.b"]
    assert obj["extra"] == {"kept": True}


def test_prune_on_clean_object_removes_nothing_and_does_not_mutate() -> None:
    obj = base()
    obj["spec"] = {"replicas": 3, "labels": {"a": "b"}, "list": [{"name": "x"}]}
    before = repr(obj)
    assert prune(obj, SCHEMA) == []
    assert repr(obj) == before
