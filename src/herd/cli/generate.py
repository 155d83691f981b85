"""`herd generate cluster NAME`: clusterctl's `generate cluster` for herd. It reads a cluster template (a flavor
herd ships, or --from a file, a URL or stdin), substitutes its variables as clusterctl's simple processor does,
puts every namespaced object in the target namespace and prints the objects for `kubectl apply -f -`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from herd.runtime.webhook import dns1123_subdomain_problems

from . import templating
from .generate_variables import Variables, read_config, where
from .get import add_management_argument, management_kubeconfig
from .serve import CLIError

INFRASTRUCTURE = "dev"  # the one infrastructure provider whose templates herd ships
DEFAULT_FLAVOR = "dev"
FETCH_TIMEOUT_SECONDS = 30.0  # clusterctl's own timeout for downloads
TEMPLATE_PREFIX = "cluster-template-"
# kube's version.ParseSemantic: an optional "v", then major.minor.patch with optional pre-release and build
_SEMANTIC_VERSION = re.compile(r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                               r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
_GO_INTEGER = re.compile(r"[+-]?[0-9]+")
# the kinds clusterctl leaves without a namespace (everything else is put in the target namespace)
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "PodSecurityPolicy", "CertificateSigningRequest", "ClusterRoleBinding",
    "ClusterRole", "VolumeAttachment", "StorageClass", "CSIDriver", "CSINode", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "CustomResourceDefinition", "PriorityClass", "RuntimeClass",
})


def add_parser(commands: Any) -> None:
    generate = commands.add_parser("generate", help="generate the manifests of a workload cluster",
                                   epilog="example: herd generate cluster c1 --kubernetes-version v1.33.0 "
                                          "| kubectl apply -f -")
    kinds = generate.add_subparsers(dest="kind", required=True, metavar="KIND")
    cluster = kinds.add_parser(
        "cluster", help="print a workload cluster's manifests from a cluster template, as clusterctl does",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Variables come from the flags, then the environment, then the clusterctl config file.",
        epilog="example: herd generate cluster c1 --kubernetes-version v1.33.0 --worker-machine-count 2 "
               "| kubectl apply -f -")
    cluster.add_argument("name", metavar="NAME", help="the Cluster's name (the template's ${CLUSTER_NAME})")
    cluster.add_argument("-f", "--flavor", help=f"the template herd ships to use: {', '.join(flavors())} "
                         f"(default: {DEFAULT_FLAVOR})")
    cluster.add_argument("-i", "--infrastructure", help=f"the infrastructure provider (herd has {INFRASTRUCTURE})")
    cluster.add_argument("--from", dest="source", metavar="FILE|URL|-",
                         help="read the template from a file, an http(s) URL, or stdin (-) instead of a flavor")
    cluster.add_argument("--kubernetes-version", metavar="V", help="the template's ${KUBERNETES_VERSION}")
    cluster.add_argument("--control-plane-machine-count", type=int, metavar="N",
                         help="the template's ${CONTROL_PLANE_MACHINE_COUNT} (default: the variable, else 1)")
    cluster.add_argument("--worker-machine-count", type=int, metavar="N",
                         help="the template's ${WORKER_MACHINE_COUNT} (default: the variable, else 0)")
    cluster.add_argument("-n", "--target-namespace", metavar="NS",
                         help="the namespace of every object and the template's ${NAMESPACE} "
                              "(default: the kubeconfig context's namespace, else default)")
    cluster.add_argument("--list-variables", action="store_true",
                         help="print the template's required and optional variables instead of the manifests")
    cluster.add_argument("--config", type=Path, metavar="FILE", help="a clusterctl.yaml whose top-level keys are "
                         "variables (default: ~/.config/cluster-api/clusterctl.yaml or ~/.cluster-api/clusterctl.yaml)")
    add_management_argument(cluster)
    cluster.set_defaults(run=run_cluster)


def flavors() -> list[str]:
    """The flavors herd ships: templates/cluster-template-<flavor>.yaml in the package."""
    folder = resources.files("herd").joinpath("templates")
    names = (entry.name for entry in folder.iterdir()) if folder.is_dir() else iter(())
    return sorted(name.removeprefix(TEMPLATE_PREFIX).removesuffix(".yaml") for name in names
                  if name.startswith(TEMPLATE_PREFIX) and name.endswith(".yaml"))


def run_cluster(args: argparse.Namespace) -> int:
    environ = os.environ
    template = read_template(args)
    variables = Variables(environ, read_config(args.config, environ))
    namespace = args.target_namespace or kubeconfig_namespace(args.kubeconfig)
    set_command_line_variables(variables, args, namespace)
    try:
        if args.list_variables:
            write(variables_listing(templating.variable_defaults(template), args, namespace, environ))
            return 0
        rendered = templating.render(template, variables.get)
    except templating.TemplateSyntaxError as exc:
        raise CLIError(f"the cluster template is not valid: {exc}") from None
    except templating.MissingVariables as exc:
        raise CLIError(f"{exc}; set them in the environment or in the clusterctl config file (--config)") from None
    write(render_objects([in_namespace(obj, namespace) for obj in parse_objects(rendered)]))
    return 0


def read_template(args: argparse.Namespace) -> str:
    if args.source is not None:
        if args.flavor is not None or args.infrastructure is not None:
            raise CLIError("only one template source at a time: --from, or --flavor/--infrastructure")
        return read_source(args.source)
    provider = (args.infrastructure or INFRASTRUCTURE).partition(":")[0]  # clusterctl's name[:version]
    if provider != INFRASTRUCTURE:
        raise CLIError(f"herd has no templates for the infrastructure provider {provider!r}; use {INFRASTRUCTURE}")
    flavor = args.flavor or DEFAULT_FLAVOR
    known = flavors()
    if flavor not in known:
        raise CLIError(f"unknown flavor {flavor!r}; herd ships the flavors: {', '.join(known)} "
                       "(or give a template with --from)")
    return resources.files("herd").joinpath("templates", f"{TEMPLATE_PREFIX}{flavor}.yaml").read_text()


def read_source(source: str) -> str:
    """`-` is stdin, http(s) is fetched with a timeout, file:// and anything without a scheme is a local path."""
    if source == "-":
        return sys.stdin.read()
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        return fetch(source)
    if parsed.scheme not in ("", "file"):
        raise CLIError(f"cannot read a template from {source!r}: use a file path, file://, http(s):// or -")
    path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else source).expanduser()
    if path.is_dir():
        raise CLIError(f"the template {path} is a directory, not a file")
    try:
        return path.read_text()
    except OSError as exc:
        raise CLIError(f"cannot read the template {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CLIError(f"the template {path} is not UTF-8 text") from None


def fetch(url: str) -> str:
    shown = urllib.parse.urlparse(url)._replace(query="", fragment="").geturl()  # a query may carry a token
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as exc:
        raise CLIError(f"cannot fetch the template from {shown}: the server answered {exc.code} {exc.reason}") \
            from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise CLIError(f"cannot fetch the template from {shown}: {reason}") from None
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise CLIError(f"the template at {shown} is not UTF-8 text") from None


def kubeconfig_namespace(given: Path | None) -> str:
    """The namespace of the management kubeconfig's current context, as clusterctl's target namespace defaults."""
    path = management_kubeconfig(given)
    try:
        config = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        config = None
    if not isinstance(config, dict):
        return "default"
    current = config.get("current-context")
    for entry in config.get("contexts") or []:
        if isinstance(entry, dict) and entry.get("name") == current and isinstance(entry.get("context"), dict):
            return str(entry["context"].get("namespace") or "default")
    return "default"


def set_command_line_variables(variables: Variables, args: argparse.Namespace, namespace: str) -> None:
    """CLUSTER_NAME, NAMESPACE, KUBERNETES_VERSION and the machine counts, checked as clusterctl checks them."""
    if len(namespace) > 63 or "." in namespace or dns1123_subdomain_problems(namespace):
        raise CLIError(f"invalid target namespace {namespace!r}: a namespace is a DNS-1123 label (lowercase letters, "
                       "digits and '-', at most 63 characters)")
    variables.set("NAMESPACE", namespace)
    if problems := dns1123_subdomain_problems(args.name):
        raise CLIError(f"invalid cluster name {args.name!r}: {'; '.join(problems)}")
    variables.set("CLUSTER_NAME", args.name)
    if args.kubernetes_version is not None:
        if not _SEMANTIC_VERSION.fullmatch(args.kubernetes_version):
            raise CLIError(f"invalid --kubernetes-version {args.kubernetes_version!r}: use a semantic version "
                           "such as v1.33.0")
        variables.set("KUBERNETES_VERSION", args.kubernetes_version)
    for name, given, default, least in (("CONTROL_PLANE_MACHINE_COUNT", args.control_plane_machine_count, 1, 1),
                                        ("WORKER_MACHINE_COUNT", args.worker_machine_count, 0, 0)):
        count = given if given is not None else machine_count(name, variables.get(name), default)
        if count < least:
            raise CLIError(f"invalid {name.lower().replace('_', '-')} {count}: it must be at least {least}")
        variables.set(name, str(count))


def machine_count(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not _GO_INTEGER.fullmatch(value):
        raise CLIError(f"invalid value for {name}: {value!r} is not a whole number")
    return int(value)


def variables_listing(defaults: Mapping[str, str | None], args: argparse.Namespace, namespace: str,
                      environ: Mapping[str, str]) -> str:
    """clusterctl's --list-variables: required names, then optional ones with the value they default to."""
    shown: dict[str, str | None] = {}
    for name, default in defaults.items():
        shown[name] = json.dumps(default, ensure_ascii=False) if default and not default.startswith('"') else default
    # the variables clusterctl itself sets show the value it would use, not the template's default
    counts = {"CONTROL_PLANE_MACHINE_COUNT": (args.control_plane_machine_count, "1"),
              "WORKER_MACHINE_COUNT": (args.worker_machine_count, "0")}
    for name in shown:
        if name == "CLUSTER_NAME":
            shown[name] = args.name
        elif name == "NAMESPACE":
            shown[name] = namespace
        elif name in counts:
            given, fallback = counts[name]
            shown[name] = str(given) if given is not None else environ.get(name, fallback)
        elif name == "KUBERNETES_VERSION" and (args.kubernetes_version or name in environ):
            shown[name] = args.kubernetes_version or environ[name]
    required = [name for name, value in shown.items() if value is None]
    optional = {name: value for name, value in shown.items() if value is not None}
    lines = ["Required Variables:", *(f"  - {name}" for name in required)] if required else []
    if optional:
        width = max(len(name) for name in optional) + 4 + 2  # "  - " and tabwriter's padding of 2
        lines += ["", "Optional Variables:",
                  *(f"{'  - ' + name:<{width}}(defaults to {value})" for name, value in optional.items())]
    return "\n".join(lines) + "\n\n"


def parse_objects(rendered: str) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(rendered))
    except yaml.YAMLError as exc:  # the problem and its line, not the text: it may hold substituted secrets
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise CLIError(f"the rendered template is not valid YAML{where(exc)}: {problem}") from None
    objects = []
    for number, document in enumerate(documents, start=1):
        if document is None or document == {}:  # an empty document, e.g. two --- in a row
            continue
        if not isinstance(document, dict):
            raise CLIError(f"document {number} of the rendered template is not an object")
        objects.append(document)
    return objects


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """clusterctl's target namespace: every namespaced object in it, Namespaces renamed, binding subjects moved."""
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise CLIError(f"the {obj.get('kind', 'object')}'s metadata is not a mapping")
    kind = obj.get("kind")
    if kind == "Namespace":
        metadata["name"] = namespace
    if kind not in CLUSTER_SCOPED_KINDS:
        metadata["namespace"] = namespace
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        for subject in obj.get("subjects") or []:
            if isinstance(subject, dict) and subject.get("namespace"):
                subject["namespace"] = namespace
    return obj


def render_objects(objects: list[dict[str, Any]]) -> str:
    """One document per object, keys sorted and `---` between them, as clusterctl prints them."""
    return "---\n".join(yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True,
                                       width=1 << 20) for obj in objects)


def write(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `herd generate cluster c1 | head`: the reader went away, which is not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
