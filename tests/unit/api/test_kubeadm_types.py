"""The kubeadm bootstrap and control plane kinds: wire round trips, Python access, generated CRDs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from herd.api.bootstrap import CRDS as BOOTSTRAP_CRDS
from herd.api.bootstrap import KubeadmConfig, KubeadmConfigTemplate
from herd.api.bootstrap.kubeadm_types import File, KubeadmConfigSpec, NodeRegistrationOptions
from herd.api.bootstrap.kubeadmconfig import KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_CONDITION
from herd.api.controlplane import CRDS as CONTROLPLANE_CRDS
from herd.api.controlplane import KubeadmControlPlane, KubeadmControlPlaneTemplate
from herd.api.controlplane.kubeadmcontrolplane import (
    KUBEADM_CONTROL_PLANE_AVAILABLE_CONDITION,
    KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_CONDITION,
    KUBEADM_CONTROL_PLANE_FINALIZER,
    KUBEADM_CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON,
)
from herd.api.crdgen import generate_crd
from herd.apiserver.schema import apply_defaults, default_crd, prune, validate, validate_crd

EVICTION = "nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%"

# The control plane of the Cluster API book's quick start (Docker provider), as the server returns it.
QUICKSTART_KCP = yaml.safe_load(f"""
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: capi-quickstart-control-plane
  namespace: default
  labels:
    cluster.x-k8s.io/cluster-name: capi-quickstart
  ownerReferences:
  - apiVersion: cluster.x-k8s.io/v1beta2
    kind: Cluster
    name: capi-quickstart
    uid: 0f5b8c1e-4b1a-4f0e-9a55-3c3c1f1c2d7a
    controller: true
    blockOwnerDeletion: true
spec:
  replicas: 3
  version: v1.34.0
  machineTemplate:
    spec:
      infrastructureRef:
        apiGroup: infrastructure.cluster.x-k8s.io
        kind: DockerMachineTemplate
        name: capi-quickstart-control-plane
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        certSANs: [localhost, 127.0.0.1, 0.0.0.0, host.docker.internal]
    initConfiguration:
      nodeRegistration:
        kubeletExtraArgs:
        - name: eviction-hard
          value: "{EVICTION}"
    joinConfiguration:
      nodeRegistration:
        kubeletExtraArgs:
        - name: eviction-hard
          value: "{EVICTION}"
  rollout:
    strategy:
      type: RollingUpdate
      rollingUpdate:
        maxSurge: 1
status:
  conditions:
  - type: Available
    status: "True"
    reason: Available
    message: ""
    lastTransitionTime: "2025-06-01T10:00:00Z"
    observedGeneration: 1
  - type: EtcdClusterHealthy
    status: "True"
    reason: Healthy
    message: ""
    lastTransitionTime: "2025-06-01T10:00:00Z"
  initialization:
    controlPlaneInitialized: true
  selector: cluster.x-k8s.io/cluster-name=capi-quickstart,cluster.x-k8s.io/control-plane
  replicas: 3
  readyReplicas: 3
  availableReplicas: 3
  upToDateReplicas: 3
  versions:
  - version: v1.34.0
    replicas: 3
  version: v1.34.0
  observedGeneration: 1
  deprecated:
    v1beta1:
      readyReplicas: 3
      updatedReplicas: 3
      unavailableReplicas: 0
""")

# The workers' bootstrap template of the same quick start.
QUICKSTART_KCT = yaml.safe_load(f"""
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfigTemplate
metadata:
  name: capi-quickstart-md-0
  namespace: default
spec:
  template:
    spec:
      joinConfiguration:
        nodeRegistration:
          kubeletExtraArgs:
          - name: eviction-hard
            value: "{EVICTION}"
""")

# A KubeadmConfig using most of the spec: join with token and file discovery, files, users, disks, Ignition.
FULL_CONFIG = yaml.safe_load("""
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfig
metadata:
  name: worker-0
  namespace: team-a
