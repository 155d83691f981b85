"""The real kubectl against `herd serve`: namespaces, ConfigMaps and Secrets.

`kubectl create namespace|configmap|secret` sends protobuf; `kubectl apply` of built-ins patches with
strategic merge. Each test works in a namespace of its own on one shared plane.
"""

from __future__ import annotations

import base64
import json

import yaml
from support.plane import ServedPlane


def jsonpath(plane: ServedPlane, target: str, path: str, namespace: str) -> str:
    return plane.kubectl("get", target, "-n", namespace, "-o", f"jsonpath={{{path}}}").stdout


def test_kubectl_create_namespace_configmap_and_secret(shared_plane: ServedPlane) -> None:
    kubectl = shared_plane.kubectl

    assert kubectl("create", "namespace", "x").stdout.strip() == "namespace/x created"
    assert kubectl("create", "configmap", "c", "--from-literal=a=b", "-n", "x").stdout.strip() == "configmap/c created"
    assert kubectl("create", "secret", "generic", "s", "--from-literal=k=v", "-n", "x").stdout.strip() == \
        "secret/s created"

    assert kubectl("get", "namespace", "x", "-o", "jsonpath={.status.phase}").stdout == "Active"
    assert jsonpath(shared_plane, "configmap/c", ".data.a", "x") == "b"
    assert jsonpath(shared_plane, "secret/s", ".data.k", "x") == base64.b64encode(b"v").decode() == "dg=="
    assert jsonpath(shared_plane, "secret/s", ".type", "x") == "Opaque"

    both = kubectl("get", "cm,secrets", "-n", "x").stdout
    configmaps, secrets = both.split("\n\n")
    assert [line.split()[:2] for line in configmaps.splitlines()] == [["NAME", "DATA"], ["configmap/c", "1"]]
    assert [line.split()[:3] for line in secrets.strip().splitlines()] == [
        ["NAME", "TYPE", "DATA"], ["secret/s", "Opaque", "1"]]


def test_kubectl_create_in_a_missing_namespace_is_not_found(shared_plane: ServedPlane) -> None:
    refused = shared_plane.kubectl("create", "configmap", "c", "--from-literal=a=b", "-n", "nowhere", check=False)

    assert refused.returncode == 1
    assert 'namespaces "nowhere" not found' in refused.stderr


def test_kubectl_apply_secret_with_string_data_stores_base64_data(shared_plane: ServedPlane) -> None:
    shared_plane.kubectl("create", "namespace", "secrets")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "login", "namespace": "secrets"},
              "stringData": {"user": "admin", "password": "hunter2"}}

    created = shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(secret))
    assert created.stdout.strip() == "secret/login created"
    stored = json.loads(shared_plane.kubectl("get", "secret", "login", "-n", "secrets", "-o", "json").stdout)
    assert stored["data"] == {"user": base64.b64encode(b"admin").decode(),
                              "password": base64.b64encode(b"hunter2").decode()}
    assert "stringData" not in stored

    secret["stringData"] = {"user": "admin", "password": "swordfish"}
    updated = shared_plane.kubectl("apply", "-f", "-", "-v=8", input=yaml.safe_dump(secret))
    assert "secret/login configured" in updated.stdout
    assert "application/strategic-merge-patch+json" in updated.stderr
    decoded = jsonpath(shared_plane, "secret/login", ".data.password", "secrets")
    assert base64.b64decode(decoded) == b"swordfish"


def test_kubectl_apply_configmap_twice_drops_removed_keys(shared_plane: ServedPlane) -> None:
    shared_plane.kubectl("create", "namespace", "configs")
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "configs"},
              "data": {"colour": "blue", "size": "10"}}
    shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(config))

    config["data"] = {"colour": "red"}
    updated = shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(config))

    assert updated.stdout.strip() == "configmap/settings configured"
    assert json.loads(jsonpath(shared_plane, "configmap/settings", ".data", "configs")) == {"colour": "red"}
    unchanged = shared_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(config))
    assert unchanged.stdout.strip() == "configmap/settings unchanged"
