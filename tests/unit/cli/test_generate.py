"""`herd generate cluster` as a user runs it: the dev flavor's objects and values, where variables come from and
which wins, the target namespace, --list-variables, templates --from a file, stdin or a local http server, upstream's
in-memory template, and every mistake as one line on stderr with exit code 1."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from herd.cli.main import main

UPSTREAM_IN_MEMORY = Path(__file__).resolve().parents[2] / "data" / "cluster-template-in-memory.yaml"
DEV_KINDS = ["Cluster", "DevCluster", "DevMachineTemplate", "KubeadmControlPlane", "DevMachineTemplate",
             "KubeadmConfigTemplate", "MachineDeployment", "MachineHealthCheck", "MachineHealthCheck"]
CLUSTERCTL_VARIABLES = ("KUBERNETES_VERSION", "CONTROL_PLANE_MACHINE_COUNT", "WORKER_MACHINE_COUNT", "NAMESPACE",
                        "CLUSTER_NAME", "POD_CIDR", "SERVICE_CIDR", "SERVICE_DOMAIN", "FOO", "BAR", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home without a clusterctl.yaml or a kubeconfig, and an environment without clusterctl's variables."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    for name in CLUSTERCTL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def generate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", "cluster", *args])
    out, err = capsys.readouterr()
    return code, out, err


def objects(out: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(out) if document]


def by_kind(out: str, kind: str) -> dict[str, Any]:
    return next(obj for obj in objects(out) if obj["kind"] == kind)


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = generate(capsys, *args)
    assert (code, out) == (1, ""), (code, out, err)
    assert err.startswith("herd: ") and err.count("\n") == 1, err
    return err.removeprefix("herd: ").rstrip("\n")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_dev_flavor_is_a_whole_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = generate(capsys, "c1", "--kubernetes-version", "v1.33.0", "--control-plane-machine-count", "3",
                            "--worker-machine-count", "2")
    assert code == 0
    assert [obj["kind"] for obj in objects(out)] == DEV_KINDS
    assert {obj["metadata"]["namespace"] for obj in objects(out)} == {"default"}
    cluster, kcp, md = by_kind(out, "Cluster"), by_kind(out, "KubeadmControlPlane"), by_kind(out, "MachineDeployment")
    assert cluster["spec"]["clusterNetwork"] == {"pods": {"cidrBlocks": ["192.168.0.0/16"]}, "serviceDomain":
                                                 "cluster.local", "services": {"cidrBlocks": ["10.128.0.0/12"]}}
    assert cluster["spec"]["controlPlaneRef"]["name"] == kcp["metadata"]["name"] == "c1-control-plane"
    assert (kcp["spec"]["replicas"], kcp["spec"]["version"]) == (3, "v1.33.0")
    assert (md["spec"]["replicas"], md["spec"]["template"]["spec"]["version"], md["spec"]["clusterName"]) == \
        (2, "v1.33.0", "c1")
    assert [fd["name"] for fd in by_kind(out, "DevCluster")["spec"]["backend"]["inMemory"]["failureDomains"]] == \
        ["fd1", "fd2", "fd3"]
    assert out.count("\n---\n") == len(DEV_KINDS) - 1 and "${" not in out


def test_the_flavor_and_infrastructure_may_be_named(capsys: pytest.CaptureFixture[str]) -> None:
    plain = generate(capsys, "c1", "--kubernetes-version", "v1.33.0")
    assert generate(capsys, "c1", "--kubernetes-version", "v1.33.0", "-f", "dev", "-i", "dev:v1.11.0") == plain


@pytest.mark.parametrize(("environment", "config", "flags", "expected"), [
    pytest.param({}, {}, [], (1, 0, "v1.30.0"), id="defaults"),
    pytest.param({"CONTROL_PLANE_MACHINE_COUNT": "3", "WORKER_MACHINE_COUNT": "4"}, {}, [], (3, 4, "v1.30.0"),
                 id="environment"),
    pytest.param({}, {"CONTROL_PLANE_MACHINE_COUNT": 5, "kubernetes_version": "v1.31.0"}, [], (5, 0, "v1.31.0"),
                 id="config-file-any-case"),
    pytest.param({"CONTROL_PLANE_MACHINE_COUNT": "3", "KUBERNETES_VERSION": "v1.32.0"},
                 {"CONTROL_PLANE_MACHINE_COUNT": 5, "KUBERNETES_VERSION": "v1.31.0"}, [], (3, 0, "v1.32.0"),
                 id="environment-over-config"),
    pytest.param({"CONTROL_PLANE_MACHINE_COUNT": "3", "KUBERNETES_VERSION": "v1.32.0"},
                 {"WORKER_MACHINE_COUNT": 7}, ["--control-plane-machine-count", "1", "--kubernetes-version", "v1.34.1"],
                 (1, 7, "v1.34.1"), id="flags-over-both"),
])
def test_where_values_come_from(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                environment: dict[str, str], config: dict[str, Any], flags: list[str],
                                expected: tuple[int, int, str]) -> None:
    path = write(tmp_path / "clusterctl.yaml", yaml.safe_dump({"KUBERNETES_VERSION": "v1.30.0", **config}))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code, out, err = generate(capsys, "c1", "--config", str(path), *flags)
    assert code == 0, err
    kcp, md = by_kind(out, "KubeadmControlPlane"), by_kind(out, "MachineDeployment")
    assert (kcp["spec"]["replicas"], md["spec"]["replicas"], kcp["spec"]["version"]) == expected


@pytest.mark.parametrize("folder", [".config/cluster-api", ".cluster-api"])
def test_the_default_config_files(capsys: pytest.CaptureFixture[str], home: Path, folder: str) -> None:
    write(home / folder / "clusterctl.yaml", "KUBERNETES_VERSION: v1.29.3\nPOD_CIDR: '[\"10.1.0.0/16\"]'\n")
    code, out, _ = generate(capsys, "c1")
    assert code == 0
    assert by_kind(out, "KubeadmControlPlane")["spec"]["version"] == "v1.29.3"
    assert by_kind(out, "Cluster")["spec"]["clusterNetwork"]["pods"]["cidrBlocks"] == ["10.1.0.0/16"]


def test_the_target_namespace_holds_every_namespaced_object(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    template = write(tmp_path / "t.yaml", "kind: Namespace\nmetadata: {name: x}\n---\nkind: ConfigMap\nmetadata: "
                     "{name: a, namespace: elsewhere}\ndata: {ns: '${NAMESPACE}'}\n---\nkind: ClusterRole\nmetadata: "
                     "{name: r}\n---\nkind: RoleBinding\nmetadata: {name: b}\nsubjects: [{kind: ServiceAccount, "
                     "name: s, namespace: other}, {kind: Group, name: g}]\n---\n---\n")
    code, out, _ = generate(capsys, "c1", "--from", str(template), "-n", "team-a")
    assert code == 0
    namespace, config_map, role, binding = objects(out)
    assert namespace["metadata"] == {"name": "team-a"}  # clusterctl renames it and leaves it cluster-scoped
    assert config_map["metadata"]["namespace"] == "team-a" and config_map["data"] == {"ns": "team-a"}
    assert "namespace" not in role["metadata"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "s", "namespace": "team-a"},
                                   {"kind": "Group", "name": "g"}]


def test_without_n_the_kubeconfig_context_namespace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kubeconfig = write(tmp_path / "kubeconfig", yaml.safe_dump({"current-context": "c", "contexts": [
        {"name": "other", "context": {"namespace": "no"}}, {"name": "c", "context": {"namespace": "ops"}}]}))
    code, out, _ = generate(capsys, "c1", "--kubernetes-version", "v1.33.0", "--kubeconfig", str(kubeconfig))
    assert code == 0 and {obj["metadata"]["namespace"] for obj in objects(out)} == {"ops"}


def test_list_variables_of_the_dev_flavor(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_MACHINE_COUNT", "4")
    code, out, _ = generate(capsys, "c1", "--list-variables", "-n", "ns1", "--control-plane-machine-count", "3")
    assert code == 0
    assert out == """Required Variables:
  - KUBERNETES_VERSION