spec:
  clusterConfiguration:
    controlPlaneEndpoint: 10.0.0.1:6443
    certificatesDir: /etc/kubernetes/pki
    encryptionAlgorithm: ECDSA-P256
    featureGates: {ControlPlaneKubeletLocalMode: true}
    etcd:
      local:
        dataDir: /var/lib/etcd
        serverCertSANs: [etcd.local]
        peerCertSANs: [etcd-peer.local]
        extraArgs: [{name: quota-backend-bytes, value: "8589934592"}]
    controllerManager:
      extraEnvs:
      - name: HTTP_PROXY
        valueFrom:
          secretKeyRef: {name: proxy, key: url}
    scheduler:
      extraVolumes:
      - {name: config, hostPath: /etc/sched, mountPath: /etc/sched, readOnly: true, pathType: Directory}
  initConfiguration:
    bootstrapTokens:
    - token: abcdef.0123456789abcdef
      description: first control plane
      ttlSeconds: 900
      usages: [signing, authentication]
      groups: ["system:bootstrappers:kubeadm:default-node-token"]
    localAPIEndpoint: {advertiseAddress: 10.0.0.2, bindPort: 6443}
    timeouts: {etcdAPICallSeconds: 120, kubernetesAPICallSeconds: 60}
  joinConfiguration:
    caCertPath: /etc/kubernetes/pki/ca.crt
    nodeRegistration:
      name: worker-0
      criSocket: unix:///run/containerd/containerd.sock
      imagePullPolicy: IfNotPresent
      taints: []
      ignorePreflightErrors: [Swap]
    discovery:
      bootstrapToken:
        apiServerEndpoint: 10.0.0.1:6443
        token: abcdef.0123456789abcdef
        caCertHashes: ["sha256:8d2e0c0c5b7b8f0e3b1f7f6a1d3f5e0e2c7b9a6d4c3b2a1f0e9d8c7b6a5f4e3d"]
        unsafeSkipCAVerification: false
      file:
        kubeConfigPath: /etc/kubernetes/discovery.conf
        kubeConfig:
          cluster: {proxyURL: "socks5://proxy:1080", insecureSkipTLSVerify: false, tlsServerName: api}
          user:
            exec: {command: /usr/bin/get-token, args: [--cluster, a], env: [{name: A, value: b}]}
      tlsBootstrapToken: abcdef.0123456789abcdef
    controlPlane:
      localAPIEndpoint: {advertiseAddress: 10.0.0.3}
  files:
  - path: /etc/motd
    content: hello
    owner: root:root
    permissions: "0644"
    contentFormat: Raw
  - path: /etc/secret.conf
    contentFrom:
      secret: {name: node-secrets, key: secret.conf}
  users:
  - name: ops
    sudo: ALL=(ALL) NOPASSWD:ALL
    sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ops@example"]
    passwdFrom:
      secret: {name: node-secrets, key: ops-passwd}
  ntp: {enabled: true, servers: [time.example.com]}
  diskSetup:
    partitions:
    - {device: /dev/sdb, layout: true, tableType: gpt}
    - device: /dev/sdc
      diskLayout: [{percentage: 60, partitionType: Linux}, {percentage: 40, partitionType: LinuxSwap}]
    filesystems:
    - {device: /dev/sdb1, filesystem: ext4, label: data, extraOpts: ["-E", "lazy_itable_init=1"]}
  mounts: [[/dev/sdb1, /var/lib/data]]
  preKubeadmCommands: [echo before]
  postKubeadmCommands: [echo after]
  format: ignition
  ignition:
    containerLinuxConfig: {additionalConfig: "storage: {}", strict: true}
  verbosity: 5
status:
  conditions:
  - type: DataSecretAvailable
    status: "True"
    reason: Available
    message: ""
    lastTransitionTime: "2025-06-01T10:00:00Z"
  initialization: {dataSecretCreated: true}
  dataSecretName: worker-0
  observedGeneration: 2
  deprecated:
    v1beta1:
      conditions:
      - {type: DataSecretAvailable, status: "True", lastTransitionTime: "2025-06-01T10:00:00Z"}
""")

ALL_SPECS = BOOTSTRAP_CRDS + CONTROLPLANE_CRDS
GENERATED = {spec.kind: generate_crd(spec) for spec in ALL_SPECS}


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = GENERATED[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _server_errors(kind: str, obj: dict[str, Any]) -> list[str]:
    """What herd's API server would refuse in obj: pruned fields, then schema validation."""
    obj = copy.deepcopy(obj)
    schema = _schema(kind)
    pruned = prune(obj, schema)
    apply_defaults(obj, schema)
    return [f"unknown field {path}" for path in pruned] + [f"{c.field}: {c.message}" for c in validate(obj, schema)]


