"""Upstream's kubeadm bootstrap and control plane webhooks (KubeadmConfig(Template),
KubeadmControlPlane(Template)), as tables."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from herd.api.bootstrap import webhooks as b
from herd.api.controlplane import webhooks as cp
from herd.api.webhookutil import FeatureGates
from herd.runtime.webhook import WebhookDenied

Obj = dict[str, Any]
IGNITION_ON = FeatureGates(kubeadm_bootstrap_format_ignition=True)
TOPOLOGY_ON = FeatureGates(cluster_topology=True)


def edit(obj: Obj, path: str, value: Any) -> Obj:
    """A copy of `obj` with the dotted `path` set (created as needed); `...` deletes it."""
    obj = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node = obj
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return obj


def messages(errors: list[Any]) -> list[str]:
    return [str(e) for e in errors]


# --- KubeadmConfig -----------------------------------------------------------------------------------------------

SECRET = {"secret": {"name": "s", "key": "k"}}


@pytest.mark.parametrize(("spec", "gates", "expected"), [
    ({}, FeatureGates(), []),
    ({"files": [{"path": "/a", "content": "x"}, {"path": "/b", "contentFrom": SECRET}]}, FeatureGates(), []),
    ({"files": [{"path": "/a", "content": "secret stuff", "contentFrom": SECRET}]}, FeatureGates(),
     ['spec.files[0]: Invalid value: "/a": content and contentFrom are mutually exclusive: set one of them']),
    ({"files": [{"path": "/a", "contentFrom": {"secret": {"key": "k"}}}]}, FeatureGates(),
     ["spec.files[0].contentFrom.secret.name: Required value: a secret source needs a secret name"]),
    ({"files": [{"path": "/a", "content": "1"}, {"path": "/a", "content": "2"}]}, FeatureGates(),
     ['spec.files[1].path: Invalid value: "/a": path must be unique among all files']),
    ({"users": [{"name": "u", "passwd": "h", "passwdFrom": SECRET}]}, FeatureGates(),
     ['spec.users[0]: Invalid value: "u": passwd and passwdFrom are mutually exclusive: set one of them']),
    ({"users": [{"name": "u", "passwdFrom": {"secret": {"name": "s"}}}]}, FeatureGates(),
     ["spec.users[0].passwdFrom.secret.key: Required value: a secret source needs a secret key"]),
    ({"format": "ignition"}, FeatureGates(),
     ["spec.format: Forbidden: can be set only if the KubeadmBootstrapFormatIgnition feature gate is enabled"]),
    ({"ignition": {"containerLinuxConfig": {"strict": True}}}, FeatureGates(),
     ["spec.ignition: Forbidden: can be set only if the KubeadmBootstrapFormatIgnition feature gate is enabled"]),
    ({"format": "ignition"}, IGNITION_ON, []),
    ({"format": "cloud-config", "ignition": {"containerLinuxConfig": {"strict": True}}}, IGNITION_ON,
     ['spec.format: Invalid value: "cloud-config": must be "ignition" when spec.ignition is set']),
    ({"format": "ignition", "users": [{"name": "u", "inactive": True}], "files": [{"path": "/a", "encoding": "gzip"}],
      "bootCommands": ["true"], "diskSetup": {"partitions": [{"device": "/dev/sdb", "tableType": "mbr"}],
                                              "filesystems": [{"device": "/dev/sdb1", "filesystem": "ext4",
                                                               "replaceFS": "ntfs", "partition": "auto"}]}},
     IGNITION_ON,
     ['spec.users[0].inactive: Forbidden: not supported when spec.format is "ignition"',
      'spec.files[0].encoding: Forbidden: not supported when spec.format is "ignition"',
      'spec.bootCommands: Forbidden: not supported when spec.format is "ignition"',
      'spec.diskSetup.partitions[0].tableType: Invalid value: "mbr": only "gpt" partition tables are supported when '
      'spec.format is "ignition"',
      'spec.diskSetup.filesystems[0].replaceFS: Forbidden: not supported when spec.format is "ignition"',
      'spec.diskSetup.filesystems[0].partition: Forbidden: not supported when spec.format is "ignition"']),
    ({"joinConfiguration": {"discovery": {"file": {"kubeConfigPath": "/k", "kubeConfig": {"user": {
        "authProvider": {"name": "oidc"}, "exec": {"command": "get-token"}}}}}}}, FeatureGates(),
     ['spec.joinConfiguration.discovery.file.kubeConfig.user: Invalid value: ["authProvider","exec"]: only one of '
      "authProvider and exec may be set"]),
])
def test_kubeadm_config_validation(spec: Obj, gates: FeatureGates, expected: list[str]) -> None:
    assert messages(b.validate_kubeadm_config({"metadata": {"name": "kc"}, "spec": spec}, gates=gates)) == expected


def test_file_contents_are_never_echoed_in_refusals() -> None:
    errors = b.validate_kubeadm_config({"spec": {"files": [{"path": "/k", "content": "PRIVATE KEY",
                                                            "contentFrom": SECRET}]}})

    assert errors and "PRIVATE KEY" not in " ".join(messages(errors))


# --- KubeadmConfigTemplate --------------------------------------------------------------------------------------

DRY_RUN_ANNOTATION = {"topology.cluster.x-k8s.io/dry-run": ""}


def test_a_template_with_no_spec_at_all_is_neither_changed_nor_refused() -> None:
    template = {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta2", "kind": "KubeadmConfigTemplate",
                "metadata": {"name": "workers"}}

    assert b.default_kubeadm_config_template(template) == template
    assert b.validate_kubeadm_config_template(template) == []


def test_only_the_topology_controllers_dry_runs_get_the_old_defaults() -> None:
    template: Obj = {"metadata": {"name": "t", "annotations": DRY_RUN_ANNOTATION}, "spec": {"template": {"spec": {
        "joinConfiguration": {"discovery": {"file": {"kubeConfigPath": "/k", "kubeConfig": {"user": {
            "exec": {"command": "token"}}}}}}}}}}

    assert b.default_kubeadm_config_template(template, dry_run=False) == template
    assert b.default_kubeadm_config_template(edit(template, "metadata.annotations", {}), dry_run=True) == \
        edit(template, "metadata.annotations", {})
    spec = b.default_kubeadm_config_template(template, dry_run=True)["spec"]["template"]["spec"]
    assert spec["format"] == "cloud-config"
    assert spec["initConfiguration"] == {"nodeRegistration": {"imagePullPolicy": "IfNotPresent"}}
    assert spec["joinConfiguration"]["nodeRegistration"] == {"imagePullPolicy": "IfNotPresent"}
    assert spec["joinConfiguration"]["discovery"]["file"]["kubeConfig"]["user"]["exec"] == {
        "command": "token", "apiVersion": "client.authentication.k8s.io/v1"}


def test_a_templates_spec_and_metadata_are_validated_at_their_paths() -> None:
    template = {"spec": {"template": {"metadata": {"labels": {"bad key": "v"}},
                                      "spec": {"users": [{"name": "u", "passwd": "p", "passwdFrom": SECRET}]}}}}

    assert messages(b.validate_kubeadm_config_template(template)) == [
        'spec.template.spec.users[0]: Invalid value: "u": passwd and passwdFrom are mutually exclusive: set one of '
        "them",
        'spec.template.metadata.labels: Invalid value: "bad key": name part must be letters, digits, \'-\', \'_\' '
        "and '.', starting and ending with a letter or digit"]


# --- KubeadmControlPlane ----------------------------------------------------------------------------------------

KCP: Obj = {"metadata": {"name": "cp"}, "spec": {
    "version": "1.33.0",
    "machineTemplate": {"spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                       "kind": "DevMachineTemplate", "name": "cp"}}},
    "kubeadmConfigSpec": {"clusterConfiguration": {"apiServer": {"certSANs": ["localhost"]}},
                          "initConfiguration": {"nodeRegistration": {"name": "n"}}}}}
DEFAULTED = cp.default_kubeadm_control_plane(KCP)


def test_a_control_plane_gets_one_replica_a_version_and_the_rolling_update_strategy() -> None:
    spec = DEFAULTED["spec"]

    assert (spec["replicas"], spec["version"]) == (1, "v1.33.0")
    assert spec["rollout"] == {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}
    assert cp.validate_kubeadm_control_plane(DEFAULTED) == []
    kept = cp.default_kubeadm_control_plane(edit(KCP, "spec.rollout", {"strategy": {"rollingUpdate": {
        "maxSurge": 0}}}))
    assert kept["spec"]["rollout"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0}}


CC = "spec.kubeadmConfigSpec.clusterConfiguration"


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("spec.replicas", 0, ["spec.replicas: Forbidden: cannot be less than or equal to 0",
                          "spec.replicas: Forbidden: cannot be an even number when etcd is stacked"]),
    ("spec.replicas", 2, ["spec.replicas: Forbidden: cannot be an even number when etcd is stacked"]),
    ("spec.version", "v1.33", ['spec.version: Invalid value: "v1.33": must be a valid semantic version']),
    ("spec.rollout.strategy.rollingUpdate.maxSurge", 2,
     ["spec.rollout.strategy.rollingUpdate.maxSurge: Required value: value must be 1 or 0"]),
    ("spec.rollout.strategy.rollingUpdate.maxSurge", 0,
     ["spec.rollout.strategy.rollingUpdate: Required value: a control plane that scales in during rollouts "
      "(maxSurge 0) needs at least 3 replicas"]),
    (f"{CC}.certificateValidityPeriodDays", 4000,
     [f"{CC}.certificateValidityPeriodDays: Invalid value: 4000: must be at most the default "
      "caCertificateValidityPeriodDays (3650)"]),
    ("spec.rollout.before", {"certificatesExpiryDays": 400},
     []),
    (f"{CC}.dns", {"imageTag": "v1.11.1:bad"}, [f"{CC}.dns.imageTag: Forbidden: tag v1.11.1:bad is invalid"]),
    (f"{CC}.dns", {"imageTag": "latest"}, [f'{CC}.dns.imageTag: Invalid value: "latest": failed to parse CoreDNS '
                                           "version"]),
    (f"{CC}.etcd", {"local": {"dataDir": "/d"}, "external": {"endpoints": ["https://e:2379"]}},
     [f"{CC}.etcd.local: Forbidden: cannot have both external and local etcd"]),
    ("spec.machineNaming", {"template": "{{ .kubeadmControlPlane.name }}-{{ .random }}"}, []),
    ("spec.machineNaming", {"template": "{{ .machineSet.name }}-{{ .random }}"},
     ['spec.machineNaming.template: Invalid value: "{{ .machineSet.name }}-{{ .random }}": invalid template: only '
      ".cluster.name, .kubeadmControlPlane.name and .random can be used"]),
    ("spec.kubeadmConfigSpec.joinConfiguration", {"timeouts": {"controlPlaneComponentHealthCheckSeconds": 60}},
     ['spec.kubeadmConfigSpec.initConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds: Invalid value: '
      '"unset": controlPlaneComponentHealthCheckSeconds must be the same in initConfiguration.timeouts (unset) and '
      "joinConfiguration.timeouts (60)",
      'spec.kubeadmConfigSpec.joinConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds: Invalid value: '
      '"60": controlPlaneComponentHealthCheckSeconds must be the same in initConfiguration.timeouts (unset) and '
      "joinConfiguration.timeouts (60)"]),
])
def test_control_plane_validation(path: str, value: Any, expected: list[str]) -> None:
    assert messages(cp.validate_kubeadm_control_plane(edit(DEFAULTED, path, value))) == expected


def test_an_even_control_plane_is_fine_with_external_etcd() -> None:
    kcp = edit(edit(DEFAULTED, "spec.replicas", 2), f"{CC}.etcd", {"external": {"endpoints": ["https://e:2379"]}})

    assert cp.validate_kubeadm_control_plane(kcp) == []


def test_certificates_must_be_renewed_before_they_expire() -> None:
    kcp = edit(edit(DEFAULTED, f"{CC}.certificateValidityPeriodDays", 365), "spec.rollout.before",
               {"certificatesExpiryDays": 400})

    assert messages(cp.validate_kubeadm_control_plane(kcp)) == [
        "spec.rollout.before.certificatesExpiryDays: Invalid value: 400: must be less than "
        "certificateValidityPeriodDays (365)"]


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("metadata.labels", {"team": "a"}, []),
    ("spec.replicas", 3, []),
    ("spec.version", "v1.34.2", []),
    (f"{CC}.dns", {"imageTag": "v1.12.0"}, []),
    (f"{CC}.apiServer.certSANs", ["a.example.com"], []),
    ("spec.kubeadmConfigSpec.initConfiguration.nodeRegistration.name", "m", []),
    ("spec.machineTemplate.spec.infrastructureRef.name", "cp-v2", []),
    ("spec.kubeadmConfigSpec.files", [{"path": "/etc/x", "content": "y"}], []),
    (f"{CC}.controlPlaneEndpoint", "cp.example.com:6443",
     [f"{CC}.controlPlaneEndpoint: Forbidden: cannot be modified"]),
    ("spec.kubeadmConfigSpec.initConfiguration.localAPIEndpoint.bindPort", 7443, []),
    ("spec.kubeadmConfigSpec.initConfiguration.bootstrapTokens", [{"token": "abcdef.0123456789abcdef"}], []),
    (f"{CC}.certificatesDir", "/certs", [f"{CC}.certificatesDir: Forbidden: cannot be modified"]),
    ("spec.version", "v1.35.0", ["spec.version: Forbidden: cannot update Kubernetes version from v1.33.0 to "
                                 "v1.35.0"]),
    (f"{CC}.etcd", {"external": {"endpoints": ["https://e:2379"]}},
     [f"{CC}.etcd.external: Forbidden: cannot change between external and local etcd"]),
])
def test_on_update_only_upstreams_allow_listed_paths_may_change(path: str, value: Any, expected: list[str]) -> None:
    assert messages(cp.validate_kubeadm_control_plane(edit(DEFAULTED, path, value), DEFAULTED)) == expected


@pytest.mark.parametrize(("path", "allowed"), [
    (("metadata", "annotations", "x"), True),
    (("spec", "replicas"), True),
    (("spec",), False),
    (("spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "local", "imageTag"), True),
    (("spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external"), True),  # etcd.* (see next rule)
    (("spec", "kubeadmConfigSpec", "clusterConfiguration", "clusterName"), False),
    (("spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "external", "endpoints"), True),
    (("spec", "kubeadmConfigSpec", "initConfiguration", "patches", "directory"), True),
    (("spec", "kubeadmConfigSpec", "initConfiguration", "patches", "other"), False),
    (("spec", "kubeadmConfigSpec", "clusterConfiguration", "encryptionAlgorithm"), True),
    (("status", "replicas"), False),
])
def test_the_allow_list_matches_paths_as_upstream_does(path: tuple[str, ...], allowed: bool) -> None:
    assert cp.allowed(path) is allowed


# --- KubeadmControlPlaneTemplate --------------------------------------------------------------------------------

KCPT: Obj = {"metadata": {"name": "cpt"}, "spec": {"template": {"spec": {
    "kubeadmConfigSpec": {"clusterConfiguration": {"apiServer": {"certSANs": ["localhost"]}}}}}}}


def test_a_control_plane_template_needs_the_cluster_topology_gate() -> None:
    with pytest.raises(WebhookDenied) as denied:
        cp.validate_kubeadm_control_plane_template(KCPT)

    assert denied.value.code == 403
    assert denied.value.message == ("spec: Forbidden: can be set only if the ClusterTopology feature gate is "
                                    "enabled")
    assert cp.validate_kubeadm_control_plane_template(KCPT, gates=TOPOLOGY_ON) == []


def test_a_control_plane_templates_settings_are_validated_on_create() -> None:
    template = edit(KCPT, "spec.template.spec.rollout", {"strategy": {"type": "RollingUpdate",
                                                                      "rollingUpdate": {"maxSurge": 3}}})

    assert messages(cp.validate_kubeadm_control_plane_template(template, gates=TOPOLOGY_ON)) == [
        "spec.template.spec.rollout.strategy.rollingUpdate.maxSurge: Required value: value must be 1 or 0"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    (KCPT, KCPT, []),
    (edit(KCPT, "spec.template.spec.kubeadmConfigSpec.format", "cloud-config"), KCPT, []),
    (edit(KCPT, "spec.template.spec.rollout", {"strategy": {"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 1}}}), KCPT, []),
    (KCPT, edit(KCPT, "spec.template.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.certSANs", ["x"]),
     ['spec.template.spec: Invalid value: ["spec.template.spec.kubeadmConfigSpec.clusterConfiguration.apiServer.'
      'certSANs"]: KubeadmControlPlaneTemplate spec.template.spec is immutable: create a new template instead']),
    (KCPT, edit(KCPT, "metadata.labels", {"a": "b"}), []),
])
def test_a_control_plane_templates_spec_is_immutable_old_defaults_aside(old: Obj, new: Obj, expected: list[str]
                                                                        ) -> None:
    assert messages(cp.validate_kubeadm_control_plane_template(new, old)) == expected
