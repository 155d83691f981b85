"""Reading bootstrap data as a simulated machine boots from it: cloud-init files and commands, then kubeadm's config."""

from __future__ import annotations

import base64
import gzip
import json
import textwrap

import pytest
import yaml

from herd.providers.dev.cloudinit import (
    CA_CERT_PATH,
    CA_KEY_PATH,
    ETCD_CA_CERT_PATH,
    ETCD_CA_KEY_PATH,
    BootstrapDataError,
    KubeadmCommand,
    boot_plan,
    parse_cloud_config,
)

CA_CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
CA_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEkey\n-----END EC PRIVATE KEY-----\n"
ETCD_CA_CERT = CA_CERT.replace("cert", "etcdcert")
ETCD_CA_KEY = CA_KEY.replace("key", "etcdkey")


def _indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


INIT_CONFIG = textwrap.dedent("""\
    ---
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    clusterName: demo
    controlPlaneEndpoint: 127.0.0.1:40001
    kubernetesVersion: v1.32.0
    ---
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
    nodeRegistration:
      name: '{{ ds.meta_data.local_hostname }}'
      kubeletExtraArgs:
      - name: node-labels
        value: tier=gold,zone=a
""")

INIT_USER_DATA = f"""## template: jinja
#cloud-config
write_files:
-   path: {CA_CERT_PATH}
    owner: root:root
    permissions: '0640'
    content: |
{_indent(CA_CERT, 6)}
-   path: {CA_KEY_PATH}
    owner: root:root
    permissions: '0600'
    content: |
{_indent(CA_KEY, 6)}
-   path: /run/kubeadm/kubeadm.yaml
    owner: root:root
    permissions: '0640'
    content: |
{_indent(INIT_CONFIG, 6)}
runcmd:
  - 'echo before'
  - 'kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > /run/cluster-api/bootstrap-success.complete'
"""

JOIN_CONFIG = textwrap.dedent("""\
    apiVersion: kubeadm.k8s.io/v1beta3
    kind: JoinConfiguration
    discovery:
      bootstrapToken:
        apiServerEndpoint: 127.0.0.1:40001
        token: abcdef.0123456789abcdef
        caCertHashes:
        - sha256:0011
    nodeRegistration:
      kubeletExtraArgs:
        node-labels: role=worker
      taints:
      - key: node.cluster.x-k8s.io/uninitialized
        effect: NoSchedule
""")

JOIN_USER_DATA = f"""## template: jinja
#cloud-config
write_files:
-   path: /run/kubeadm/kubeadm-join-config.yaml
    owner: root:root
    permissions: '0640'
    content: |
{_indent(JOIN_CONFIG, 6)}
runcmd:
  - kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --v 5 && echo success > /run/cluster-api/done
"""


def test_init_user_data_boots_with_the_ca_and_the_cluster_configuration() -> None:
    plan = boot_plan(INIT_USER_DATA.encode(), hostname="demo-cp-0")
    assert plan.action == "init" and plan.control_plane and plan.serves_api
    assert plan.ca_cert == CA_CERT.encode() and plan.ca_key == CA_KEY.encode()
    assert plan.cluster_configuration is not None
    assert plan.cluster_configuration["controlPlaneEndpoint"] == "127.0.0.1:40001"
    assert plan.node_labels == {"tier": "gold", "zone": "a"}
    assert plan.taints is None, "no taints given: kubeadm's default applies"
    assert plan.token is None
    assert plan.etcd_ca_cert is None and plan.etcd_ca_key is None, "this data writes no etcd CA"


def test_join_user_data_boots_with_the_bootstrap_token_and_discovery_settings() -> None:
    plan = boot_plan(JOIN_USER_DATA)
    assert plan.action == "join" and not plan.control_plane and not plan.serves_api
    assert plan.token == "abcdef.0123456789abcdef"
    assert plan.api_server_endpoint == "127.0.0.1:40001"
    assert plan.ca_cert_hashes == ("sha256:0011",)
    assert plan.node_labels == {"role": "worker"}
    assert plan.taints == [{"key": "node.cluster.x-k8s.io/uninitialized", "effect": "NoSchedule"}]


