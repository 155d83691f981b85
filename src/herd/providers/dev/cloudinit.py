"""Reading a machine's bootstrap data the way cloud-init would: `#cloud-config` YAML with write_files and runcmd.

A simulated machine does not run anything; it reads what the data would have written and which kubeadm command
it would have run (`kubeadm init --config F` or `kubeadm join --config F`), then the kubeadm documents in F.
Pure functions over bytes; `BootstrapDataError` says, in one line, what is wrong with the data.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

# libyaml's safe loader when PyYAML was built with it (several times faster: every joining node parses its data)
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KubeadmAction = Literal["init", "join"]
_SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&"})
# cloud-init's jinja templates see instance data; the kubeadm bootstrap provider only uses the host names.
_HOSTNAME_VARIABLE = re.compile(r"\{\{\s*ds\.meta_data\.(?:local_hostname|hostname)\s*\}\}")
_ENCODINGS = {
    "b64": ("base64",), "base64": ("base64",),
    "gz": ("gzip",), "gzip": ("gzip",),
    "gz+b64": ("base64", "gzip"), "gz+base64": ("base64", "gzip"),
    "gzip+b64": ("base64", "gzip"), "gzip+base64": ("base64", "gzip"),
    "text/plain": (),
}


class BootstrapDataError(ValueError):
    """The bootstrap data cannot be booted from."""


@dataclass(frozen=True, repr=False)
class WrittenFile:
    """One write_files entry, decoded (content may be key material: kept out of repr)."""

    path: str
    content: bytes
    permissions: str | None = None
    owner: str | None = None
    append: bool = False

    def __repr__(self) -> str:
        return f"WrittenFile({self.path!r}, {len(self.content)} bytes)"


@dataclass(frozen=True)
class KubeadmCommand:
    """The kubeadm command the data runs, and the config file it passes."""

    action: KubeadmAction
    config_path: str


@dataclass(frozen=True)
class CloudConfig:
    """What a `#cloud-config` document would do: files to write, commands to run."""

    files: dict[str, WrittenFile] = field(default_factory=dict)
    runcmd: list[str] = field(default_factory=list)

    def file(self, path: str) -> bytes | None:
        """The content written to `path`, if any entry writes it."""
        found = self.files.get(path)
        return found.content if found is not None else None

    def kubeadm_command(self) -> KubeadmCommand | None:
        """The first `kubeadm init|join --config F`, in runcmd or in a written script runcmd executes."""
        for line in self.runcmd:
            found = _find_kubeadm(line, self.files, depth=0)
            if found is not None:
                return found
        return None

    def kubeadm_documents(self, command: KubeadmCommand) -> list[dict[str, Any]]:
        """The YAML documents of the command's config file (ClusterConfiguration, InitConfiguration, …)."""
        content = self.file(command.config_path)
        if content is None:
            raise BootstrapDataError(f"kubeadm {command.action} reads {command.config_path}, which the data never "
                                     "writes")
        try:
            documents = [doc for doc in yaml.load_all(content.decode("utf-8"), Loader=SAFE_LOADER) if doc is not None]
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise BootstrapDataError(f"{command.config_path} is not valid YAML: {_first_line(exc)}") from None
        if not all(isinstance(doc, dict) for doc in documents):
            raise BootstrapDataError(f"{command.config_path} holds a YAML document that is not a mapping")
        return documents


def parse_cloud_config(data: bytes | str, *, hostname: str | None = None) -> CloudConfig:
    """Parse user data; `hostname` fills cloud-init's jinja host name variables when the data is a template.

    Raises BootstrapDataError for anything that is not a cloud-config document cloud-init would accept.
    """
    text = data.decode("utf-8", errors="strict") if isinstance(data, bytes) else data
    header = [line.strip() for line in text.lstrip().splitlines()[:2]]
    if "#cloud-config" not in header:
        raise BootstrapDataError("the bootstrap data is not a #cloud-config document (ignition and shell scripts "
                                 "are not supported by the inMemory backend)")
    if hostname is not None and header[0].replace(" ", "") == "##template:jinja":
        text = _HOSTNAME_VARIABLE.sub(hostname, text)
    try:
        document = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise BootstrapDataError(f"the cloud-config is not valid YAML: {_first_line(exc)}") from None
    if document is None:
        return CloudConfig()
    if not isinstance(document, dict):
        raise BootstrapDataError("the cloud-config is not a YAML mapping")
    files: dict[str, WrittenFile] = {}
    for index, entry in enumerate(document.get("write_files") or []):
        written = _written_file(entry, index)
        previous = files.get(written.path)
        if written.append and previous is not None:
            written = WrittenFile(written.path, previous.content + written.content, written.permissions,
                                  written.owner)
        files[written.path] = written
    runcmd = [_command_line(entry) for entry in document.get("runcmd") or []]
    return CloudConfig(files, runcmd)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _written_file(entry: Any, index: int) -> WrittenFile:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        raise BootstrapDataError(f"write_files[{index}] has no path")
    path: str = entry["path"]
    raw = entry.get("content", "")
    content = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")  # YAML !!binary arrives as bytes
    encoding = str(entry.get("encoding") or "text/plain").strip().lower()
    steps = _ENCODINGS.get(encoding)
    if steps is None:
        raise BootstrapDataError(f"write_files {path}: unknown encoding {encoding!r}")
    try:
        for step in steps:
            content = base64.b64decode(content, validate=False) if step == "base64" else gzip.decompress(content)
    except (binascii.Error, OSError, EOFError) as exc:
        raise BootstrapDataError(f"write_files {path}: content is not valid {encoding}: {exc}") from None
    permissions = entry.get("permissions")
    owner = entry.get("owner")
    return WrittenFile(path, content, str(permissions) if permissions is not None else None,
                       str(owner) if owner is not None else None, bool(entry.get("append")))


