"""The Machines a KubeadmControlPlane makes and how it judges the ones it has: why a Machine is rolled out, where
the next one goes, which one leaves first, and what a new Machine and its KubeadmConfig look like. No server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.controlplane import CLUSTER, INFRA_GROUP, INFRA_TEMPLATE, NOW, at, kcp, machine, merged

from herd.controlplane.kubeadm.machines import (
    KUBEADM_CONFIG_HASH_ANNOTATION,
    bootstrap_spec,
    config_hash,
    desired_machine,
    failure_domain_for_scale_up,
    in_place_changes,
    in_place_spec,
    kubeadm_config,
    machine_labels,
    machine_name,
    machine_to_scale_down,
    outdated_reasons,
)

DEV_MACHINE_TEMPLATE = f"DevMachineTemplate.{INFRA_GROUP}"
EXPIRY = "machine.cluster.x-k8s.io/certificates-expiry"
DELETE = "cluster.x-k8s.io/delete-machine"
NAME_SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"


def infra(name: str | None = INFRA_TEMPLATE, group_kind: str | None = DEV_MACHINE_TEMPLATE) -> dict[str, Any]:
    """The Machine's DevMachine, cloned from the template `name` of `group_kind` (None: annotation absent)."""
    annotations = {}
    if name is not None:
        annotations["cluster.x-k8s.io/cloned-from-name"] = name
    if group_kind is not None:
        annotations["cluster.x-k8s.io/cloned-from-groupkind"] = group_kind
    return {"apiVersion": f"{INFRA_GROUP}/v1beta2", "kind": "DevMachine",
            "metadata": {"name": "m", "annotations": annotations}}


# ----- outdated_reasons -----

STALE_INFRA = (f"DevMachine is not up-to-date (cloned from cp-v0, spec.machineTemplate.spec.infrastructureRef "
               f"names {INFRA_TEMPLATE})")
SAME_NAME_OTHER_KIND = (f"DevMachine is not up-to-date (cloned from {INFRA_TEMPLATE}, "
                        f"spec.machineTemplate.spec.infrastructureRef names {INFRA_TEMPLATE})")
CERTIFICATES = "Certificates expire within 7 days (spec.rollout.before.certificatesExpiryDays)"
BEFORE_ROLLOUT_AFTER = "Machine was created before spec.rollout.after"


@pytest.mark.parametrize(("spec", "machine_args", "infra_machine", "hash_of", "expected"), [
    pytest.param({}, {}, infra(), {}, [], id="up-to-date"),
    pytest.param({}, {"version": "v1.30.4"}, infra(), {}, ["Version v1.30.4 is not v1.31.0"], id="older-version"),
    pytest.param({}, {}, infra("cp-v0"), {}, [STALE_INFRA], id="infra-cloned-from-another-template"),
    pytest.param({}, {}, infra(group_kind=f"DockerMachineTemplate.{INFRA_GROUP}"), {}, [SAME_NAME_OTHER_KIND],
                 id="infra-cloned-from-another-group-kind"),
    pytest.param({}, {}, infra(None, None), {}, [], id="adopted-infra-without-cloned-from-annotations"),
    pytest.param({}, {}, None, {}, [], id="infra-not-found"),
    pytest.param({}, {}, infra(group_kind=None), {}, [], id="infra-with-only-the-cloned-from-name"),
    pytest.param({}, {}, infra(), {"kubeadmConfigSpec": {"files": [{"path": "/etc/motd", "content": "hi"}]}},
                 ["KubeadmConfig is not up-to-date"], id="kubeadm-config-changed-since-creation"),
    pytest.param({}, {}, infra(), None, [], id="no-config-hash-annotation-is-not-a-reason"),
    pytest.param({}, {"version": "v1.30.4"}, infra("cp-v0"), {"kubeadmConfigSpec": {"files": []}},
                 ["Version v1.30.4 is not v1.31.0", STALE_INFRA, "KubeadmConfig is not up-to-date"],
                 id="every-reason-is-listed"),
    pytest.param({"rollout": {"after": at(minutes=-5)}}, {"created": at(hours=-1)}, infra(), {},
                 [BEFORE_ROLLOUT_AFTER], id="rollout-after-passed-machine-older"),
    pytest.param({"rollout": {"after": at(hours=1)}}, {"created": at(hours=-1)}, infra(), {}, [],
                 id="rollout-after-in-the-future"),
    pytest.param({"rollout": {"after": at(hours=-2)}}, {"created": at(hours=-1)}, infra(), {}, [],
                 id="machine-created-after-rollout-after"),
    pytest.param({"rollout": {"before": {"certificatesExpiryDays": 7}}},
                 {"annotations": {EXPIRY: at(days=5)}}, infra(), {}, [CERTIFICATES],
                 id="certificates-expire-within-the-days"),
    pytest.param({"rollout": {"before": {"certificatesExpiryDays": 7}}},
                 {"annotations": {EXPIRY: at(days=30)}}, infra(), {}, [], id="certificates-expire-later"),
    pytest.param({"rollout": {"before": {"certificatesExpiryDays": 7}}}, {}, infra(), {}, [],
                 id="certificate-expiry-not-known-yet"),
    pytest.param({}, {"annotations": {EXPIRY: at(days=1)}}, infra(), {}, [], id="no-certificates-expiry-days"),
])
def test_outdated_reasons_say_why_a_machine_is_replaced(spec: dict[str, Any], machine_args: dict[str, Any],
                                                        infra_machine: dict[str, Any] | None,
                                                        hash_of: dict[str, Any] | None, expected: list[str]) -> None:
    # The Machine was made from the control plane as it was, with `hash_of` merged into its spec then.
    control_plane = kcp(spec)
    annotations = dict(machine_args.pop("annotations", {}))
    if hash_of is not None:
        annotations[KUBEADM_CONFIG_HASH_ANNOTATION] = config_hash(kcp(merged(spec, hash_of)))
    m = machine("m", annotations=annotations, **machine_args)
    assert outdated_reasons(control_plane, m, infra_machine, NOW) == expected