def test_a_control_plane_join_carries_the_certificates() -> None:
    config = JOIN_CONFIG + "controlPlane:\n  localAPIEndpoint:\n    bindPort: 6443\n"
    data = f"""#cloud-config
write_files:
- path: {CA_CERT_PATH}
  content: {CA_CERT!r}
- path: {CA_KEY_PATH}
  content: {CA_KEY!r}
- path: {ETCD_CA_CERT_PATH}
  content: {json.dumps(ETCD_CA_CERT)}
- path: {ETCD_CA_KEY_PATH}
  content: {json.dumps(ETCD_CA_KEY)}
- path: /run/kubeadm/kubeadm-join-config.yaml
  content: |
{_indent(config, 4)}
runcmd:
- kubeadm join --config=/run/kubeadm/kubeadm-join-config.yaml
"""
    plan = boot_plan(data)
    assert plan.action == "join" and plan.control_plane and plan.serves_api
    assert (plan.etcd_ca_cert, plan.etcd_ca_key) == (ETCD_CA_CERT.encode(), ETCD_CA_KEY.encode())


def test_the_jinja_host_name_is_filled_in_only_for_templates() -> None:
    config = parse_cloud_config(INIT_USER_DATA, hostname="demo-cp-0")
    documents = config.kubeadm_documents(KubeadmCommand("init", "/run/kubeadm/kubeadm.yaml"))
    assert documents[1]["nodeRegistration"]["name"] == "demo-cp-0"
    plain = parse_cloud_config(INIT_USER_DATA.replace("## template: jinja\n", ""), hostname="demo-cp-0")
    documents = plain.kubeadm_documents(KubeadmCommand("init", "/run/kubeadm/kubeadm.yaml"))
    assert documents[1]["nodeRegistration"]["name"] == "{{ ds.meta_data.local_hostname }}"


@pytest.mark.parametrize("encoding, encode", [
    ("b64", lambda raw: base64.b64encode(raw).decode()),
    ("base64", lambda raw: base64.b64encode(raw).decode()),
    ("gzip+base64", lambda raw: base64.b64encode(gzip.compress(raw)).decode()),
    ("gz+b64", lambda raw: base64.b64encode(gzip.compress(raw)).decode()),
])
def test_encoded_file_content_is_decoded(encoding: str, encode: object) -> None:
    assert callable(encode)
    data = yaml.safe_dump({"write_files": [{"path": "/etc/x", "encoding": encoding, "content": encode(b"hello\n"),
                                            "permissions": "0600"}]})
    config = parse_cloud_config("#cloud-config\n" + data)
    assert config.file("/etc/x") == b"hello\n"
    assert config.files["/etc/x"].permissions == "0600"


def test_gzip_content_may_come_as_yaml_binary() -> None:
    data = "#cloud-config\n" + yaml.safe_dump({"write_files": [
        {"path": "/etc/x", "encoding": "gzip", "content": gzip.compress(b"zipped")}]})
    assert "!!binary" in data
    assert parse_cloud_config(data).file("/etc/x") == b"zipped"


def test_append_adds_to_the_earlier_content() -> None:
    data = "#cloud-config\n" + yaml.safe_dump({"write_files": [
        {"path": "/etc/x", "content": "a\n"}, {"path": "/etc/x", "content": "b\n", "append": True}]})
    assert parse_cloud_config(data).file("/etc/x") == b"a\nb\n"


