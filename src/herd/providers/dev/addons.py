"""The addons `kubeadm init` installs in kube-system: CoreDNS and kube-proxy, with their ConfigMaps.

Objects only: nothing runs them in a simulated cluster, but the control plane provider reads and updates them on
upgrades (the kube-proxy DaemonSet's image, the CoreDNS Deployment's image and Corefile), as on a real cluster.
Images as kubeadm picks them: CoreDNS from `<imageRepository>/coredns` (`registry.k8s.io/coredns/coredns` by
default) or `dns.imageRepository`, tag `dns.imageTag` or kubeadm's CoreDNS version; kube-proxy
`<imageRepository>/kube-proxy:<version>`.
"""

from __future__ import annotations

import contextlib
import textwrap
from typing import Any, Final

import yaml

from herd.runtime import CONFIGMAP, AlreadyExists, Client, Kind, Object

from .kinds import DAEMONSET, DEPLOYMENT
from .staticpods import DEFAULT_IMAGE_REPOSITORY, NAMESPACE, image_repository

COREDNS_VERSION: Final = "v1.12.0"
COREDNS: Final = "coredns"
KUBE_PROXY: Final = "kube-proxy"
_DNS_APP: Final = "kube-dns"  # CoreDNS keeps the label of the kube-dns it replaced


def coredns_image(cluster_configuration: dict[str, Any] | None) -> str:
    config = cluster_configuration or {}
    repository = image_repository(config)
    if repository == DEFAULT_IMAGE_REPOSITORY:
        repository = f"{repository}/coredns"  # the default registry keeps CoreDNS in a folder of its own
    dns = config.get("dns") or {}
    return f"{dns.get('imageRepository') or repository}/coredns:{dns.get('imageTag') or COREDNS_VERSION}"


def kube_proxy_image(cluster_configuration: dict[str, Any] | None, version: str) -> str:
    return f"{image_repository(cluster_configuration)}/kube-proxy:{version}"


def corefile(dns_domain: str) -> str:
    return textwrap.dedent(f"""\
        .:53 {{
            errors
            health {{
               lameduck 5s
            }}
            ready
            kubernetes {dns_domain} in-addr.arpa ip6.arpa {{
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }}
            prometheus :9153
            forward . /etc/resolv.conf {{
               max_concurrent 1000
            }}
            cache 30
            loop
            reload
            loadbalance
        }}
        """)


def _meta(name: str, app: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": {"k8s-app": app}}


def _workload(kind: str, name: str, app: str, image: str, command: list[str], extra: dict[str, Any]) -> Object:
    """A Deployment or DaemonSet whose pods run one container of `image`."""
    pod_spec = {"containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                                "command": command}],
                "serviceAccountName": name, "priorityClassName": "system-node-critical"}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(name, app), "spec": {
        **extra, "selector": {"matchLabels": {"k8s-app": app}},
        "template": {"metadata": {"labels": {"k8s-app": app}}, "spec": pod_spec}}}


def addon_objects(cluster_configuration: dict[str, Any] | None, version: str, server: str) -> list[tuple[Kind, Object]]:
    """CoreDNS's ConfigMap and Deployment, kube-proxy's ConfigMap and DaemonSet."""
    config = cluster_configuration or {}
    networking = config.get("networking") or {}
    proxy_config = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
                    "clusterCIDR": str(networking.get("podSubnet") or ""), "mode": "",
                    "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"}}
    proxy_kubeconfig = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "default", "cluster": {
        "certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "server": server}}],
        "contexts": [{"name": "default", "context": {"cluster": "default", "namespace": "default",
                                                     "user": "default"}}],
        "current-context": "default",
        "users": [{"name": "default", "user": {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}]}
    return [
        (CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(COREDNS, _DNS_APP),
                     "data": {"Corefile": corefile(str(networking.get("dnsDomain") or "cluster.local"))}}),
        (DEPLOYMENT, _workload("Deployment", COREDNS, _DNS_APP, coredns_image(config),
                               ["/coredns", "-conf", "/etc/coredns/Corefile"],
                               {"replicas": 2, "strategy": {"type": "RollingUpdate",
                                                            "rollingUpdate": {"maxUnavailable": 1}}})),
        (CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(KUBE_PROXY, KUBE_PROXY),
                     "data": {"config.conf": yaml.safe_dump(proxy_config, sort_keys=False),
                              "kubeconfig.conf": yaml.safe_dump(proxy_kubeconfig, sort_keys=False)}}),
        (DAEMONSET, _workload("DaemonSet", KUBE_PROXY, KUBE_PROXY, kube_proxy_image(config, version),
                              ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                               "--hostname-override=$(NODE_NAME)"],
                              {"updateStrategy": {"type": "RollingUpdate"}})),
    ]


async def install_addons(client: Client, cluster_configuration: dict[str, Any] | None, version: str,
                         server: str) -> None:
    """Create the addons; ones that exist are left as they are (the control plane provider may have updated
    them)."""
    for kind, obj in addon_objects(cluster_configuration, version, server):
        with contextlib.suppress(AlreadyExists):
            await client.create(obj, kind=kind)