# Round trips

@pytest.mark.parametrize(("model", "obj"), [
    (KubeadmControlPlane, QUICKSTART_KCP),
    (KubeadmConfigTemplate, QUICKSTART_KCT),
    (KubeadmConfig, FULL_CONFIG),
], ids=["KubeadmControlPlane", "KubeadmConfigTemplate", "KubeadmConfig"])
def test_upstream_shaped_objects_round_trip_unchanged(model: Any, obj: dict[str, Any]) -> None:
    assert model.from_dict(copy.deepcopy(obj)).to_dict() == obj


def test_quickstart_control_plane_reads_naturally_in_python() -> None:
    kcp = KubeadmControlPlane.from_dict(QUICKSTART_KCP)
    assert (kcp.name, kcp.namespace, kcp.spec.replicas, kcp.spec.version) == (
        "capi-quickstart-control-plane", "default", 3, "v1.34.0")
    assert kcp.spec.machine_template.spec.infrastructure_ref.kind == "DockerMachineTemplate"
    kcs = kcp.spec.kubeadm_config_spec
    assert kcs is not None and kcs.cluster_configuration is not None and kcs.init_configuration is not None
    assert kcs.cluster_configuration.api_server is not None
    assert kcs.cluster_configuration.api_server.cert_sans == ["localhost", "127.0.0.1", "0.0.0.0",
                                                              "host.docker.internal"]
    registration = kcs.init_configuration.node_registration
    assert registration is not None and registration.kubelet_extra_args is not None
    assert [(a.name, a.value) for a in registration.kubelet_extra_args] == [("eviction-hard", EVICTION)]
    assert kcp.spec.rollout is not None and kcp.spec.rollout.strategy is not None
    assert kcp.spec.rollout.strategy.rolling_update is not None
    assert kcp.spec.rollout.strategy.rolling_update.max_surge == 1
    assert kcp.status is not None and kcp.status.initialization is not None
    assert kcp.status.initialization.control_plane_initialized is True
    available = kcp.status.get_condition(KUBEADM_CONTROL_PLANE_AVAILABLE_CONDITION)
    assert available is not None and available.status == "True"
    etcd = kcp.status.get_condition(KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_CONDITION)
    assert etcd is not None and etcd.reason == "Healthy"
    assert kcp.status.deprecated is not None and kcp.status.deprecated.v1beta1 is not None
    assert kcp.status.deprecated.v1beta1.updated_replicas == 3


def test_join_discovery_reads_through_snake_case_names() -> None:
    cfg = KubeadmConfig.from_dict(FULL_CONFIG)
    assert cfg.spec is not None and cfg.spec.join_configuration is not None
    join = cfg.spec.join_configuration
    assert join.ca_cert_path == "/etc/kubernetes/pki/ca.crt"
    assert join.discovery is not None and join.discovery.bootstrap_token is not None
    token = join.discovery.bootstrap_token
    assert token.api_server_endpoint == "10.0.0.1:6443"
    assert token.unsafe_skip_ca_verification is False
    assert token.ca_cert_hashes is not None and token.ca_cert_hashes[0].startswith("sha256:")
    assert join.discovery.file is not None and join.discovery.file.kube_config is not None
    kubeconfig = join.discovery.file.kube_config
    assert kubeconfig.cluster is not None and kubeconfig.cluster.proxy_url == "socks5://proxy:1080"
    assert kubeconfig.user.exec is not None and kubeconfig.user.exec.command == "/usr/bin/get-token"
    assert join.node_registration is not None and join.node_registration.taints == []
    assert cfg.spec.files is not None and cfg.spec.files[1].content_from is not None
    assert cfg.spec.files[1].content_from.secret.key == "secret.conf"
    assert cfg.spec.format == "ignition"
    assert cfg.status is not None and cfg.status.data_secret_name == "worker-0"
    assert cfg.status.get_condition(KUBEADM_CONFIG_DATA_SECRET_AVAILABLE_CONDITION) is not None