def _command_line(entry: Any) -> str:
    """A runcmd entry as one shell line (cloud-init runs a list entry as argv, a string through sh)."""
    if isinstance(entry, list):
        return shlex.join(str(part) for part in entry)
    return str(entry)


def _find_kubeadm(line: str, files: dict[str, WrittenFile], *, depth: int) -> KubeadmCommand | None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:  # unbalanced quotes: look at the words as they stand
        tokens = line.split()
    for i, token in enumerate(tokens):
        if token.rsplit("/", 1)[-1] == "kubeadm" and i + 1 < len(tokens) and tokens[i + 1] in ("init", "join"):
            action: KubeadmAction = "init" if tokens[i + 1] == "init" else "join"
            arguments = _until_operator(tokens[i + 2:])
            if arguments and arguments[0] == "phase":  # `kubeadm init phase …` is a step, not the boot
                continue
            config = _config_flag(arguments)
            if config is None:
                raise BootstrapDataError(f"`kubeadm {action}` runs without --config: the inMemory backend boots "
                                         "only from a kubeadm config file")
            return KubeadmCommand(action, config)
        if depth < 3:
            # `sh -c '…'` or a script the data wrote and now executes (e.g. the retrying join script)
            nested = files.get(token)
            text = nested.content.decode("utf-8", errors="replace") if nested is not None else \
                token if " " in token else None
            if text is not None:
                for nested_line in text.splitlines():
                    found = _find_kubeadm(nested_line, files, depth=depth + 1)
                    if found is not None:
                        return found
    return None


def _until_operator(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if token in _SHELL_OPERATORS:
            break
        out.append(token)
    return out


def _config_flag(arguments: list[str]) -> str | None:
    for i, argument in enumerate(arguments):
        if argument == "--config" and i + 1 < len(arguments):
            return arguments[i + 1]
        if argument.startswith("--config="):
            return argument.split("=", 1)[1]
    return None


# ----- the boot: what `kubeadm init|join` would have done with these files -----------------------------------

CA_CERT_PATH = "/etc/kubernetes/pki/ca.crt"
CA_KEY_PATH = "/etc/kubernetes/pki/ca.key"
SA_KEY_PATH = "/etc/kubernetes/pki/sa.key"
SA_PUB_PATH = "/etc/kubernetes/pki/sa.pub"
ETCD_CA_CERT_PATH = "/etc/kubernetes/pki/etcd/ca.crt"
ETCD_CA_KEY_PATH = "/etc/kubernetes/pki/etcd/ca.key"


@dataclass(frozen=True, repr=False)
class BootPlan:
    """What booting from the data means for a simulated machine (holds key material: no repr of it)."""

    action: KubeadmAction
    control_plane: bool  # init, or a join with a controlPlane section
    ca_cert: bytes | None = None
    ca_key: bytes | None = None
    sa_key: bytes | None = None
    sa_pub: bytes | None = None
    etcd_ca_cert: bytes | None = None  # the stacked etcd's CA (its members' serving and client certificates)
    etcd_ca_key: bytes | None = None
    token: str | None = None  # join: the bootstrap token it authenticates with
    api_server_endpoint: str | None = None  # join: host:port (or URL) from discovery
    discovery_ca: bytes | None = None  # join: the CA a discovery kubeconfig file names
    ca_cert_hashes: tuple[str, ...] = ()
    unsafe_skip_ca_verification: bool = False
    node_labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] | None = None  # None: kubeadm's default (control plane taint on control planes)
    cluster_configuration: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"BootPlan(kubeadm {self.action}, control_plane={self.control_plane})"

    @property
    def serves_api(self) -> bool:
        """Whether this machine can run the cluster's API server: it holds the cluster CA's key."""
        return self.control_plane and self.ca_cert is not None and self.ca_key is not None


