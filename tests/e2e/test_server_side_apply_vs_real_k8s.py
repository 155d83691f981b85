"""The same kubectl session against the real kube-apiserver and `herd serve`: the managedFields each keeps for a
ConfigMap and a custom resource (created, patched, applied, forced, shrunk) and the conflicts kubectl prints
must be the same."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from support.plane import ServedPlane, kubectl
from support.realk8s import real_kubernetes, require_binaries

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
GROUP = "ssa.herd.dev"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"fleets.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced", "names": {"plural": "fleets", "singular": "fleet", "kind": "Fleet"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {
                     "replicas": {"type": "integer"},
                     "pools": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                               "items": {"type": "object", "required": ["name"], "properties": {
                                   "name": {"type": "string"}, "size": {"type": "integer"},
                                   "zone": {"type": "string"}}}},
                     "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                     "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                  "additionalProperties": {"type": "string"}}}}}}}}]}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "probe", "namespace": "default", "labels": {"app": "x"}},
             "data": {"a": "1", "b": "2"}}


def fleet(**spec: Any) -> str:
    return yaml.safe_dump({"apiVersion": f"{GROUP}/v1", "kind": "Fleet",
                           "metadata": {"name": "a", "namespace": "default"}, "spec": spec})


def managed(run: Kubectl, *what: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(run("get", *what, "-n", "default", "-o", "json",
                                                   "--show-managed-fields").stdout)["metadata"]["managedFields"]
    return [{k: v for k, v in e.items() if k != "time"} for e in entries]


def session(run: Kubectl) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    run("apply", "--server-side", "-f", "-", input=yaml.safe_dump(CONFIGMAP))
    seen["configmap applied"] = managed(run, "configmap", "probe")
    changed = {**CONFIGMAP, "data": {"a": "9"}}
    seen["configmap conflict"] = run("apply", "--server-side", "--field-manager=other", "-f", "-",
                                     input=yaml.safe_dump(changed), check=False).stderr
    run("patch", "configmap", "probe", "-n", "default", "--type=merge", "-p", '{"data":{"a":"5","c":"3"}}')
    seen["configmap patched"] = managed(run, "configmap", "probe")

    run("apply", "--server-side", "-f", "-", input=yaml.safe_dump(CRD))
    run("wait", "--for=condition=Established", f"crd/fleets.{GROUP}")
    deadline = time.monotonic() + 30
    while run("get", "fleets", "-n", "default", check=False).returncode and time.monotonic() < deadline:
        time.sleep(0.5)  # kube-apiserver serves a new type a moment after Established
    run("create", "-f", "-", input=fleet(replicas=1, pools=[{"name": "p", "zone": "z", "size": 1}], tags=["x"],
                                         selector={"a": "b"}))
    run("patch", "fleet", "a", "-n", "default", "--type=merge", "-p", '{"spec":{"replicas":2,"tags":["x","y"]}}')
    seen["fleet created and patched"] = managed(run, "fleet", "a")
    applied = fleet(replicas=3, pools=[{"name": "p", "size": 2}], tags=["x"])
    seen["fleet conflict"] = run("apply", "--server-side", "--field-manager=m1", "-f", "-", input=applied,
                                 check=False).stderr
    run("apply", "--server-side", "--force-conflicts", "--field-manager=m1", "-f", "-", input=applied)
    run("apply", "--server-side", "--field-manager=m1", "-f", "-", input=fleet(pools=[{"name": "p", "size": 2}]))
    seen["fleet shrunk"] = json.loads(run("get", "fleet", "a", "-n", "default", "-o", "json").stdout)["spec"]
    seen["fleet shrunk managers"] = managed(run, "fleet", "a")
    return seen


def test_herd_keeps_the_same_managed_fields_as_kube_apiserver(plane: ServedPlane, tmp_path: Path) -> None:
    require_binaries()
    with real_kubernetes(tmp_path / "real") as real:
        expected = session(lambda *args, **kw: kubectl(real.kubeconfig, tmp_path / "cache", *args, **kw))
    got = session(plane.kubectl)
    assert "conflict" in expected["fleet conflict"]
    for step, value in expected.items():
        assert got[step] == value, step
