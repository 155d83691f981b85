"""RBAC through the real kubectl against `herd up`: a user bound only to `view` in one namespace reads there and
nowhere else, `kubectl auth can-i|whoami` and `--as` answer as on kube-apiserver, a bootstrap token can join and
read no Secret, and the controllers bring examples/ha-cluster.yaml to Available under their own least-privilege user
(not in system:masters)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.herd_up import HerdUp, herd_up
from support.plane import KUBECTL, kubectl

VIEWER_TOKEN = "jane-view-token-5d8c1f"
TEAM = "team-a"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ha-cluster.yaml"


@pytest.fixture(scope="module")
def herd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HerdUp]:
    base = tmp_path_factory.mktemp("rbac")
    tokens = base / "tokens.csv"
    tokens.write_text(f"{VIEWER_TOKEN},jane,uid-jane\n")
    with herd_up(base, HerdUp, "--token-auth-file", str(tokens)) as running:
        running.kubectl("create", "namespace", TEAM)
        running.kubectl("create", "rolebinding", "jane-views", "--clusterrole=view", "--user=jane", "-n", TEAM)
        running.kubectl("create", "configmap", "settings", "--from-literal=k=v", "-n", TEAM)
        yield running


def token_kubeconfig(herd: HerdUp, name: str, token: str) -> Path:
    """The admin kubeconfig's cluster with a bearer token as the user."""
    config = yaml.safe_load(herd.kubeconfig.read_text())
    config["users"] = [{"name": name, "user": {"token": token}}]
    config["contexts"] = [{"name": name, "context": {"cluster": config["clusters"][0]["name"], "user": name}}]
    config["current-context"] = name
    path = herd.data_dir.parent / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def as_jane(herd: HerdUp, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return kubectl(token_kubeconfig(herd, "jane", VIEWER_TOKEN), herd.cache, *args, check=check)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "is forbidden: " in result.stderr, result.stderr
    return result.stderr.strip()


def test_a_view_user_reads_its_namespace_and_nothing_else(herd: HerdUp) -> None:
    assert "settings" in as_jane(herd, "get", "configmaps", "-n", TEAM).stdout
    assert "No resources found" in as_jane(herd, "get", "machines", "-n", TEAM).stderr  # Cluster API kinds too
    watch = subprocess.Popen([KUBECTL, f"--cache-dir={herd.cache}",
                              f"--kubeconfig={token_kubeconfig(herd, 'jane', VIEWER_TOKEN)}",
                              "get", "configmaps", "-n", TEAM, "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    time.sleep(2)
    watch.terminate()
    out, err = watch.communicate(timeout=10)
    assert "settings" in out and "Forbidden" not in err
    assert refused(as_jane(herd, "create", "configmap", "x", "-n", TEAM, check=False)) == (
        'error: failed to create configmap: configmaps is forbidden: User "jane" cannot create resource "configmaps" '
        'in API group "" in the namespace "team-a"')
    assert 'cannot delete resource "configmaps"' in refused(
        as_jane(herd, "delete", "configmap", "settings", "-n", TEAM, check=False))
    assert refused(as_jane(herd, "get", "configmaps", "-n", "default", check=False)) == (
        'Error from server (Forbidden): configmaps is forbidden: User "jane" cannot list resource "configmaps" in '
        'API group "" in the namespace "default"')
    assert 'cannot list resource "secrets"' in refused(as_jane(herd, "get", "secrets", "-n", TEAM, check=False))
    assert 'at the cluster scope' in refused(as_jane(herd, "get", "nodes", check=False))


def test_can_i_and_whoami(herd: HerdUp) -> None:
    assert as_jane(herd, "auth", "can-i", "create", "machines", "-n", TEAM, check=False).stdout.strip() == "no"
    assert as_jane(herd, "auth", "can-i", "list", "machines", "-n", TEAM).stdout.strip() == "yes"
    assert herd.kubectl("auth", "can-i", "create", "machines", "-n", TEAM).stdout.strip() == "yes"
    listed = as_jane(herd, "auth", "can-i", "--list", "-n", TEAM).stdout
    assert "*.cluster.x-k8s.io" in listed and "configmaps" in listed
    whoami = json.loads(as_jane(herd, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"] == {"username": "jane", "uid": "uid-jane", "groups": ["system:authenticated"]}
    assert "system:authenticated" in as_jane(herd, "auth", "whoami").stdout


def test_impersonation(herd: HerdUp) -> None:
    assert "settings" in herd.kubectl("get", "configmaps", "-n", TEAM, "--as", "jane").stdout
    assert 'User "jane" cannot list resource "configmaps"' in refused(
        herd.kubectl("get", "configmaps", "-n", "default", "--as", "jane", check=False))
    assert refused(as_jane(herd, "get", "configmaps", "-n", TEAM, "--as", "admin", check=False)) == (
        'Error from server (Forbidden): users "admin" is forbidden: User "jane" cannot impersonate resource "users" '
        'in API group "" at the cluster scope')
    assert 'users "jane" is forbidden: User "jane" cannot impersonate resource "users"' in refused(as_jane(
        herd, "get", "configmaps", "-n", TEAM, "--as", "jane", "--as-group", "system:masters", check=False))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_bootstrap_token_joins_and_reads_no_secret(herd: HerdUp) -> None:
    token_id, secret = "k7q2mz", "0123456789abcdef"
    herd.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
         "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
         "data": {"token-id": b64(token_id), "token-secret": b64(secret), "usage-bootstrap-authentication": b64("true"),
                  "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token")}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
         "data": {"kubeconfig": "apiVersion: v1\nkind: Config\n"}}]}))
    joiner = token_kubeconfig(herd, "joiner", f"{token_id}.{secret}")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return kubectl(joiner, herd.cache, *args, input=input, check=False)

    assert run("get", "configmap", "cluster-info", "-n", "kube-public").returncode == 0
    node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "joined-1"}}
    assert run("create", "-f", "-", input=json.dumps(node)).returncode == 0
    assert run("get", "node", "joined-1").returncode == 0
    assert refused(run("get", "secrets", "-n", "kube-system")) == (
        f'Error from server (Forbidden): secrets is forbidden: User "system:bootstrap:{token_id}" cannot list '
        'resource "secrets" in API group "" in the namespace "kube-system"')
    refused(run("get", "secret", f"bootstrap-token-{token_id}", "-n", "kube-system"))
    refused(run("delete", "secret", f"bootstrap-token-{token_id}", "-n", "kube-system"))
    refused(run("get", "configmaps", "-n", "kube-public"))


def test_the_controllers_run_as_their_own_user(herd: HerdUp) -> None:
    controllers = herd.data_dir / "pki" / "controller-manager.kubeconfig"
    whoami = json.loads(kubectl(controllers, herd.cache, "auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert whoami["username"] == "system:serviceaccount:herd-system:herd-controller-manager"
    assert "system:masters" not in whoami["groups"]
    assert kubectl(controllers, herd.cache, "auth", "can-i", "get", "secrets", "-n", TEAM).stdout.strip() == "yes"
    assert kubectl(controllers, herd.cache, "auth", "can-i", "create", "clusterroles",
                   check=False).stdout.strip() == "no"
    herd.kubectl("apply", "-f", str(EXAMPLE))
    name = next(yaml.safe_load_all(EXAMPLE.read_text()))["metadata"]["name"]
    kubectl(herd.kubeconfig, herd.cache, "wait", "--for=condition=Available", f"cluster/{name}", "--timeout=180s",
            timeout=200)
    assert not [line for line in herd.process.lines if "forbidden" in line.lower()]