def boot_plan(data: bytes | str, *, hostname: str | None = None) -> BootPlan:
    """Parse bootstrap data and the kubeadm config it passes to `kubeadm init|join`; BootstrapDataError if unusable."""
    config = parse_cloud_config(data, hostname=hostname)
    command = config.kubeadm_command()
    if command is None:
        raise BootstrapDataError("the bootstrap data runs neither `kubeadm init` nor `kubeadm join`")
    documents = {str(doc.get("kind")): doc for doc in config.kubeadm_documents(command)}
    ca_cert, ca_key = config.file(CA_CERT_PATH), config.file(CA_KEY_PATH)
    sa_key, sa_pub = config.file(SA_KEY_PATH), config.file(SA_PUB_PATH)
    etcd_ca_cert, etcd_ca_key = config.file(ETCD_CA_CERT_PATH), config.file(ETCD_CA_KEY_PATH)
    if command.action == "init":
        init = documents.get("InitConfiguration", {})
        if ca_cert is None or ca_key is None:
            raise BootstrapDataError(f"kubeadm init needs the cluster CA: the data writes no {CA_CERT_PATH} and "
                                     f"{CA_KEY_PATH}")
        registration = _mapping(init.get("nodeRegistration"))
        return BootPlan("init", True, ca_cert, ca_key, sa_key, sa_pub, etcd_ca_cert, etcd_ca_key,
                        node_labels=_node_labels(registration), taints=_taints(registration),
                        cluster_configuration=documents.get("ClusterConfiguration"))
    join = documents.get("JoinConfiguration")
    if join is None:
        raise BootstrapDataError(f"{command.config_path} has no JoinConfiguration for kubeadm join")
    discovery = _mapping(join.get("discovery"))
    token_discovery = _mapping(discovery.get("bootstrapToken"))
    file_token, file_server, file_ca = _file_discovery(config, _mapping(discovery.get("file")))
    token = discovery.get("tlsBootstrapToken") or token_discovery.get("token") or file_token
    if not token:
        raise BootstrapDataError("the JoinConfiguration has no bootstrap token (discovery.bootstrapToken.token or "
                                 "discovery.tlsBootstrapToken)")
    registration = _mapping(join.get("nodeRegistration"))
    return BootPlan(
        "join", "controlPlane" in join and join["controlPlane"] is not None, ca_cert, ca_key, sa_key, sa_pub,
        etcd_ca_cert, etcd_ca_key, token=str(token),
        api_server_endpoint=token_discovery.get("apiServerEndpoint") or file_server, discovery_ca=file_ca,
        ca_cert_hashes=tuple(str(h) for h in token_discovery.get("caCertHashes") or []),
        unsafe_skip_ca_verification=bool(token_discovery.get("unsafeSkipCAVerification")),
        node_labels=_node_labels(registration), taints=_taints(registration))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _file_discovery(config: CloudConfig, file_discovery: dict[str, Any]) -> tuple[str | None, str | None,
                                                                                   bytes | None]:
    """(token, server, CA) from the discovery kubeconfig file the data writes, as far as it holds them."""
    path = file_discovery.get("kubeConfigPath")
    content = config.file(str(path)) if path else None
    if content is None:
        return None, None, None
    try:
        kubeconfig = _mapping(yaml.load(content, Loader=SAFE_LOADER))
    except yaml.YAMLError:
        return None, None, None
    token = next((str(_mapping(_mapping(u).get("user")).get("token")) for u in kubeconfig.get("users") or []
                  if _mapping(_mapping(u).get("user")).get("token")), None)
    clusters = [_mapping(_mapping(c).get("cluster")) for c in kubeconfig.get("clusters") or []]
    server = str(clusters[0]["server"]) if clusters and clusters[0].get("server") else None
    ca_data = clusters[0].get("certificate-authority-data") if clusters else None
    try:
        ca = base64.b64decode(str(ca_data), validate=True) if ca_data else None
    except binascii.Error:
        ca = None
    return token, server, ca


def _kubelet_arg(registration: dict[str, Any], name: str) -> str | None:
    """A kubeletExtraArgs value: a map in kubeadm v1beta3, a list of {name, value} in v1beta4."""
    args = registration.get("kubeletExtraArgs")
    if isinstance(args, dict):
        value = args.get(name)
        return str(value) if value is not None else None
    for arg in args or []:
        if isinstance(arg, dict) and arg.get("name") == name:
            return str(arg.get("value") or "")
    return None


def _node_labels(registration: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in (_kubelet_arg(registration, "node-labels") or "").split(","):
        key, _, value = pair.strip().partition("=")
        if key:
            labels[key] = value
    return labels


def _taints(registration: dict[str, Any]) -> list[dict[str, Any]] | None:
    taints = registration.get("taints")
    if taints is None:
        return None
    return [{k: v for k, v in taint.items() if k in ("key", "value", "effect")}
            for taint in taints if isinstance(taint, dict) and taint.get("key")]
