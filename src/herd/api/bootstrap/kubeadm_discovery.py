"""How a joining node finds and trusts the cluster (kubeadm's Discovery): a bootstrap token, or a
kubeconfig file that the bootstrap controller may generate."""

from __future__ import annotations

from pydantic import Field

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.fields import Str512, atomic_list


class BootstrapTokenDiscovery(APIModel):
    """Discovery with a bootstrap token: the node fetches the cluster-info ConfigMap and checks it against the
    CA hashes."""

    model_config = NOT_EMPTY

    token: str | None = Field(default=None, min_length=1, max_length=512, description="The bootstrap token used "
                              "to authenticate the cluster information fetched from the control plane.")
    api_server_endpoint: str | None = Field(default=None, min_length=1, max_length=512, description="The address "
                                            "(IP or DNS name, with port) of the API server to fetch the cluster "
                                            "information from.")
    ca_cert_hashes: list[Str512] | None = atomic_list(
        "Public key pins of the acceptable cluster CAs, each \"sha256:<hex>\": the SHA-256 of the CA certificate's "
        "DER-encoded Subject Public Key Info. The CA found during discovery must match one of them; an empty list "
        "disables pinning.", min_items=1, max_items=100)
    unsafe_skip_ca_verification: bool | None = Field(
        default=None, alias="unsafeSkipCAVerification",
        description="Accept the discovered CA without checking it against caCertHashes. This lets anyone who can "
                    "impersonate the control plane take over the node.")


class KubeConfigCluster(APIModel):
    """The cluster part of a discovery kubeconfig: where the API server is and how to trust it."""

    model_config = NOT_EMPTY

    server: str | None = Field(default=None, min_length=1, max_length=512, description="The API server's URL "
                               "(https://host:port); https:// followed by the Cluster's control plane endpoint "
                               "when not given.")
    tls_server_name: str | None = Field(default=None, min_length=1, max_length=512, description="The name to "
                                        "check the server certificate against; the host of server when not given.")
    insecure_skip_tls_verify: bool | None = Field(default=None, alias="insecureSkipTLSVerify",
                                                  description="Do not verify the server's certificate. Makes the "
                                                  "connection insecure.")
    certificate_authority_data: str | None = Field(
        default=None, min_length=1, max_length=51200, json_schema_extra=k8s(format="byte"),
        description="PEM-encoded CA certificates to trust, base64-encoded on the wire; the Cluster's CA "
                    "certificate when not given.")
    proxy_url: str | None = Field(default=None, alias="proxyURL", min_length=1, max_length=512,
                                  description="The proxy (http, https or socks5 URL) for requests to the API server; "
                                  "when not given, the http_proxy and https_proxy environment variables apply, if "
                                  "set. socks5 proxies do not carry streaming requests such as exec or port "
                                  "forwarding.")


class KubeConfigAuthProvider(APIModel):
    """An authentication provider plugin for the discovery kubeconfig."""

    name: str = Field(min_length=1, max_length=256, description="The name of the plugin.")
    config: dict[str, str] | None = Field(default=None, description="Settings passed to the plugin.")


class KubeConfigAuthExecEnv(APIModel):
    """An environment variable set for an exec credential plugin."""

    name: str = Field(min_length=1, max_length=512, description="The variable's name.")
    value: str = Field(min_length=1, max_length=512, description="The variable's value.")


class KubeConfigAuthExec(APIModel):
    """A command run to obtain client credentials (a client.authentication.k8s.io exec plugin)."""

    command: str = Field(min_length=1, max_length=1024, description="The command to run.")
    args: list[Str512] | None = atomic_list("Arguments to the command.", min_items=1, max_items=100)
    env: list[KubeConfigAuthExecEnv] | None = atomic_list(
        "Environment variables added to the host's environment (and to those the client sets for the plugin) when "
        "the command runs.", min_items=1, max_items=100)
    api_version: str | None = Field(default=None, min_length=1, max_length=512, description="The version of the "
                                    "ExecCredential exchanged with the command; the command must answer in the same "
                                    "version. client.authentication.k8s.io/v1 when not given.")
    provide_cluster_info: bool | None = Field(default=None, description="Pass the cluster's details, possibly "
                                              "including large CA data, to the command in the KUBERNETES_EXEC_INFO "
                                              "environment variable; false when not given.")


class KubeConfigUser(APIModel):
    """Who the joining node is to the API server while discovering: an auth provider or an exec plugin, not
    both."""

    model_config = NOT_EMPTY

    auth_provider: KubeConfigAuthProvider | None = Field(default=None, description="Authenticate with an "
                                                         "authentication provider plugin.")
    exec: KubeConfigAuthExec | None = Field(default=None, description="Authenticate with credentials printed by "
                                            "a command.")


class FileDiscoveryKubeConfig(APIModel):
    """A kubeconfig that the bootstrap controller generates for file discovery, from the Cluster's endpoint
    and CA and the user given here."""

    cluster: KubeConfigCluster | None = Field(default=None, description="How to reach and trust the cluster; the "
                                              "server and CA data are filled in from the Cluster when not given.")
    user: KubeConfigUser = Field(description="The credentials the kubeconfig presents.")


class FileDiscovery(APIModel):
    """Discovery with a kubeconfig file (or URL) that holds the cluster information."""

    kube_config_path: str = Field(min_length=1, max_length=512, description="The path or URL of the kubeconfig "
                                  "file to load the cluster information from.")
    kube_config: FileDiscoveryKubeConfig | None = Field(default=None, description="When given, the kubeconfig is "
                                                        "generated and written at kubeConfigPath.")


class Discovery(APIModel):
    """How a joining node obtains and verifies the cluster information during TLS bootstrap."""

    model_config = NOT_EMPTY

    bootstrap_token: BootstrapTokenDiscovery | None = Field(default=None, description="Discover with a bootstrap "
                                                            "token. Exclusive with file.")
    file: FileDiscovery | None = Field(default=None, description="Discover from a kubeconfig file or URL. "
                                       "Exclusive with bootstrapToken.")
    tls_bootstrap_token: str | None = Field(
        default=None, min_length=1, max_length=512,
        description="The token the kubelet uses for TLS bootstrap. Taken from bootstrapToken.token when that is "
                    "set; required with file discovery when the kubeconfig carries no other credentials.")