# ----- config_hash -----

@pytest.mark.parametrize(("change", "rolls_out"), [
    pytest.param({"clusterConfiguration": {"dns": {"imageTag": "v1.12.0", "imageRepository": "mirror.io"}}}, False,
                 id="dns-is-updated-in-place"),
    pytest.param({"joinConfiguration": {"discovery": {"bootstrapToken": {"apiServerEndpoint": "10.0.0.2:6443"}}}},
                 False, id="join-discovery-is-per-machine"),
    pytest.param({"clusterConfiguration": {"apiServer": {"extraArgs": [{"name": "v", "value": "4"}]}}}, True,
                 id="api-server-arguments"),
    pytest.param({"joinConfiguration": {"nodeRegistration": {"taints": []}}}, True, id="join-node-registration"),
    pytest.param({"initConfiguration": {"skipPhases": ["addon/kube-proxy"]}}, True, id="init-configuration"),
    pytest.param({"files": [{"path": "/etc/motd", "content": "hi"}]}, True, id="files"),
    pytest.param({"clusterConfiguration": {"dns": None}}, False, id="dns-removed"),
])
def test_config_hash_changes_only_with_what_makes_a_machine(change: dict[str, Any], rolls_out: bool) -> None:
    before = kcp()
    after = kcp({"kubeadmConfigSpec": change})
    assert (config_hash(before) != config_hash(after)) is rolls_out


def test_config_hash_does_not_depend_on_key_order() -> None:
    spec = kcp()["spec"]["kubeadmConfigSpec"]
    reordered = kcp()
    reordered["spec"]["kubeadmConfigSpec"] = dict(reversed(list(spec.items())))
    assert config_hash(reordered) == config_hash(kcp())


# ----- failure domains -----

def placed(name: str, domain: str) -> dict[str, Any]:
    return machine(name, domain=domain)