Optional Variables:
  - CLUSTER_NAME                 (defaults to c1)
  - CONTROL_PLANE_MACHINE_COUNT  (defaults to 3)
  - NAMESPACE                    (defaults to ns1)
  - POD_CIDR                     (defaults to "[\\"192.168.0.0/16\\"]")
  - SERVICE_CIDR                 (defaults to "[\\"10.128.0.0/12\\"]")
  - SERVICE_DOMAIN               (defaults to "cluster.local")
  - WORKER_MACHINE_COUNT         (defaults to 4)

"""


def test_upstream_in_memory_template(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_DOMAIN", "example.internal")
    code, out, _ = generate(capsys, "mem", "--from", str(UPSTREAM_IN_MEMORY), "--kubernetes-version", "v1.33.0",
                            "--control-plane-machine-count", "3", "--worker-machine-count", "5", "-n", "fleet")
    assert code == 0
    (cluster,) = objects(out)
    assert (cluster["apiVersion"], cluster["kind"], cluster["metadata"]) == \
        ("cluster.x-k8s.io/v1beta2", "Cluster", {"name": "mem", "namespace": "fleet"})
    assert cluster["spec"]["clusterNetwork"] == {"services": {"cidrBlocks": ["10.128.0.0/12"]},
                                                 "pods": {"cidrBlocks": ["192.168.0.0/16"]},
                                                 "serviceDomain": "example.internal"}
    assert cluster["spec"]["topology"] == {
        "classRef": {"name": "in-memory", "namespace": "fleet"}, "version": "v1.33.0",
        "controlPlane": {"replicas": 3},
        "workers": {"machineDeployments": [{"class": "default-worker", "name": "md-0", "replicas": 5}]}}
    code, out, _ = generate(capsys, "mem", "--from", str(UPSTREAM_IN_MEMORY), "--list-variables", "-n", "fleet")
    assert out.startswith("Required Variables:\n  - KUBERNETES_VERSION\n\nOptional Variables:\n  - CLUSTER_NAME ")


def test_a_template_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("kind: ConfigMap\nmetadata: {name: '${CLUSTER_NAME}-x'}\n"))
    code, out, _ = generate(capsys, "c9", "--from", "-")
    assert code == 0 and objects(out) == [{"kind": "ConfigMap", "metadata": {"name": "c9-x", "namespace": "default"}}]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A local http server of tmp_path/site; its base URL."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(QuietHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def test_a_template_from_a_url_and_a_file_url(capsys: pytest.CaptureFixture[str], served: str, tmp_path: Path) -> None:
    path = write(tmp_path / "site" / "t.yaml", "kind: ConfigMap\nmetadata: {name: '${CLUSTER_NAME}'}\n")
    code, out, _ = generate(capsys, "c2", "--from", f"{served}/t.yaml")
    assert code == 0 and objects(out)[0]["metadata"]["name"] == "c2"
    assert generate(capsys, "c2", "--from", path.as_uri()) == (0, out, "")
    assert fails(capsys, "c2", "--from", f"{served}/missing.yaml?token=s3cret") == \
        f"cannot fetch the template from {served}/missing.yaml: the server answered 404 File not found"


def test_missing_variables_are_named_together(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    template = write(tmp_path / "t.yaml", "a: ${FOO}\nb: ${BAR}\nc: ${FOO}\nd: ${KUBERNETES_VERSION:=v1}\n")
    assert fails(capsys, "c1", "--from", str(template)) == (
        "value for variables [BAR, FOO] is not set; set them in the environment or in the clusterctl config file "
        "(--config)")


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["c1", "-f", "prod"], "unknown flavor 'prod'; herd ships the flavors: aws, dev, topology (or give a "
                 "template with --from)", id="unknown-flavor"),
    pytest.param(["c1", "-i", "aws"], "herd has no templates for the infrastructure provider 'aws'; use dev",
                 id="unknown-infrastructure"),
    pytest.param(["c1", "--from", "-", "-f", "dev"], "only one template source at a time: --from, or "
                 "--flavor/--infrastructure", id="two-sources"),
    pytest.param(["C_1"], "invalid cluster name 'C_1': a lowercase RFC 1123 subdomain must be lowercase letters, "
                 "digits, '-' and '.', starting and ending with a letter or digit", id="bad-name"),
    pytest.param(["c1", "-n", "a.b"], "invalid target namespace 'a.b': a namespace is a DNS-1123 label (lowercase "
                 "letters, digits and '-', at most 63 characters)", id="bad-namespace"),
    pytest.param(["c1", "--kubernetes-version", "1.33"], "invalid --kubernetes-version '1.33': use a semantic "
                 "version such as v1.33.0", id="bad-version"),
    pytest.param(["c1", "--control-plane-machine-count", "0"], "invalid control-plane-machine-count 0: it must be "
                 "at least 1", id="no-control-plane"),
    pytest.param(["c1", "--worker-machine-count", "-1"], "invalid worker-machine-count -1: it must be at least 0",
                 id="negative-workers"),
    pytest.param(["c1", "--config", "/nonexistent/clusterctl.yaml"], "the config file /nonexistent/clusterctl.yaml "
                 "does not exist; name an existing clusterctl.yaml with --config", id="no-config-file"),
    pytest.param(["c1", "--from", "/nonexistent/t.yaml"], "cannot read the template /nonexistent/t.yaml: No such "
                 "file or directory", id="no-template-file"),
    pytest.param(["c1", "--from", "ftp://host/t.yaml"], "cannot read a template from 'ftp://host/t.yaml': use a file "
                 "path, file://, http(s):// or -", id="unknown-scheme"),
])
def test_mistakes_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert fails(capsys, *args) == message


@pytest.mark.parametrize(("template", "config", "message"), [
    pytest.param("a: ${FOO", "", "the cluster template is not valid: missing closing brace (line 1)", id="syntax"),
    pytest.param("a: ${FOO:=x}\n  b: [\n", "", "the rendered template is not valid YAML at line 2: mapping values "
                 "are not allowed here", id="rendered-yaml"),
    pytest.param("- ${FOO:=x}\n", "", "document 1 of the rendered template is not an object", id="not-an-object"),
    pytest.param("a: ${FOO:=x}\n", "[1, 2]", "the config file {config} must be a mapping of variable names to values",
                 id="config-not-a-mapping"),
    pytest.param("a: ${FOO:=x}\n", "password: [s3cret", "the config file {config} is not valid YAML at line 1",
                 id="config-not-yaml"),
])
def test_bad_templates_and_config_files(capsys: pytest.CaptureFixture[str], tmp_path: Path, template: str,
                                        config: str, message: str) -> None:
    config_path = write(tmp_path / "clusterctl.yaml", config)
    template_path = write(tmp_path / "t.yaml", template)
    got = fails(capsys, "c1", "--from", str(template_path), "--config", str(config_path))
    assert got == message.format(config=config_path)
    assert "s3cret" not in got


def test_invalid_machine_count_variable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_MACHINE_COUNT", "two")
    assert fails(capsys, "c1") == "invalid value for WORKER_MACHINE_COUNT: 'two' is not a whole number"
