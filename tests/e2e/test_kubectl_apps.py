"""The real kubectl against `herd serve`: apps/v1 Deployments and DaemonSets (kubeadm's coredns and kube-proxy)."""

from __future__ import annotations

import json

import yaml
from support.plane import ServedPlane


def manifest(kind: str, name: str, image: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": name}},
                 "template": {"metadata": {"labels": {"k8s-app": name}},
                              "spec": {"containers": [{"name": name, "image": image,
                                                       "args": ["--conf", "/etc/conf"]}]}}}})


def test_kubectl_api_resources_lists_deployments_and_daemonsets(shared_plane: ServedPlane) -> None:
    lines = shared_plane.kubectl("api-resources", "--api-group=apps").stdout.splitlines()

    assert [line.split() for line in lines[1:]] == [
        ["daemonsets", "ds", "apps/v1", "true", "DaemonSet"],
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]]


def test_kubectl_apply_get_and_scale(shared_plane: ServedPlane) -> None:
    kubectl = shared_plane.kubectl
    created = kubectl("apply", "-f", "-", input=manifest("Deployment", "coredns", "registry.k8s.io/coredns:1") +
                      "---\n" + manifest("DaemonSet", "kube-proxy", "registry.k8s.io/kube-proxy:1"))
    assert created.stdout.splitlines() == ["deployment.apps/coredns created", "daemonset.apps/kube-proxy created"]

    listed = kubectl("get", "deploy,ds", "-A", "-o", "name").stdout.split()
    assert listed == ["deployment.apps/coredns", "daemonset.apps/kube-proxy"]

    scaled = kubectl("scale", "deployment", "coredns", "-n", "kube-system", "--replicas=2")
    assert scaled.stdout.strip() == "deployment.apps/coredns scaled"

    # a client-side apply of a new image is a strategic merge patch: the container keeps its other fields
    updated = kubectl("apply", "-f", "-", input=manifest("Deployment", "coredns", "registry.k8s.io/coredns:2"))
    assert updated.stdout.strip() == "deployment.apps/coredns configured"
    stored = json.loads(kubectl("get", "deploy", "coredns", "-n", "kube-system", "-o", "json").stdout)
    assert stored["spec"]["replicas"] == 2
    assert stored["spec"]["template"]["spec"]["containers"] == [
        {"name": "coredns", "image": "registry.k8s.io/coredns:2", "args": ["--conf", "/etc/conf"]}]
    assert stored["metadata"]["generation"] == 3