@pytest.mark.parametrize(("domains", "machines", "up_to_date", "expected"), [
    pytest.param([], [placed("a", "fd1")], {"a"}, None, id="no-failure-domains"),
    pytest.param(["fd1", "fd2", "fd3"], [placed("a", "fd1"), placed("b", "fd2"), placed("c", "fd3")], {"a", "b"},
                 "fd3", id="fewest-up-to-date"),
    pytest.param(["fd1", "fd2", "fd3"],
                 [placed("a", "fd1"), placed("b", "fd2"), placed("c", "fd2"), placed("d", "fd3")], {"a"},
                 "fd3", id="tie-on-up-to-date-fewest-machines"),
    pytest.param(["fd3", "fd1", "fd2"], [], set(), "fd1", id="tie-on-everything-first-name"),
    pytest.param(["fd1", "fd2"], [placed("a", "fd1"), placed("x", "gone")], {"a", "x"}, "fd2",
                 id="machines-outside-the-domains-do-not-count"),
])
def test_scale_up_goes_to_the_failure_domain_with_the_fewest_up_to_date_machines(
        domains: list[str], machines: list[dict[str, Any]], up_to_date: set[str], expected: str | None) -> None:
    assert failure_domain_for_scale_up(domains, machines, up_to_date) == expected


def aged(name: str, hours_ago: float, *, domain: str = "fd1", marked: bool = False) -> dict[str, Any]:
    return machine(name, created=at(hours=-hours_ago), domain=domain, annotations={DELETE: ""} if marked else {})


@pytest.mark.parametrize(("machines", "outdated", "unhealthy", "expected"), [
    pytest.param([aged("old-marked", 9, marked=True), aged("outdated-marked", 1, marked=True), aged("outdated", 5)],
                 {"outdated-marked", "outdated"}, set(), "outdated-marked", id="marked-and-outdated-first"),
    pytest.param([aged("outdated", 9), aged("marked", 1, marked=True)], {"outdated"}, {"outdated"}, "marked",
                 id="then-marked"),
    pytest.param([aged("outdated", 9), aged("outdated-sick", 1), aged("sick", 8)], {"outdated", "outdated-sick"},
                 {"outdated-sick", "sick"}, "outdated-sick", id="then-outdated-and-unhealthy"),
    pytest.param([aged("sick", 9), aged("outdated", 1)], {"outdated"}, {"sick"}, "outdated", id="then-outdated"),
    pytest.param([aged("b", 5), aged("a", 1), aged("c", 9)], set(), set(), "c", id="then-the-oldest"),
    pytest.param([aged("a", 9, domain="fd1"), aged("b", 1, domain="fd2"), aged("c", 5, domain="fd2")], set(), set(),
                 "c", id="oldest-of-the-busiest-failure-domain"),
    pytest.param([aged("a", 1, domain="fd2"), aged("b", 9, domain="fd3")], set(), set(), "a",
                 id="busiest-tie-first-domain-name"),
    pytest.param([aged("b", 5), aged("a", 5)], set(), set(), "a", id="same-age-first-name"),
    pytest.param([], set(), set(), None, id="no-machines"),
])
def test_scale_down_picks_the_machine_to_delete(machines: list[dict[str, Any]], outdated: set[str],
                                                unhealthy: set[str], expected: str | None) -> None:
    victim = machine_to_scale_down(machines, outdated, unhealthy)
    assert (victim["metadata"]["name"] if victim else None) == expected


# ----- names -----

@pytest.mark.parametrize(("name", "template", "pattern"), [
    pytest.param("cp", None, f"cp-{NAME_SUFFIX}", id="default-template"),
    pytest.param("cp", "{{ .cluster.name }}-control-plane-{{ .random }}", f"{CLUSTER}-control-plane-{NAME_SUFFIX}",
                 id="custom-template-with-cluster-name"),
    pytest.param("cp", "{{ .random }}-{{ .kubeadmControlPlane.name }}", f"{NAME_SUFFIX}-cp", id="random-first"),
    pytest.param("x" * 70, None, f"{'x' * 58}{NAME_SUFFIX}", id="cut-to-63-characters"),
])
def test_machine_names_follow_the_naming_template(name: str, template: str | None, pattern: str) -> None:
    control_plane = kcp({"machineNaming": {"template": template}} if template else {})
    control_plane["metadata"]["name"] = name
    rendered = machine_name(control_plane, CLUSTER)
    assert re.fullmatch(pattern, rendered), rendered
    assert len(rendered) <= 63


def test_a_naming_template_without_random_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("{{ .random }}")):
        machine_name(kcp({"machineNaming": {"template": "{{ .kubeadmControlPlane.name }}-fixed"}}), CLUSTER)