@pytest.mark.parametrize("runcmd, expected", [
    (["kubeadm init --config /k.yaml"], KubeadmCommand("init", "/k.yaml")),
    ([["kubeadm", "join", "--config", "/j.yaml"]], KubeadmCommand("join", "/j.yaml")),
    (["/usr/bin/kubeadm join --v 2 --config=/j.yaml && echo ok"], KubeadmCommand("join", "/j.yaml")),
    (["sh -c 'kubeadm init --config /k.yaml'"], KubeadmCommand("init", "/k.yaml")),
    (["kubeadm init phase certs all", "kubeadm init --config /k.yaml"], KubeadmCommand("init", "/k.yaml")),
    (["/usr/local/bin/kubeadm-bootstrap-script"], KubeadmCommand("join", "/j.yaml")),  # runs a written script
    (["echo nothing to see"], None),
])
def test_the_kubeadm_command_is_found_in_runcmd(runcmd: list[object], expected: KubeadmCommand | None) -> None:
    script = "#!/bin/bash\nset -e\nkubeadm join --config /j.yaml || retry\n"
    data = "#cloud-config\n" + yaml.safe_dump({
        "write_files": [{"path": "/usr/local/bin/kubeadm-bootstrap-script", "content": script}], "runcmd": runcmd})
    assert parse_cloud_config(data).kubeadm_command() == expected


def test_file_discovery_gives_token_server_and_ca() -> None:
    kubeconfig = yaml.safe_dump({"clusters": [{"name": "c", "cluster": {
        "server": "https://127.0.0.1:40001", "certificate-authority-data": base64.b64encode(b"CA").decode()}}],
        "users": [{"name": "u", "user": {"token": "abcdef.0123456789abcdef"}}]})
    join = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
            "discovery": {"file": {"kubeConfigPath": "/etc/kubernetes/discovery.conf"}}}
    data = "#cloud-config\n" + yaml.safe_dump({
        "write_files": [{"path": "/etc/kubernetes/discovery.conf", "content": kubeconfig},
                        {"path": "/run/kubeadm/join.yaml", "content": yaml.safe_dump(join)}],
        "runcmd": ["kubeadm join --config /run/kubeadm/join.yaml"]})
    plan = boot_plan(data)
    assert plan.token == "abcdef.0123456789abcdef"
    assert plan.api_server_endpoint == "https://127.0.0.1:40001"
    assert plan.discovery_ca == b"CA"


@pytest.mark.parametrize("data, message", [
    ('{"ignition": {"version": "3.4.0"}}', "not a #cloud-config"),
    ("#!/bin/bash\nkubeadm init --config /k.yaml\n", "not a #cloud-config"),
    ("#cloud-config\nruncmd: [echo hi]\n", "neither `kubeadm init` nor `kubeadm join`"),
    ("#cloud-config\nruncmd: [kubeadm init]\n", "without --config"),
    ("#cloud-config\nruncmd: ['kubeadm init --config /k.yaml']\n", "which the data never writes"),
    ("#cloud-config\nwrite_files: [{path: /k.yaml, content: 'kind: InitConfiguration'}]\n"
     "runcmd: ['kubeadm init --config /k.yaml']\n", "needs the cluster CA"),
    ("#cloud-config\nwrite_files: [{path: /j.yaml, content: 'kind: JoinConfiguration'}]\n"
     "runcmd: ['kubeadm join --config /j.yaml']\n", "no bootstrap token"),
    ("#cloud-config\nwrite_files: [{path: /j.yaml, content: 'kind: InitConfiguration'}]\n"
     "runcmd: ['kubeadm join --config /j.yaml']\n", "no JoinConfiguration"),
    ("#cloud-config\nwrite_files: [{path: /x, encoding: rot13, content: abc}]\n", "unknown encoding"),
    ("#cloud-config\nwrite_files: [{content: abc}]\n", "has no path"),
    ("#cloud-config\n- just\n- a list\n", "not a YAML mapping"),
    ("#cloud-config\nwrite_files: [\n", "not valid YAML"),
])
def test_unusable_bootstrap_data_is_refused_with_one_clear_line(data: str, message: str) -> None:
    with pytest.raises(BootstrapDataError, match=message.replace("[", r"\[")) as caught:
        boot_plan(data)
    assert "\n" not in str(caught.value)