def test_an_empty_taint_list_is_kept_apart_from_no_taints() -> None:
    # kubeadm reads a missing list as "default control plane taint" and [] as "no taints at all".
    assert NodeRegistrationOptions(taints=[]).to_dict() == {"taints": []}
    assert NodeRegistrationOptions(name="n").to_dict() == {"name": "n"}


def test_models_built_in_python_serialize_with_upstream_names() -> None:
    wire = {
        "clusterConfiguration": {"apiServer": {"certSANs": ["a"]}, "controlPlaneEndpoint": "cp:6443",
                                 "etcd": {"local": {"serverCertSANs": ["s"], "peerCertSANs": ["p"]}}},
        "initConfiguration": {"localAPIEndpoint": {"bindPort": 6443},
                              "timeouts": {"etcdAPICallSeconds": 1, "kubernetesAPICallSeconds": 2}},
        "joinConfiguration": {
            "caCertPath": "/ca", "discovery": {"bootstrapToken": {"unsafeSkipCAVerification": True}},
            "nodeRegistration": {"criSocket": "unix:///x", "kubeletExtraArgs": [{"name": "v", "value": ""}]}},
        "diskSetup": {"filesystems": [{"device": "/dev/a", "filesystem": "xfs", "replaceFS": "ntfs"}]},
    }
    spec = KubeadmConfigSpec.model_validate(copy.deepcopy(wire))
    assert spec.join_configuration is not None and spec.join_configuration.discovery is not None
    assert spec.join_configuration.discovery.bootstrap_token is not None
    assert spec.join_configuration.discovery.bootstrap_token.unsafe_skip_ca_verification is True
    assert spec.to_dict() == wire
    built = File(path="/etc/x", content_from={"secret": {"name": "s", "key": "k"}})
    assert built.to_dict() == {"path": "/etc/x", "contentFrom": {"secret": {"name": "s", "key": "k"}}}


def test_new_kinds_default_their_api_version_and_kind() -> None:
    assert KubeadmConfig().to_dict() == {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta2",
                                         "kind": "KubeadmConfig", "metadata": {}}
    assert KubeadmControlPlaneTemplate().to_dict()["apiVersion"] == "controlplane.cluster.x-k8s.io/v1beta2"
    assert KUBEADM_CONTROL_PLANE_FINALIZER == "kubeadm.controlplane.cluster.x-k8s.io"
    assert KUBEADM_CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON == "NoReplicas"


# Unknown fields

def test_unknown_fields_survive_at_every_level() -> None:
    obj = copy.deepcopy(QUICKSTART_KCP)
    obj["futureTopLevel"] = {"a": 1}
    obj["spec"]["futureSpecField"] = "x"
    obj["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["apiServer"]["futureFlag"] = True
    obj["spec"]["kubeadmConfigSpec"]["initConfiguration"]["nodeRegistration"]["kubeletExtraArgs"][0]["extra"] = 7
    obj["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["future"] = ["y"]
    obj["status"]["conditions"][0]["futureConditionField"] = "z"
    assert KubeadmControlPlane.from_dict(copy.deepcopy(obj)).to_dict() == obj


def test_unknown_fields_survive_in_bootstrap_objects() -> None:
    obj = copy.deepcopy(FULL_CONFIG)
    obj["spec"]["joinConfiguration"]["discovery"]["bootstrapToken"]["newKnob"] = 1
    obj["spec"]["files"][0]["mode"] = "new"
    obj["status"]["initialization"]["somethingElse"] = False
    assert KubeadmConfig.from_dict(copy.deepcopy(obj)).to_dict() == obj
    template = copy.deepcopy(QUICKSTART_KCT)
    template["spec"]["template"]["spec"]["newTopLevelSetting"] = {"k": "v"}
    assert KubeadmConfigTemplate.from_dict(copy.deepcopy(template)).to_dict() == template


# Generated CRDs

@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda spec: spec.kind)
def test_generated_crd_passes_the_api_servers_crd_validation(spec: Any) -> None:
    crd = generate_crd(spec)
    default_crd(crd)
    causes = validate_crd(crd)
    assert not causes, "\n".join(f"{cause.field}: {cause.message}" for cause in causes)


def test_crd_envelopes() -> None:
    kcp = GENERATED["KubeadmControlPlane"]
    version = kcp["spec"]["versions"][0]
    assert kcp["metadata"]["name"] == "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io"
    assert kcp["spec"]["names"]["shortNames"] == ["kcp"]
    assert version["subresources"]["scale"] == {"specReplicasPath": ".spec.replicas",
                                                "statusReplicasPath": ".status.replicas",
                                                "labelSelectorPath": ".status.selector"}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Cluster", "Available", "Desired", "Current", "Ready", "Available", "Up-to-date", "Paused", "Initialized",
        "Age", "Version"]
    for crd in GENERATED.values():
        assert crd["spec"]["names"]["categories"] == ["cluster-api"]
        assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"]
    assert "subresources" not in GENERATED["KubeadmConfigTemplate"]["spec"]["versions"][0]
    assert GENERATED["KubeadmConfig"]["spec"]["versions"][0]["subresources"] == {"status": {}}


