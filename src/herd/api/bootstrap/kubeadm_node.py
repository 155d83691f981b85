"""kubeadm's per-node settings: InitConfiguration for `kubeadm init`, JoinConfiguration for
`kubeadm join`, and what both share (node registration, patches, timeouts)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.fields import DATE_TIME, Str256, Str512, atomic_list, extra_args_field, int32_field

from .corev1 import Taint
from .kubeadm_cluster import Arg
from .kubeadm_discovery import Discovery

PullPolicy = Literal["Always", "IfNotPresent", "Never"]

class APIEndpoint(APIModel):
    """Where the API server on one control plane machine listens."""

    model_config = NOT_EMPTY

    advertise_address: str | None = Field(default=None, min_length=1, max_length=39, description="The IP address "
                                          "the API server advertises; kubeadm detects the address of the default "
                                          "interface when not given.")
    bind_port: int | None = int32_field("The port the API server listens on; 6443 when not given.", ge=1)


class NodeRegistrationOptions(APIModel):
    """How the machine registers itself as a Node, for `kubeadm init` and `kubeadm join` alike."""

    model_config = NOT_EMPTY

    name: str | None = Field(default=None, min_length=1, max_length=253, description="The name of the Node "
                             "object, also the common name of the kubelet's client certificate; the machine's "
                             "hostname when not given.")
    cri_socket: str | None = Field(default=None, min_length=1, max_length=512, description="The container "
                                   "runtime's socket; recorded in an annotation on the Node.")
    taints: list[Taint] | None = Field(
        default=None, min_length=0, max_length=100,
        description="The taints the Node registers with. When not given, kubeadm taints control plane nodes with "
                    "node-role.kubernetes.io/control-plane:NoSchedule; an empty list registers no taints. Used at "
                    "registration only.")
    kubelet_extra_args: list[Arg] | None = extra_args_field(
        "Command line arguments added to the kubelet's; an argument kubeadm also sets is overridden by the value "
        "given here.", field_name="kubeletExtraArgs")
    ignore_preflight_errors: list[Str512] | None = atomic_list(
        "Preflight checks whose errors are ignored on this node, e.g. IsPrivilegedUser or Swap; \"all\" ignores "
        "every check.", min_items=1, max_items=50)
    image_pull_policy: PullPolicy | None = Field(default=None, description="When kubeadm pulls images during init "
                                                 "and join: Always, IfNotPresent or Never; IfNotPresent when not "
                                                 "given.")
    image_pull_serial: bool | None = Field(default=None, description="Pull images one at a time (true) or in "
                                           "parallel (false); true when not given. Honoured from Kubernetes 1.31.")


class BootstrapToken(APIModel):
    """A bootstrap token created by `kubeadm init`, stored as a Secret in the cluster."""

    token: str = Field(min_length=1, max_length=23, description="The token, in the form abcdef.0123456789abcdef "
                       "(a 6-character id and a 16-character secret); joining nodes use it to establish mutual "
                       "trust with the control plane.")
    description: str | None = Field(default=None, min_length=1, max_length=512, description="Why the token exists, "
                                    "for other administrators.")
    ttl_seconds: int | None = int32_field("How long the token lives, in seconds; 24 hours when not given. "
                                          "Exclusive with expires.", ge=0)
    expires: str | None = Field(default=None, json_schema_extra=DATE_TIME, description="When the token expires; "
                                "computed from ttlSeconds when not given. Exclusive with ttlSeconds.")
    usages: list[Str256] | None = atomic_list("What the token may be used for; by default authentication and "
                                              "signing for bootstrap.", min_items=1, max_items=100)
    groups: list[Str256] | None = atomic_list("Extra groups the token authenticates as.", min_items=1, max_items=100)


class Patches(APIModel):
    """Patches kubeadm applies to the manifests of the components it deploys."""

    model_config = NOT_EMPTY

    directory: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="A directory of patch files named target[suffix][+patchtype].extension: target names "
                    "the component, e.g. kube-apiserver, kube-controller-manager, kube-scheduler or etcd; "
                    "patchtype is strategic (the default), merge or json; extension is json or yaml; suffix orders "
                    "the patches alphanumerically. The files can be written with spec.files. Needs Kubernetes "
                    "1.22 or later.")


class Timeouts(APIModel):
    """How long kubeadm waits for the steps of init and join, in seconds."""

    model_config = NOT_EMPTY

    control_plane_component_health_check_seconds: int | None = int32_field(
        "How long to wait for a control plane component such as the API server to become healthy; 240 when not "
        "given.", ge=0)
    kubelet_health_check_seconds: int | None = int32_field(
        "How long to wait for the kubelet to become healthy; 240 when not given.", ge=0)
    kubernetes_api_call_seconds: int | None = Field(
        default=None, alias="kubernetesAPICallSeconds", ge=0, json_schema_extra=k8s(format="int32"),
        description="How long a single request of kubeadm to the API server may take; 60 when not given.")
    etcd_api_call_seconds: int | None = Field(
        default=None, alias="etcdAPICallSeconds", ge=0, json_schema_extra=k8s(format="int32"),
        description="How long a single request of kubeadm to etcd may take; 120 when not given.")
    tls_bootstrap_seconds: int | None = int32_field(
        "How long a joining node's kubelet may take to complete TLS bootstrap; 300 when not given.", ge=0)
    discovery_seconds: int | None = int32_field(
        "How long a joining node may take to verify the API server's identity; 300 when not given.", ge=0)


class InitConfiguration(APIModel):
    """Settings for `kubeadm init` on the first control plane machine that are specific to that run."""

    model_config = NOT_EMPTY

    bootstrap_tokens: list[BootstrapToken] | None = atomic_list(
        "Bootstrap tokens to create. They are not stored in the cluster's kubeadm configuration, since they are "
        "secrets.", min_items=1, max_items=100)
    node_registration: NodeRegistrationOptions | None = Field(
        default=None, description="How this control plane machine registers as a Node; keep it consistent with "
                                  "joinConfiguration.nodeRegistration.")
    local_api_endpoint: APIEndpoint | None = Field(
        default=None, alias="localAPIEndpoint",
        description="Where the API server on this machine listens and what it advertises, as opposed to the "
                    "cluster-wide controlPlaneEndpoint.")
    skip_phases: list[Str256] | None = atomic_list("kubeadm init phases to skip (see kubeadm init --help). Needs "
                                                   "Kubernetes 1.22 or later.", min_items=1, max_items=50)
    patches: Patches | None = Field(default=None, description="Patches applied to the components deployed by "
                                    "kubeadm init. Needs Kubernetes 1.22 or later.")
    timeouts: Timeouts | None = Field(default=None, description="How long kubeadm init waits for each step.")


class JoinControlPlane(APIModel):
    """The control plane instance a joining node runs besides the kubelet."""

    local_api_endpoint: APIEndpoint | None = Field(default=None, alias="localAPIEndpoint", description="Where the "
                                                   "API server on the joining node listens and what it advertises.")


class JoinConfiguration(APIModel):
    """Settings for `kubeadm join`, run by every machine after the first control plane machine."""

    model_config = NOT_EMPTY

    node_registration: NodeRegistrationOptions | None = Field(
        default=None, description="How the machine registers as a Node; for control plane machines keep it "
                                  "consistent with initConfiguration.nodeRegistration.")
    ca_cert_path: str | None = Field(default=None, min_length=1, max_length=512, description="Where the cluster CA "
                                     "certificate is stored on the machine; /etc/kubernetes/pki/ca.crt when not "
                                     "given.")
    discovery: Discovery | None = Field(default=None, description="How the machine finds and trusts the cluster "
                                        "while bootstrapping the kubelet's TLS.")
    control_plane: JoinControlPlane | None = Field(default=None, description="When set, the machine joins as an "
                                                   "additional control plane instance; when not, as a worker.")
    skip_phases: list[Str256] | None = atomic_list("kubeadm join phases to skip (see kubeadm join --help). Needs "
                                                   "Kubernetes 1.22 or later.", min_items=1, max_items=50)
    patches: Patches | None = Field(default=None, description="Patches applied to the components deployed by "
                                    "kubeadm join. Needs Kubernetes 1.22 or later.")
    timeouts: Timeouts | None = Field(default=None, description="How long kubeadm join waits for each step.")