# ----- the new Machine and its KubeadmConfig -----

@pytest.mark.parametrize(("spec", "init", "expected"), [
    pytest.param({}, True, {"clusterConfiguration", "initConfiguration"}, id="init-drops-join"),
    pytest.param({}, False, {"clusterConfiguration", "joinConfiguration"}, id="join-drops-init"),
    pytest.param({"kubeadmConfigSpec": {"joinConfiguration": None}}, False,
                 {"clusterConfiguration", "joinConfiguration"}, id="join-without-join-configuration"),
])
def test_bootstrap_spec_inits_the_first_machine_and_joins_the_others(spec: dict[str, Any], init: bool,
                                                                     expected: set[str]) -> None:
    control_plane = kcp(spec)
    before = merged(control_plane, {})
    made = bootstrap_spec(control_plane, init=init)
    assert set(made) == expected
    if not init:
        assert made["joinConfiguration"]["controlPlane"] == {}
    assert control_plane == before  # the KubeadmControlPlane's own spec is left alone


def test_join_keeps_the_users_control_plane_join_settings_and_discovery() -> None:
    endpoint = {"localAPIEndpoint": {"bindPort": 7443}}
    made = bootstrap_spec(kcp({"kubeadmConfigSpec": {"joinConfiguration": {"controlPlane": endpoint}}}), init=False)
    assert made["joinConfiguration"]["controlPlane"] == endpoint
    assert made["joinConfiguration"]["discovery"] == {"bootstrapToken": {"apiServerEndpoint": "10.0.0.1:6443"}}