@pytest.mark.parametrize(("kind", "obj"), [
    ("KubeadmControlPlane", QUICKSTART_KCP),
    ("KubeadmConfigTemplate", QUICKSTART_KCT),
    ("KubeadmConfig", FULL_CONFIG),
])
def test_the_api_server_accepts_realistic_objects_without_pruning_anything(kind: str, obj: dict[str, Any]) -> None:
    assert _server_errors(kind, obj) == []


def test_server_enforces_upstream_validations() -> None:
    duplicate = copy.deepcopy(QUICKSTART_KCT)  # the same name and value twice: a repeated list-map key
    duplicate["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"].append(
        {"name": "eviction-hard", "value": EVICTION})
    assert any("kubeletExtraArgs" in error for error in _server_errors("KubeadmConfigTemplate", duplicate))
    bad_enum = copy.deepcopy(FULL_CONFIG)
    bad_enum["spec"]["format"] = "shell"
    assert any("spec.format" in error for error in _server_errors("KubeadmConfig", bad_enum))
    too_short = copy.deepcopy(QUICKSTART_KCP)
    too_short["spec"]["version"] = ""
    assert any("spec.version" in error for error in _server_errors("KubeadmControlPlane", too_short))
    no_template = copy.deepcopy(QUICKSTART_KCP)
    del no_template["spec"]["machineTemplate"]
    assert any("machineTemplate" in error for error in _server_errors("KubeadmControlPlane", no_template))


def test_kubeadm_config_template_spec_requirements_match_upstream() -> None:
    """Upstream's quirks, reproduced: spec itself is optional, but a spec needs a template, a template needs
    metadata or spec, and a template's spec needs at least one field."""
    base = {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta2", "kind": "KubeadmConfigTemplate",
            "metadata": {"name": "t"}}
    assert _server_errors("KubeadmConfigTemplate", base) == []
    labels_only = {**base, "spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}
    assert _server_errors("KubeadmConfigTemplate", labels_only) == []
    assert _server_errors("KubeadmConfigTemplate", {**base, "spec": {}}) != []
    assert _server_errors("KubeadmConfigTemplate", {**base, "spec": {"template": {}}}) != []
    assert _server_errors("KubeadmConfigTemplate", {**base, "spec": {"template": {"spec": {}}}}) != []
    # Reading stays lenient: whatever the server stored parses.
    parsed = KubeadmConfigTemplate.from_dict({**base, "spec": {"template": {"spec": {}}}})
    assert parsed.spec is not None and parsed.spec.template.spec == KubeadmConfigSpec()


def test_partition_layout_rule_and_extra_args_rule_are_carried_as_cel() -> None:
    spec = _schema("KubeadmConfig")["properties"]["spec"]["properties"]
    partition = spec["diskSetup"]["properties"]["partitions"]["items"]
    assert partition["x-kubernetes-validations"][0]["rule"] == (
        "[has(self.layout),has(self.diskLayout)].filter(x,x==true).size() == 1")
    args = spec["joinConfiguration"]["properties"]["nodeRegistration"]["properties"]["kubeletExtraArgs"]
    assert args["x-kubernetes-list-type"] == "map" and args["x-kubernetes-list-map-keys"] == ["name", "value"]
    assert args["x-kubernetes-validations"] == [{"message": "kubeletExtraArgs name must be unique",
                                                  "rule": "self.all(x, self.exists_one(y, x.name == y.name))"}]
