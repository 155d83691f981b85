"""What the simulated kubeadm and kubelet write into a workload cluster: static (mirror) pods with kubeadm's
images and their readiness, and the CoreDNS and kube-proxy addons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from herd.api.infrastructure.dev_types import FailureDomain
from herd.providers.dev.addons import addon_objects, coredns_image, kube_proxy_image
from herd.providers.dev.staticpods import control_plane_images, etcd_tag, is_ready, mirror_pod, pod_status
from herd.providers.dev.status import set_failure_domains

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cp-0", "uid": "u-1"}}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_default_images_are_kubeadms() -> None:
    assert control_plane_images(None, "v1.32.0") == {
        "kube-apiserver": "registry.k8s.io/kube-apiserver:v1.32.0",
        "kube-controller-manager": "registry.k8s.io/kube-controller-manager:v1.32.0",
        "kube-scheduler": "registry.k8s.io/kube-scheduler:v1.32.0",
        "etcd": "registry.k8s.io/etcd:3.5.16-0"}


def test_the_cluster_configuration_picks_repositories_and_the_etcd_tag() -> None:
    config = {"imageRepository": "mirror.example/k8s",
              "etcd": {"local": {"imageRepository": "etcd.example", "imageTag": "3.5.99-0"}}}
    images = control_plane_images(config, "v1.31.2")
    assert images["kube-scheduler"] == "mirror.example/k8s/kube-scheduler:v1.31.2"
    assert images["etcd"] == "etcd.example/etcd:3.5.99-0"


@pytest.mark.parametrize(("version", "tag"), [("v1.33.1", "3.5.21-0"), ("v1.40.0", "3.5.21-0"), ("junk", "3.5.21-0")])
def test_etcd_tag_of_unknown_or_newer_versions_is_the_newest_known(version: str, tag: str) -> None:
    assert etcd_tag(version) == tag


def test_a_mirror_pod_is_named_after_component_and_node_and_owned_by_the_node() -> None:
    pod = mirror_pod("etcd", NODE, "registry.k8s.io/etcd:3.5.16-0")
    assert pod["metadata"]["name"] == "etcd-cp-0" and pod["metadata"]["namespace"] == "kube-system"
    assert pod["metadata"]["labels"] == {"component": "etcd", "tier": "control-plane"}
    assert pod["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "cp-0", "uid": "u-1", "controller": True}]
    assert pod["spec"]["nodeName"] == "cp-0"
    assert pod["spec"]["containers"][0]["image"] == "registry.k8s.io/etcd:3.5.16-0"
    assert "--name=cp-0" in pod["spec"]["containers"][0]["command"]


def test_pod_status_follows_readiness_and_keeps_the_pod_running() -> None:
    started = NOW - timedelta(minutes=5)
    ready = pod_status("etcd", "img", ready=True, started=started, now=NOW)
    assert ready["phase"] == "Running" and is_ready({"status": ready}) is True
    assert {c["type"]: c["status"] for c in ready["conditions"]} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True", "ContainersReady": "True",
        "PodScheduled": "True"}
    down = pod_status("etcd", "img", ready=False, started=started, now=NOW)
    conditions = {c["type"]: c for c in down["conditions"]}
    assert down["phase"] == "Running" and is_ready({"status": down}) is False
    assert conditions["Ready"]["reason"] == "ContainersNotReady"
    assert conditions["Ready"]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert conditions["PodScheduled"]["status"] == "True"
    assert down["containerStatuses"][0]["ready"] is False


@pytest.mark.parametrize(("config", "image"), [
    (None, "registry.k8s.io/coredns/coredns:v1.12.0"),
    ({"imageRepository": "mirror.example"}, "mirror.example/coredns:v1.12.0"),
    ({"dns": {"imageRepository": "dns.example", "imageTag": "v1.11.3"}}, "dns.example/coredns:v1.11.3"),
])
def test_coredns_image_as_kubeadm_picks_it(config: dict[str, Any] | None, image: str) -> None:
    assert coredns_image(config) == image


def test_addons_carry_kubeadms_labels_images_and_settings() -> None:
    config = {"networking": {"podSubnet": "10.10.0.0/16", "dnsDomain": "corp.local"}}
    objects = {(obj["kind"], obj["metadata"]["name"]): obj
               for _, obj in addon_objects(config, "v1.32.0", "https://127.0.0.1:6443")}
    assert sorted(objects) == [("ConfigMap", "coredns"), ("ConfigMap", "kube-proxy"), ("DaemonSet", "kube-proxy"),
                               ("Deployment", "coredns")]
    assert objects[("Deployment", "coredns")]["metadata"]["labels"] == {"k8s-app": "kube-dns"}
    assert "kubernetes corp.local in-addr.arpa" in objects[("ConfigMap", "coredns")]["data"]["Corefile"]
    proxy = objects[("DaemonSet", "kube-proxy")]
    assert proxy["spec"]["selector"] == {"matchLabels": {"k8s-app": "kube-proxy"}}
    assert proxy["spec"]["template"]["spec"]["containers"][0]["image"] == kube_proxy_image(config, "v1.32.0") == \
        "registry.k8s.io/kube-proxy:v1.32.0"
    proxy_config = yaml.safe_load(objects[("ConfigMap", "kube-proxy")]["data"]["config.conf"])
    assert proxy_config["clusterCIDR"] == "10.10.0.0/16"
    kubeconfig = yaml.safe_load(objects[("ConfigMap", "kube-proxy")]["data"]["kubeconfig.conf"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"


def test_failure_domains_are_reported_in_status_and_removed_with_the_spec() -> None:
    devcluster: dict[str, Any] = {}
    set_failure_domains(devcluster, [FailureDomain(name="a", control_plane=True), FailureDomain(name="b")])
    assert devcluster["status"]["failureDomains"] == [{"name": "a", "controlPlane": True}, {"name": "b"}]
    set_failure_domains(devcluster, None)
    assert "failureDomains" not in devcluster["status"]