TEMPLATE_SPEC = {
    "readinessGates": [{"conditionType": "example.com/Ready"}],
    "deletion": {"nodeDrainTimeoutSeconds": 300},
    "taints": [{"key": "dedicated", "value": "cp", "effect": "NoSchedule", "propagation": "Always"}],
}
BOOTSTRAP_REF = {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig", "name": "cp-abcde"}
INFRA_REF = {"apiGroup": INFRA_GROUP, "kind": "DevMachine", "name": "cp-abcde"}
NEW = desired_machine(
    kcp({"machineTemplate": {"metadata": {"labels": {"team": "a"}, "annotations": {"note": "n"}},
                             "spec": TEMPLATE_SPEC}}),
    "cp-abcde", CLUSTER, bootstrap_ref=BOOTSTRAP_REF, infra_ref=INFRA_REF, failure_domain="fd2")
OWN_GATES = [{"conditionType": t} for t in ("APIServerPodHealthy", "ControllerManagerPodHealthy", "SchedulerPodHealthy",
                                            "EtcdPodHealthy", "EtcdMemberHealthy", "NodeKubeadmLabelsAndTaintsSet")]
WITH_OWN_GATES = {**TEMPLATE_SPEC, "readinessGates": [*TEMPLATE_SPEC["readinessGates"], *OWN_GATES]}


@pytest.mark.parametrize(("read", "expected"), [
    pytest.param(lambda m: m["metadata"]["labels"],
                 {"team": "a", "cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/control-plane": "",
                  "cluster.x-k8s.io/control-plane-name": "cp"}, id="labels"),
    pytest.param(lambda m: {k: v for k, v in m["metadata"]["annotations"].items()
                            if k != KUBEADM_CONFIG_HASH_ANNOTATION},
                 {"note": "n", "pre-terminate.delete.hook.machine.cluster.x-k8s.io/kcp-cleanup": ""},
                 id="template-annotations-and-the-kcp-cleanup-hook"),
    pytest.param(lambda m: m["metadata"]["annotations"][KUBEADM_CONFIG_HASH_ANNOTATION] == config_hash(kcp()), True,
                 id="config-hash-of-this-spec"),
    pytest.param(lambda m: m["metadata"]["ownerReferences"],
                 [{"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane", "name": "cp",
                   "uid": "kcp-uid", "controller": True, "blockOwnerDeletion": True}], id="controlled-by-the-kcp"),
    pytest.param(lambda m: (m["metadata"]["name"], m["metadata"]["namespace"]), ("cp-abcde", "ns"), id="name"),
    pytest.param(lambda m: {k: m["spec"][k] for k in ("clusterName", "version", "bootstrap", "infrastructureRef")},
                 {"clusterName": CLUSTER, "version": "v1.31.0", "bootstrap": {"configRef": BOOTSTRAP_REF},
                  "infrastructureRef": INFRA_REF}, id="version-and-references"),
    pytest.param(lambda m: m["spec"]["failureDomain"], "fd2", id="failure-domain"),
    pytest.param(lambda m: {k: m["spec"][k] for k in TEMPLATE_SPEC}, WITH_OWN_GATES,
                 id="readiness-gates-deletion-and-taints-copied-with-the-control-plane-gates-after-the-user-ones"),
])
def test_desired_machine(read: Any, expected: Any) -> None:
    assert read(NEW) == expected


def test_desired_machine_without_failure_domain_or_template_fields() -> None:
    made = desired_machine(kcp(), "cp-abcde", CLUSTER, bootstrap_ref=BOOTSTRAP_REF, infra_ref=INFRA_REF,
                           failure_domain=None)
    assert set(made["spec"]) == {"clusterName", "version", "bootstrap", "infrastructureRef", "readinessGates"}
    assert made["spec"]["readinessGates"] == OWN_GATES


def test_kubeadm_config_of_a_joining_machine() -> None:
    control_plane = kcp({"machineTemplate": {"metadata": {"labels": {"team": "a"}, "annotations": {"note": "n"}}}})
    config = kubeadm_config(control_plane, "cp-abcde", CLUSTER, init=False)
    assert (config["kind"], config["metadata"]["name"], config["metadata"]["namespace"]) == \
        ("KubeadmConfig", "cp-abcde", "ns")
    assert config["metadata"]["labels"] == machine_labels(control_plane, CLUSTER)
    assert config["metadata"]["annotations"] == {"note": "n"}
    # referenced (not controlled) until its Machine takes it over
    assert [(o["kind"], o["name"], o["controller"]) for o in config["metadata"]["ownerReferences"]] == \
        [("KubeadmControlPlane", "cp", False)]
    assert config["spec"] == bootstrap_spec(control_plane, init=False)


@pytest.mark.parametrize(("name", "label"), [
    pytest.param("cp", "cp", id="short-name"),
    pytest.param("c" * 64, "hash_", id="too-long-for-a-label-value-is-hashed"),
])
def test_control_plane_name_label(name: str, label: str) -> None:
    control_plane = kcp()
    control_plane["metadata"]["name"] = name
    value = machine_labels(control_plane, CLUSTER)["cluster.x-k8s.io/control-plane-name"]
    assert value.startswith(label) and len(value) <= 63


@pytest.mark.parametrize(("template_spec", "expected"), [
    pytest.param({}, {"readinessGates": OWN_GATES, "deletion": None, "taints": None},
                 id="absent-fields-are-removed-the-control-plane-gates-stay"),
    pytest.param(TEMPLATE_SPEC, WITH_OWN_GATES, id="template-fields"),
])
def test_in_place_spec_carries_the_template_fields_to_existing_machines(template_spec: dict[str, Any],
                                                                       expected: dict[str, Any]) -> None:
    assert in_place_spec(kcp({"machineTemplate": {"spec": template_spec}})) == expected


@pytest.mark.parametrize(("spec", "in_place", "expected"), [
    pytest.param({"deletion": {"nodeDeletionTimeoutSeconds": 10}}, {"deletion": None}, {},
                 id="a-timeout-the-webhook-defaulted-is-no-change"),
    pytest.param({}, {"readinessGates": [{"conditionType": "X"}]}, {"readinessGates": [{"conditionType": "X"}]},
                 id="a-new-gate-is-a-change"),
    pytest.param({"deletion": {"nodeDrainTimeoutSeconds": 60}}, {"deletion": {"nodeDrainTimeoutSeconds": 90}},
                 {"deletion": {"nodeDrainTimeoutSeconds": 90}}, id="a-changed-timeout-is-a-change"),
])
def test_in_place_changes_compare_after_defaulting(spec: dict[str, Any], in_place: dict[str, Any],
                                                   expected: dict[str, Any]) -> None:
    assert in_place_changes({"metadata": {"name": "m"}, "spec": spec}, in_place) == expected
