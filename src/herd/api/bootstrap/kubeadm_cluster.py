"""kubeadm's ClusterConfiguration: settings shared by the whole cluster, written once by `kubeadm init`
(control plane components, etcd, DNS, image registry, certificates)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.fields import Str253, Str512, atomic_list, extra_args_field, int32_field

from .corev1 import EnvVar

EncryptionAlgorithm = Literal["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096"]

class Arg(APIModel):
    """One command line argument, given without its leading dashes."""

    name: str = Field(min_length=1, max_length=256, description="The flag name without leading dashes, e.g. "
                      "v or feature-gates.")
    value: str = Field(min_length=0, max_length=1024, description="The flag's value; may be empty.")


class HostPathMount(APIModel):
    """A directory or file of the host mounted into a control plane component's static pod."""

    name: str = Field(min_length=1, max_length=512, description="The name of the volume in the pod.")
    host_path: str = Field(min_length=1, max_length=512, description="The path on the host to mount.")
    mount_path: str = Field(min_length=1, max_length=512, description="Where the host path appears inside the "
                            "pod.")
    read_only: bool | None = Field(default=None, description="Mount read-only when true.")
    path_type: str | None = Field(default=None, description="What must exist at hostPath before the pod starts, "
                                  "as for a hostPath volume (e.g. Directory, DirectoryOrCreate, File); no check "
                                  "when empty.")


class ControlPlaneComponent(APIModel):
    """Extra settings for one control plane component that kubeadm runs as a static pod."""

    model_config = NOT_EMPTY

    extra_args: list[Arg] | None = extra_args_field(
        "Command line arguments added to the component's; an argument kubeadm also sets is overridden by the value "
        "given here.")
    extra_volumes: list[HostPathMount] | None = atomic_list(
        "Host paths mounted into the component's pod in addition to kubeadm's own.", min_items=1, max_items=100)
    extra_envs: list[EnvVar] | None = atomic_list(
        "Environment variables set in the component's container; they replace variables of the same name, "
        "including the proxy variables kubeadm copies from the host. Honoured from Kubernetes 1.31.", min_items=1,
        max_items=100)


class APIServer(ControlPlaneComponent):
    """Extra settings for kube-apiserver."""

    cert_sans: list[Str253] | None = Field(
        default=None, alias="certSANs", min_length=1, max_length=100, json_schema_extra=k8s(
            x_kubernetes_list_type="atomic"),
        description="Additional names and addresses written into the API server's serving certificate as "
                    "Subject Alternative Names.")


class ControllerManager(ControlPlaneComponent):
    """Extra settings for kube-controller-manager."""


class Scheduler(ControlPlaneComponent):
    """Extra settings for kube-scheduler."""


class DNS(APIModel):
    """The cluster DNS add-on (CoreDNS) that kubeadm installs."""

    model_config = NOT_EMPTY

    image_repository: str | None = Field(default=None, min_length=1, max_length=512, description="The registry "
                                         "to pull the DNS image from; ClusterConfiguration's imageRepository when "
                                         "not given.")
    image_tag: str | None = Field(default=None, min_length=1, max_length=256, description="The tag of the DNS "
                                  "image; once set, kubeadm no longer changes the image on upgrades.")


class LocalEtcd(APIModel):
    """An etcd member run by kubeadm as a static pod on each control plane machine (stacked etcd)."""

    model_config = NOT_EMPTY

    image_repository: str | None = Field(default=None, min_length=1, max_length=512, description="The registry "
                                         "to pull the etcd image from; ClusterConfiguration's imageRepository when "
                                         "not given.")
    image_tag: str | None = Field(default=None, min_length=1, max_length=256, description="The tag of the etcd "
                                  "image; once set, kubeadm no longer changes the image on upgrades.")
    data_dir: str | None = Field(default=None, min_length=1, max_length=512, description="Where etcd keeps its "
                                 "data on the host; /var/lib/etcd when not given.")
    extra_args: list[Arg] | None = extra_args_field(
        "Command line arguments added to etcd's; an argument kubeadm also sets is overridden by the value given "
        "here.")
    extra_envs: list[EnvVar] | None = atomic_list(
        "Environment variables set in the etcd container; they replace variables of the same name, including the "
        "proxy variables kubeadm copies from the host. Honoured from Kubernetes 1.31.", min_items=1, max_items=100)
    server_cert_sans: list[Str253] | None = Field(
        default=None, alias="serverCertSANs", min_length=1, max_length=100, json_schema_extra=k8s(
            x_kubernetes_list_type="atomic"),
        description="Additional Subject Alternative Names for the certificate etcd serves clients with.")
    peer_cert_sans: list[Str253] | None = Field(
        default=None, alias="peerCertSANs", min_length=1, max_length=100, json_schema_extra=k8s(
            x_kubernetes_list_type="atomic"),
        description="Additional Subject Alternative Names for the certificate etcd members talk to each other "
                    "with.")


