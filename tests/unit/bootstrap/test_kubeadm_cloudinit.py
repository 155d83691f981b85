"""Cloud-init user data and kubeadm documents, parsed back: files and permissions, command order, the kubeadm
configuration kubeadm will read, and (when the `cloud-init` binary is installed) cloud-init's own schema check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from herd.bootstrap.kubeadm import cloudinit, kubeadmtypes
from herd.contract import certificates as certs

CLUSTER_NETWORK = {"pods": {"cidrBlocks": ["192.168.0.0/16"]}, "services": {"cidrBlocks": ["10.96.0.0/12"]},
                   "serviceDomain": "cluster.local"}


@pytest.fixture(scope="module")
def pairs() -> dict[certs.Purpose, certs.KeyPair]:
    # ECDSA keys: the layout is what matters here, and they are quick to make
    return {purpose: certs.generate(purpose, algorithm="ECDSA-P256") for purpose in certs.CONTROL_PLANE_PURPOSES}


def full_user_data() -> cloudinit.UserData:
    return cloudinit.UserData(
        files=[{"path": "/etc/motd", "content": "hello\nthere\n", "permissions": "0644", "owner": "root:root"},
               {"path": "/etc/blob", "content": "aGk=", "encoding": "base64"}],
        pre_kubeadm_commands=["echo pre-1", "echo 'pre 2'"], post_kubeadm_commands=["echo post"],
        boot_commands=["echo boot"],
        users=[{"name": "ops", "sshAuthorizedKeys": ["ssh-ed25519 AAAA ops"], "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lockPassword": True, "groups": "adm", "shell": "/bin/bash"},
               {"name": "idle", "inactive": True, "passwd": "$6$hash"}],
        ntp={"enabled": True, "servers": ["0.pool.ntp.org", "1.pool.ntp.org"]},
        disk_setup={"partitions": [{"device": "/dev/sdb", "layout": True, "tableType": "gpt"},
                                   {"device": "/dev/sdc", "diskLayout": [
                                       {"percentage": 30, "partitionType": "LinuxSwap"}, {"percentage": 70}]}],
                    "filesystems": [{"device": "/dev/sdb1", "filesystem": "ext4", "label": "etcd",
                                     "extraOpts": ["-F"]}]},
        mounts=[["LABEL=etcd", "/var/lib/etcd"]], verbosity=4)


def render_init(pairs: dict[certs.Purpose, certs.KeyPair], data: cloudinit.UserData | None = None,
                cluster_configuration: dict[str, Any] | None = None) -> str:
    return cloudinit.render_init(
        data or cloudinit.UserData(), certificates=cloudinit.certificate_files(pairs),
        cluster_configuration=kubeadmtypes.cluster_configuration(
            cluster_configuration, cluster_name="prod", control_plane_endpoint="10.0.0.10:6443",
            kubernetes_version="v1.32.2", cluster_network=CLUSTER_NETWORK),
        init_configuration=kubeadmtypes.init_configuration(
            {"nodeRegistration": {"kubeletExtraArgs": [{"name": "cloud-provider", "value": "external"}]},
             "timeouts": {"controlPlaneComponentHealthCheckSeconds": 300}}))


def parse(text: str) -> dict[str, Any]:
    assert text.startswith("## template: jinja\n#cloud-config\n")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def files_by_path(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["path"]: entry for entry in doc["write_files"]}


def test_init_writes_the_certificates_with_private_keys_0600(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    files = files_by_path(parse(render_init(pairs)))
    expected = {
        "/etc/kubernetes/pki/ca.crt": ("0640", pairs["ca"].cert),
        "/etc/kubernetes/pki/ca.key": ("0600", pairs["ca"].key),
        "/etc/kubernetes/pki/etcd/ca.crt": ("0640", pairs["etcd"].cert),
        "/etc/kubernetes/pki/etcd/ca.key": ("0600", pairs["etcd"].key),
        "/etc/kubernetes/pki/front-proxy-ca.crt": ("0640", pairs["proxy"].cert),
        "/etc/kubernetes/pki/front-proxy-ca.key": ("0600", pairs["proxy"].key),
        "/etc/kubernetes/pki/sa.pub": ("0640", pairs["sa"].cert),
        "/etc/kubernetes/pki/sa.key": ("0600", pairs["sa"].key),
    }
    for path, (permissions, content) in expected.items():
        assert files[path]["permissions"] == permissions, path
        assert files[path]["owner"] == "root:root"
        assert files[path]["content"].encode() == content, path


def test_a_custom_certificates_dir_moves_the_certificates(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    paths = [f["path"] for f in cloudinit.certificate_files(pairs, "/srv/pki")]
    assert "/srv/pki/ca.crt" in paths and "/srv/pki/etcd/ca.key" in paths


def test_init_runs_kubeadm_init_between_the_users_commands(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    doc = parse(render_init(pairs, full_user_data()))
    assert doc["runcmd"] == [
        "echo pre-1", "echo 'pre 2'",
        "kubeadm init --config /run/kubeadm/kubeadm.yaml --v 4 && echo success > "
        "/run/cluster-api/bootstrap-success.complete",
        "echo post"]
    assert doc["bootcmd"] == ["echo boot"]
    assert "/run/cluster-api/placeholder" in files_by_path(doc)


def test_init_kubeadm_documents_carry_the_cluster_settings(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    files = files_by_path(parse(render_init(pairs, cluster_configuration={
        "apiServer": {"certSANs": ["api.prod.example"], "extraArgs": [{"name": "audit-log-maxage", "value": "7"}]},
        "certificateValidityPeriodDays": 90, "caCertificateValidityPeriodDays": 3650})))
    kubeadm_file = files["/run/kubeadm/kubeadm.yaml"]
    assert kubeadm_file["permissions"] == "0640"
    documents = list(yaml.safe_load_all(kubeadm_file["content"]))
    assert [d["kind"] for d in documents] == ["ClusterConfiguration", "InitConfiguration"]
    assert {d["apiVersion"] for d in documents} == {"kubeadm.k8s.io/v1beta4"}
    cluster_configuration, init_configuration = documents
    assert cluster_configuration["controlPlaneEndpoint"] == "10.0.0.10:6443"
    assert cluster_configuration["kubernetesVersion"] == "v1.32.2"
    assert cluster_configuration["clusterName"] == "prod"
    assert cluster_configuration["networking"] == {"podSubnet": "192.168.0.0/16", "serviceSubnet": "10.96.0.0/12",
                                                   "dnsDomain": "cluster.local"}
    assert cluster_configuration["apiServer"]["certSANs"] == ["api.prod.example"]
    assert cluster_configuration["certificateValidityPeriod"] == "2160h0m0s"
    assert "caCertificateValidityPeriodDays" not in cluster_configuration, "a Cluster API field kubeadm refuses"
    assert init_configuration["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "cloud-provider", "value": "external"}]
    assert init_configuration["timeouts"] == {"controlPlaneComponentHealthCheck": "300s"}


def test_the_users_settings_win_over_the_clusters() -> None:
    document = kubeadmtypes.cluster_configuration(
        {"controlPlaneEndpoint": "lb.example:443", "networking": {"podSubnet": "10.244.0.0/16"}},
        cluster_name="prod", control_plane_endpoint="10.0.0.10:6443", kubernetes_version="v1.32.2",
        cluster_network=CLUSTER_NETWORK)
    assert document["controlPlaneEndpoint"] == "lb.example:443"
    assert document["networking"]["podSubnet"] == "10.244.0.0/16"
    assert document["networking"]["serviceSubnet"] == "10.96.0.0/12"


def test_users_files_ntp_and_disks_are_laid_out_for_cloud_init(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    doc = parse(render_init(pairs, full_user_data()))
    files = files_by_path(doc)
    assert files["/etc/motd"] == {"path": "/etc/motd", "owner": "root:root", "permissions": "0644",
                                  "content": "hello\nthere\n"}
    assert files["/etc/blob"]["encoding"] == "base64"
    paths = [f["path"] for f in doc["write_files"]]
    assert paths.index("/etc/kubernetes/pki/ca.crt") < paths.index("/etc/motd") < paths.index(
        "/run/kubeadm/kubeadm.yaml"), "certificates, then the user's files, then kubeadm's configuration"
    assert doc["ntp"] == {"enabled": True, "servers": ["0.pool.ntp.org", "1.pool.ntp.org"]}
    ops, idle = doc["users"]
    assert ops == {"name": "ops", "groups": "adm", "shell": "/bin/bash", "lock_passwd": True,
                   "sudo": "ALL=(ALL) NOPASSWD:ALL", "ssh_authorized_keys": ["ssh-ed25519 AAAA ops"]}
    assert idle["passwd"] == "$6$hash" and idle["expiredate"] == "1970-01-02"
    assert doc["disk_setup"] == {"/dev/sdb": {"table_type": "gpt", "layout": True},
                                 "/dev/sdc": {"table_type": "mbr", "layout": [[30, 82], 70]}}
    assert doc["fs_setup"] == [{"label": "etcd", "filesystem": "ext4", "device": "/dev/sdb1", "extra_opts": ["-F"]}]
    assert doc["mounts"] == [["LABEL=etcd", "/var/lib/etcd"]]


def join_configuration(control_plane: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"discovery": {"bootstrapToken": {
        "apiServerEndpoint": "10.0.0.10:6443", "token": "abcdef.0123456789abcdef",
        "caCertHashes": ["sha256:" + "0" * 64]}},
        "nodeRegistration": {"taints": [{"key": "node.cluster.x-k8s.io/uninitialized", "effect": "NoSchedule"}]},
        "timeouts": {"tlsBootstrapSeconds": 120}}
    if control_plane:
        spec["controlPlane"] = {}
    return kubeadmtypes.join_configuration(spec)


def test_a_worker_join_has_no_certificates_and_runs_kubeadm_join() -> None:
    doc = parse(cloudinit.render_join(cloudinit.UserData(pre_kubeadm_commands=["echo pre"]),
                                      join_configuration=join_configuration(False)))
    files = files_by_path(doc)
    assert not any(path.startswith("/etc/kubernetes/pki") for path in files)
    assert doc["runcmd"] == ["echo pre", "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml && echo "
                                         "success > /run/cluster-api/bootstrap-success.complete"]
    (document,) = yaml.safe_load_all(files["/run/kubeadm/kubeadm-join-config.yaml"]["content"])
    assert document["apiVersion"] == "kubeadm.k8s.io/v1beta4" and document["kind"] == "JoinConfiguration"
    assert document["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "10.0.0.10:6443"
    assert document["timeouts"] == {"tlsBootstrap": "120s"}
    assert "controlPlane" not in document


def test_a_control_plane_join_carries_the_certificates(pairs: dict[certs.Purpose, certs.KeyPair]) -> None:
    doc = parse(cloudinit.render_join(cloudinit.UserData(), join_configuration=join_configuration(True),
                                      certificates=cloudinit.certificate_files(pairs)))
    files = files_by_path(doc)
    assert files["/etc/kubernetes/pki/sa.key"]["permissions"] == "0600"
    (document,) = yaml.safe_load_all(files["/run/kubeadm/kubeadm-join-config.yaml"]["content"])
    assert document["controlPlane"] == {}


def test_file_discovery_drops_the_generated_kubeconfig_settings() -> None:
    document = kubeadmtypes.join_configuration({"discovery": {"file": {
        "kubeConfigPath": "/etc/kubernetes/discovery.conf", "kubeConfig": {"user": {"exec": {"command": "x"}}}}}})
    assert document["discovery"] == {"file": {"kubeConfigPath": "/etc/kubernetes/discovery.conf"}}


CLOUD_INIT = shutil.which("cloud-init")


@pytest.mark.skipif(CLOUD_INIT is None, reason="the cloud-init binary is not installed (Debian/Ubuntu package "
                                               "`cloud-init`)")
@pytest.mark.parametrize("kind", ["init", "worker-join", "control-plane-join"])
def test_the_user_data_passes_cloud_inits_schema(kind: str, pairs: dict[certs.Purpose, certs.KeyPair],
                                                 tmp_path: Path) -> None:
    data = full_user_data()
    data.disk_setup = {"partitions": [{"device": "/dev/sdb", "layout": True, "tableType": "gpt"},
                                      {"device": "/dev/sdc", "diskLayout": [
                                          {"percentage": 30, "partitionType": "LinuxSwap"}, {"percentage": 70}]}],
                       "filesystems": [{"device": "/dev/sdb1", "filesystem": "ext4", "label": "etcd"}]}
    if kind == "init":
        text = render_init(pairs, data)
    else:
        text = cloudinit.render_join(data, join_configuration=join_configuration(kind != "worker-join"),
                                     certificates=cloudinit.certificate_files(pairs) if kind != "worker-join" else None)
    # cloud-init renders the `## template: jinja` line away before it reads the cloud-config; its `schema` command
    # (before 24.x) does not, so it gets what cloud-init itself would see after rendering (no template markup here).
    header, _, body = text.partition("\n")
    assert header == "## template: jinja"
    user_data = tmp_path / "user-data"
    user_data.write_text(body)
    result = subprocess.run([str(CLOUD_INIT), "schema", "--config-file", str(user_data)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
