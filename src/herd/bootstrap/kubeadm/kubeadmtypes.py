"""KubeadmConfigSpec parts → kubeadm's own configuration documents (kubeadm.k8s.io/v1beta4).

Cluster API's v1beta2 types mirror kubeadm v1beta4 closely; the differences handled here are the
durations Cluster API spells as `...Seconds` integers, the fields kubeadm takes from the Cluster and the
Machine (controlPlaneEndpoint, kubernetesVersion, clusterName, networking), and the Cluster API-only
fields kubeadm does not know (`discovery.file.kubeConfig`, `caCertificateValidityPeriodDays`).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

# libyaml's emitter when PyYAML was built with it: the pure-Python one costs several milliseconds per document
SAFE_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4"
DEFAULT_API_SERVER_PORT = 6443

# Cluster API's `<name>Seconds` integers → kubeadm v1beta4's `<name>` durations, under `timeouts`.
_TIMEOUTS = {
    "controlPlaneComponentHealthCheckSeconds": "controlPlaneComponentHealthCheck",
    "kubeletHealthCheckSeconds": "kubeletHealthCheck",
    "kubernetesAPICallSeconds": "kubernetesAPICall",
    "etcdAPICallSeconds": "etcdAPICall",
    "tlsBootstrapSeconds": "tlsBootstrap",
    "discoverySeconds": "discovery",
}


def seconds(value: int) -> str:
    """A Go duration string for whole seconds, as kubeadm parses it."""
    return f"{int(value)}s"


def hours_from_days(days: int) -> str:
    """A Go duration string for whole days (Go has no day unit)."""
    return f"{int(days) * 24}h0m0s"


def _timeouts(timeouts: dict[str, Any] | None) -> dict[str, Any] | None:
    if not timeouts:
        return None
    out = {}
    for key, value in timeouts.items():
        out[_TIMEOUTS.get(key, key)] = seconds(value) if key in _TIMEOUTS else value
    return out


def _document(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": KUBEADM_API_VERSION, "kind": kind, **{k: v for k, v in body.items() if v is not None}}


def cluster_configuration(spec: dict[str, Any] | None, *, cluster_name: str, control_plane_endpoint: str | None,
                          kubernetes_version: str | None, cluster_network: dict[str, Any] | None) -> dict[str, Any]:
    """kubeadm's ClusterConfiguration: the user's settings plus what comes from the Cluster and the Machine.

    A value the user set wins over the Cluster's, as upstream does.
    """
    body = copy.deepcopy(spec or {})
    body.pop("caCertificateValidityPeriodDays", None)  # used by Cluster API for the CAs, unknown to kubeadm
    validity = body.pop("certificateValidityPeriodDays", None)
    if validity is not None:
        body["certificateValidityPeriod"] = hours_from_days(validity)
    if not body.get("controlPlaneEndpoint") and control_plane_endpoint:
        body["controlPlaneEndpoint"] = control_plane_endpoint
    body.setdefault("clusterName", cluster_name)
    if kubernetes_version:
        body.setdefault("kubernetesVersion", kubernetes_version)
    network = cluster_network or {}
    networking: dict[str, Any] = dict(body.get("networking") or {})
    if network.get("serviceDomain"):
        networking.setdefault("dnsDomain", network["serviceDomain"])
    for source, target in (("services", "serviceSubnet"), ("pods", "podSubnet")):
        blocks = (network.get(source) or {}).get("cidrBlocks") or []
        if blocks:
            networking.setdefault(target, ",".join(blocks))
    if networking:
        body["networking"] = networking
    return _document("ClusterConfiguration", body)


def _bootstrap_token(token: dict[str, Any]) -> dict[str, Any]:
    out = dict(token)
    ttl = out.pop("ttlSeconds", None)
    if ttl is not None:
        out["ttl"] = seconds(ttl)
    return out


def init_configuration(spec: dict[str, Any] | None) -> dict[str, Any]:
    """kubeadm's InitConfiguration from the KubeadmConfig's initConfiguration."""
    body = copy.deepcopy(spec or {})
    if body.get("bootstrapTokens"):
        body["bootstrapTokens"] = [_bootstrap_token(t) for t in body["bootstrapTokens"]]
    body["timeouts"] = _timeouts(body.get("timeouts"))
    return _document("InitConfiguration", body)


def join_configuration(spec: dict[str, Any] | None) -> dict[str, Any]:
    """kubeadm's JoinConfiguration from the KubeadmConfig's joinConfiguration (discovery already filled in)."""
    body = copy.deepcopy(spec or {})
    discovery = body.get("discovery") or {}
    file_discovery = discovery.get("file")
    if isinstance(file_discovery, dict):
        file_discovery.pop("kubeConfig", None)  # Cluster API writes that kubeconfig as a file instead
    body["timeouts"] = _timeouts(body.get("timeouts"))
    return _document("JoinConfiguration", body)


def dump(*documents: dict[str, Any]) -> str:
    """One YAML stream, each document starting with `---`."""
    return "".join("---\n" + yaml.dump(doc, Dumper=SAFE_DUMPER, sort_keys=False, default_flow_style=False)
                   for doc in documents)