class ExternalEtcd(APIModel):
    """An etcd cluster run outside kubeadm's control; kubeadm only needs where it is and the client files."""

    endpoints: list[Str512] = Field(min_length=1, max_length=50, json_schema_extra=k8s(
        x_kubernetes_list_type="atomic"), description="The client URLs of the etcd members.")
    ca_file: str = Field(min_length=1, max_length=512, description="Path on the machine of the CA certificate "
                         "that signed the etcd servers' certificates.")
    cert_file: str = Field(min_length=1, max_length=512, description="Path on the machine of the client "
                           "certificate the API server presents to etcd.")
    key_file: str = Field(min_length=1, max_length=512, description="Path on the machine of the private key of "
                          "that client certificate.")


class Etcd(APIModel):
    """Where the cluster's etcd runs: stacked on the control plane machines (local) or elsewhere (external)."""

    model_config = NOT_EMPTY

    local: LocalEtcd | None = Field(default=None, description="Settings for stacked etcd, which kubeadm runs on "
                                    "every control plane machine; the default. Exclusive with external.")
    external: ExternalEtcd | None = Field(default=None, description="How to reach an existing etcd cluster. "
                                          "Exclusive with local.")


class ClusterConfiguration(APIModel):
    """Settings for the cluster as a whole, used by `kubeadm init` together with InitConfiguration."""

    model_config = NOT_EMPTY

    etcd: Etcd | None = Field(default=None, description="Where etcd runs and how it is configured; stacked "
                              "(local) etcd when not given.")
    control_plane_endpoint: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="A stable address for the control plane, an IP address or DNS name with an optional port, "
                    "e.g. a load balancer in front of several API servers. Filled in from the Cluster's control "
                    "plane endpoint when not given.")
    api_server: APIServer | None = Field(default=None, description="Extra settings for kube-apiserver.")
    controller_manager: ControllerManager | None = Field(default=None, description="Extra settings for "
                                                         "kube-controller-manager.")
    scheduler: Scheduler | None = Field(default=None, description="Extra settings for kube-scheduler.")
    dns: DNS | None = Field(default=None, description="Settings for the DNS add-on.")
    certificates_dir: str | None = Field(default=None, min_length=1, max_length=512, description="Where the "
                                         "cluster's certificates are stored on each machine; /etc/kubernetes/pki "
                                         "when not given.")
    image_repository: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="The registry to pull control plane images from; kubeadm's default registry "
                    "(registry.k8s.io) when not given. For CI builds of Kubernetes, control plane images come "
                    "from the CI image registry instead.")
    feature_gates: dict[str, bool] | None = Field(default=None, description="kubeadm feature gates to turn on or "
                                                  "off, by name.")
    certificate_validity_period_days: int | None = int32_field(
        "How many days the certificates kubeadm issues (all but the CAs) stay valid; 365 when not given. Needs "
        "Kubernetes 1.31 or later.", ge=1, le=1095)
    ca_certificate_validity_period_days: int | None = int32_field(
        "How many days the CA certificates Cluster API generates stay valid; 3650 when not given. Cannot be "
        "changed once set.", ge=1, le=36500)
    encryption_algorithm: EncryptionAlgorithm | None = Field(
        default=None, description="The key type and size of the certificates and keys kubeadm creates: ECDSA-P256, "
                                  "ECDSA-P384, RSA-2048, RSA-3072 or RSA-4096; RSA-2048 when not given.")
