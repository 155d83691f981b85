"""Upstream Cluster API's webhook defaulting and validation of the cluster.x-k8s.io kinds, as tables."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from herd.api.cluster import webhooks as w
from herd.api.webhookutil import FeatureGates, format_label_value, selector_matches
from herd.runtime.webhook import WebhookDenied

Obj = dict[str, Any]
ALL_GATES = FeatureGates(cluster_topology=True, kubeadm_bootstrap_format_ignition=True,
                         machine_set_preflight_checks=True, machine_taint_propagation=True)
CLUSTER = "cluster.x-k8s.io/cluster-name"
DEPLOYMENT = "cluster.x-k8s.io/deployment-name"
INFRA_REF = {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachineTemplate", "name": "workers"}
CONFIG_REF = {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": "workers"}
IMMUTABLE = "field is immutable"


def machine_deployment(**spec: Any) -> Obj:
    """An upstream-shaped MachineDeployment as a user writes it: no labels, no selector."""
    template_spec = {"clusterName": "c1", "version": "v1.33.0", "bootstrap": {"configRef": dict(CONFIG_REF)},
                     "infrastructureRef": dict(INFRA_REF)}
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment", "metadata": {
        "name": "md-0", "namespace": "default"}, "spec": {"clusterName": "c1", "template": {"spec": template_spec},
                                                          **spec}}


def edit(obj: Obj, path: str, value: Any) -> Obj:
    """A copy of `obj` with the dotted `path` set (created as needed); `...` deletes it."""
    obj, (*parents, last) = copy.deepcopy(obj), path.split(".")
    node = obj
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return obj


def messages(errors: list[Any]) -> list[str]:
    return list(map(str, errors))


# --- MachineDeployment defaulting ------------------------------------------------------------------------------


def test_a_machine_deployment_without_labels_gets_upstreams_selector_and_template_labels() -> None:
    md = w.default_machine_deployment(machine_deployment())

    assert md["metadata"]["labels"] == {CLUSTER: "c1"}
    assert md["spec"]["selector"] == {"matchLabels": {DEPLOYMENT: "md-0", CLUSTER: "c1"}}
    assert md["spec"]["template"]["metadata"] == {"labels": {DEPLOYMENT: "md-0", CLUSTER: "c1"}}
    assert md["spec"]["replicas"] == 1
    assert md["spec"]["rollout"] == {"strategy": {"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}
    assert w.validate_machine_deployment(md) == []


@pytest.mark.parametrize(("selector", "expected"), [
    ({"matchLabels": None}, {DEPLOYMENT: "md-0", CLUSTER: "c1"}),
    ({}, {DEPLOYMENT: "md-0", CLUSTER: "c1"}),
    ({"matchLabels": {"pool": "a"}}, {"pool": "a", CLUSTER: "c1"}),
    ({"matchExpressions": [{"key": "pool", "operator": "Exists"}]}, {CLUSTER: "c1"}),
])
def test_the_selector_defaults_to_the_deployment_name_only_when_none_is_given(selector: Obj, expected: Obj) -> None:
    md = w.default_machine_deployment(machine_deployment(selector=selector))

    assert md["spec"]["selector"]["matchLabels"] == expected
    assert md["spec"]["template"]["metadata"]["labels"].items() >= {CLUSTER: "c1"}.items()


def test_defaulting_keeps_what_is_set_and_never_touches_its_input() -> None:
    given = machine_deployment(replicas=0, rollout={"strategy": {"type": "RollingUpdate",
                                                                 "rollingUpdate": {"maxSurge": "25%"}}})
    before = copy.deepcopy(given)

    md = w.default_machine_deployment(given)

    assert given == before
    assert md["spec"]["replicas"] == 0
    assert md["spec"]["rollout"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


@pytest.mark.parametrize(("version", "expected"), [("1.30.0", "v1.30.0"), ("v1.30.0", "v1.30.0"), ("foo", "vfoo")])
def test_the_template_version_gets_its_v(version: str, expected: str) -> None:
    md = w.default_machine_deployment(edit(machine_deployment(), "spec.template.spec.version", version))

    assert md["spec"]["template"]["spec"]["version"] == expected


def test_references_values_of_the_wrong_type_and_the_on_delete_strategy_are_left_as_written() -> None:
    md = w.default_machine_deployment(machine_deployment(rollout={"strategy": {"type": "OnDelete"}}))
    mistyped = w.default_machine_deployment(machine_deployment(replicas="three", selector="all"))

    assert md["spec"]["template"]["spec"]["infrastructureRef"] == INFRA_REF  # v1beta2 refs get no namespace
    assert md["spec"]["template"]["spec"]["bootstrap"] == {"configRef": CONFIG_REF}
    assert md["spec"]["rollout"] == {"strategy": {"type": "OnDelete"}}  # no rollingUpdate settings for OnDelete
    assert mistyped["spec"]["replicas"] == "three" and mistyped["spec"]["selector"] == "all"  # the schema reports


MIN, MAX = (f"cluster.x-k8s.io/cluster-api-autoscaler-node-group-{bound}-size" for bound in ("min", "max"))


@pytest.mark.parametrize(("old_replicas", "expected"), [(None, 3), (1, 3), (4, 4), (9, 5)])
def test_replicas_follow_the_autoscaler_bounds_when_unset(old_replicas: int | None, expected: int) -> None:
    md = edit(machine_deployment(), "metadata.annotations", {MIN: "3", MAX: "5"})
    old = None if old_replicas is None else edit(md, "spec.replicas", old_replicas)

    assert w.default_machine_deployment(md, old)["spec"]["replicas"] == expected


def test_an_unreadable_autoscaler_bound_refuses_the_request() -> None:
    md = edit(machine_deployment(), "metadata.annotations", {MIN: "three", MAX: "5"})

    with pytest.raises(WebhookDenied) as denied:
        w.default_machine_deployment(md)
    assert denied.value.code == 403 and MIN in denied.value.message


# --- MachineDeployment validation ------------------------------------------------------------------------------

VALID_MD = w.default_machine_deployment(machine_deployment())


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("spec.template.spec.version", "vfoo", 'spec.template.spec.version: Invalid value: "vfoo": must be a valid '
                                          "semantic version"),
    ("spec.template.metadata.labels", {CLUSTER: "c1"},
     'spec.template.metadata.labels: Forbidden: must match spec.selector "cluster.x-k8s.io/cluster-name=c1,'
     'cluster.x-k8s.io/deployment-name=md-0"'),
    ("spec.template.spec.clusterName", "c2", 'spec.clusterName: Invalid value: "c1": spec.clusterName and '
                                             "spec.template.spec.clusterName must be the same"),
    ("spec.template.spec.bootstrap", {}, "spec.template.spec.bootstrap: Required value: either "
                                         "spec.template.spec.bootstrap.configRef or "
                                         "spec.template.spec.bootstrap.dataSecretName must be set"),
    ("spec.rollout.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": 0},
     "spec.rollout.strategy.rollingUpdate: Invalid value: 0: maxUnavailable and maxSurge cannot both be 0"),
    ("spec.rollout.strategy.rollingUpdate.maxSurge", "ten", "spec.rollout.strategy.rollingUpdate.maxSurge: "
                                                            "Invalid value: \"ten\""),
    ("spec.remediation", {"maxInFlight": "10"}, "spec.remediation.maxInFlight: Invalid value: \"10\""),
    ("metadata.name", "m" * 64, "metadata.name: Invalid value: \"" + "m" * 64 + "\": must be a valid label value"),
    ("spec.machineNaming", {"template": "{{ .machineSet.name }}"},
     "spec.machineNaming.template: Invalid value: \"{{ .machineSet.name }}\": invalid template, {{ .random }} is "
     "missing"),
    ("spec.machineNaming", {"template": "{{ .machine.name }}-{{ .random }}"}, "spec.machineNaming.template: "
                                                                             "Invalid value"),
    ("spec.machineNaming", {"template": "UPPER-{{ .random }}"}, 'spec.machineNaming.template: Invalid value: '
                                                               '"UPPER-{{ .random }}": invalid template, generated '
                                                               "names would not be valid"),
    ("metadata.annotations", {"machineset.cluster.x-k8s.io/skip-preflight-checks": "All,Bogus"},
     'metadata.annotations[machineset.cluster.x-k8s.io/skip-preflight-checks]: Invalid value: ["Bogus"]'),
    ("spec.selector.matchExpressions", [{"key": "pool", "operator": "Near"}],
     'spec.selector.matchExpressions[0].operator: Invalid value: "Near"'),
    ("spec.template.metadata.annotations", {"bad key": "x"}, 'spec.template.metadata.annotations: Invalid value: '
                                                             '"bad key"'),
])
def test_a_machine_deployment_is_refused_with_the_field_named(path: str, value: Any, expected: str) -> None:
    found = messages(w.validate_machine_deployment(edit(VALID_MD, path, value)))

    assert any(m.startswith(expected) for m in found), found


@pytest.mark.parametrize(("path", "value"), [
    ("spec.template.spec.bootstrap", {"dataSecretName": ""}),
    ("spec.machineNaming", {"template": "{{ .cluster.name }}-{{ .machineSet.name }}-{{ .random }}"}),
    ("spec.rollout.strategy.rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "-5%"}),
    ("metadata.annotations", {"machineset.cluster.x-k8s.io/skip-preflight-checks": "All, KubeadmVersionSkew"}),
    ("spec.template.spec.version", ...),
])
def test_a_machine_deployment_passes_validation(path: str, value: Any) -> None:
    assert messages(w.validate_machine_deployment(edit(VALID_MD, path, value))) == []


def test_cluster_name_is_immutable() -> None:
    moved = edit(edit(VALID_MD, "spec.clusterName", "c2"), "spec.template.spec.clusterName", "c2")

    assert messages(w.validate_machine_deployment(moved, VALID_MD)) == [f"spec.clusterName: Forbidden: {IMMUTABLE}"]
    assert w.validate_machine_deployment(moved) == []


# --- MachineSet --------------------------------------------------------------------------------------------------


def test_a_machine_set_selects_by_its_name_hashed_when_too_long_for_a_label() -> None:
    name = "ms-" + "x" * 70
    ms = w.default_machine_set(edit(edit(machine_deployment(), "kind", "MachineSet"), "metadata.name", name))

    value = ms["spec"]["selector"]["matchLabels"]["cluster.x-k8s.io/set-name"]
    assert value == format_label_value(name) and value.startswith("hash_") and value.endswith("_z")
    assert ms["spec"]["template"]["metadata"]["labels"] == {"cluster.x-k8s.io/set-name": value}
    assert ms["metadata"]["labels"] == {CLUSTER: "c1"} and ms["spec"]["replicas"] == 1
    assert "rollout" not in ms["spec"]
    assert w.validate_machine_set(ms) == []


def test_a_machine_set_with_its_own_selector_gets_no_empty_label_maps() -> None:
    given = edit(machine_deployment(), "spec.selector", {"matchExpressions": [{"key": "a", "operator": "Exists"}]})

    ms = w.default_machine_set(given)

    assert ms["spec"]["selector"] == given["spec"]["selector"] and "metadata" not in ms["spec"]["template"]


def test_a_machine_set_whose_template_does_not_match_is_invalid_with_the_labels_shown() -> None:
    ms = edit(w.default_machine_set(machine_deployment()), "spec.template.metadata.labels", {"a": "b"})

    assert messages(w.validate_machine_set(ms)) == ['spec.template.metadata.labels: Invalid value: {"a":"b"}: must '
                                                    'match spec.selector "cluster.x-k8s.io/set-name=md-0"']


# --- Machine -----------------------------------------------------------------------------------------------------

MACHINE: Obj = {"metadata": {"name": "m-0"}, "spec": {"clusterName": "c1", "version": "1.33.1",
                                                      "bootstrap": {"dataSecretName": "m-0-bootstrap"},
                                                      "infrastructureRef": INFRA_REF}}


def test_a_machine_gets_the_cluster_label_a_version_and_the_node_deletion_timeout() -> None:
    machine = w.default_machine(MACHINE)

    assert machine["metadata"]["labels"] == {CLUSTER: "c1"}
    assert machine["spec"]["version"] == "v1.33.1"
    assert machine["spec"]["deletion"] == {"nodeDeletionTimeoutSeconds": 10}
    assert w.default_machine(edit(MACHINE, "spec.deletion", {"nodeDeletionTimeoutSeconds": 0})
                             )["spec"]["deletion"] == {"nodeDeletionTimeoutSeconds": 0}


def taints(*keys: str) -> list[Obj]:
    return [{"key": key, "effect": "NoSchedule"} for key in keys]


CONTROL_PLANE, POOL = {"cluster.x-k8s.io/control-plane": ""}, {"cluster.x-k8s.io/pool-name": "p"}


@pytest.mark.parametrize(("path", "value", "labels", "gates", "expected"), [
    ("spec.version", "v1.33.1", {}, ALL_GATES, []),
    ("spec.bootstrap", {}, {}, ALL_GATES, ["spec.bootstrap: Required value: either spec.bootstrap.configRef or "
                                           "spec.bootstrap.dataSecretName must be set"]),
    ("spec.bootstrap", {}, POOL, ALL_GATES, []),  # a MachinePool's machines get their data from the pool
    ("spec.version", "v1.33", {}, ALL_GATES, ['spec.version: Invalid value: "v1.33": must be a valid semantic '
                                              "version"]),
    ("spec.taints", taints("a"), {}, FeatureGates(), ["spec.taints: Forbidden: taints can be set only if the "
                                                      "MachineTaintPropagation feature gate is enabled"]),
    ("spec.taints", taints("node.cluster.x-k8s.io/uninitialized", "node.kubernetes.io/not-ready",
                           "node.kubernetes.io/out-of-service", "node-role.kubernetes.io/master"), {}, ALL_GATES,
     ['spec.taints[0].key: Invalid value: "node.cluster.x-k8s.io/uninitialized": taint key is reserved for '
      "Cluster API", 'spec.taints[1].key: Invalid value: "node.kubernetes.io/not-ready": the prefix '
      "node.kubernetes.io/ is reserved (only node.kubernetes.io/out-of-service may be used)",
      'spec.taints[3].key: Invalid value: "node-role.kubernetes.io/master": this taint is deprecated since '
      "Kubernetes 1.24"]),
    ("spec.taints", taints("node-role.kubernetes.io/control-plane"), {}, ALL_GATES,
     ['spec.taints[0].key: Invalid value: "node-role.kubernetes.io/control-plane": taint is not allowed for worker '
      "Machines"]),
    ("spec.taints", taints("node-role.kubernetes.io/control-plane"), CONTROL_PLANE, ALL_GATES, []),
])
def test_machine_validation(path: str, value: Any, labels: Obj, gates: FeatureGates, expected: list[str]) -> None:
    machine = edit(edit(w.default_machine(MACHINE), path, value), "metadata.labels", labels)

    assert messages(w.validate_machine(machine, gates=gates)) == expected


# --- MachineHealthCheck -----------------------------------------------------------------------------------------

MHC: Obj = {"metadata": {"name": "workers"}, "spec": {"clusterName": "c1", "selector": {"matchLabels": {
    DEPLOYMENT: "md-0"}}}}


def test_a_health_check_gets_the_cluster_label_and_a_ten_minute_node_startup_timeout() -> None:
    mhc = w.default_machine_health_check(MHC)

    assert mhc["metadata"]["labels"] == {CLUSTER: "c1"}
    assert mhc["spec"]["checks"] == {"nodeStartupTimeoutSeconds": 600}
    assert "remediation" not in mhc["spec"]  # v1beta2 has no maxUnhealthy default any more


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("spec.selector", {}, ["spec.selector: Required value: selector must not be empty"]),
    ("spec.selector.matchLabels", {CLUSTER: "c2"}, ['spec.selector: Invalid value: {"matchLabels":'
                                                    '{"cluster.x-k8s.io/cluster-name":"c2"}}: cannot select a '
                                                    "cluster other than the one named in spec.clusterName"]),
    ("spec.checks.nodeStartupTimeoutSeconds", 10, ["spec.checks.nodeStartupTimeoutSeconds: Invalid value: 10: must "
                                                   "be at least 30s"]),
    ("spec.checks.nodeStartupTimeoutSeconds", 0, []),
    ("spec.checks.nodeStartupTimeoutSeconds", 30, []),
    ("spec.remediation", {"triggerIf": {"unhealthyLessThanOrEqualTo": "40%"}}, []),
    ("spec.remediation", {"triggerIf": {"unhealthyLessThanOrEqualTo": "forty"}},
     ['spec.remediation.triggerIf.unhealthyLessThanOrEqualTo: Invalid value: "forty": must be an integer or a '
      'percentage such as "25%"']),
])
def test_health_check_validation(path: str, value: Any, expected: list[str]) -> None:
    mhc = edit(w.default_machine_health_check(MHC), path, value)

    assert messages(w.validate_machine_health_check(mhc)) == expected


@pytest.mark.parametrize(("default", "validate", "obj"), [
    (w.default_machine, w.validate_machine, MACHINE), (w.default_machine_health_check, w.validate_machine_health_check,
                                                       MHC)])
def test_the_cluster_name_of_machines_and_health_checks_is_immutable(
        default: Callable[[Obj], Obj], validate: Callable[[Obj, Obj], list[Any]], obj: Obj) -> None:
    before = default(obj)

    assert messages(validate(edit(before, "spec.clusterName", "c2"), before)) == [
        f"spec.clusterName: Forbidden: {IMMUTABLE}"]


# --- Cluster -----------------------------------------------------------------------------------------------------

CLUSTER_OBJ: Obj = {"metadata": {"name": "c1"}, "spec": {
    "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": "cp"},
    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevCluster", "name": "c1"},
    "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}, "services": {"cidrBlocks": ["fd00::/108"]}}}}
TOPOLOGY: Obj = {"classRef": {"name": "quick-start"}, "version": "1.32.0", "workers": {"machineDeployments": [
    {"class": "default-worker", "name": "md-0"}]}}


def test_a_topology_version_gets_its_v_and_a_topology_needs_a_class() -> None:
    assert w.default_cluster(CLUSTER_OBJ) == CLUSTER_OBJ
    assert w.default_cluster(edit(CLUSTER_OBJ, "spec.topology", TOPOLOGY))["spec"]["topology"]["version"] == "v1.32.0"
    with pytest.raises(WebhookDenied) as denied:
        w.default_cluster(edit(CLUSTER_OBJ, "spec.topology", {"version": "v1.32.0"}))
    assert denied.value.code == 422
    assert denied.value.message == ('Cluster.cluster.x-k8s.io "c1" is invalid: spec.topology.classRef.name: '
                                    "Required value: cannot be empty")


def cluster_errors(cluster: Obj, old: Obj | None = None, gates: FeatureGates = ALL_GATES) -> list[str]:
    return messages(w.validate_cluster(w.default_cluster(cluster), old and w.default_cluster(old), gates)[1])


WITH_TOPOLOGY = edit(CLUSTER_OBJ, "spec.topology", TOPOLOGY)


@pytest.mark.parametrize(("cluster", "old", "gates", "expected"), [
    (CLUSTER_OBJ, None, FeatureGates(), []),
    (edit(CLUSTER_OBJ, "spec", {}), None, FeatureGates(),
     ["spec: Forbidden: one of spec.controlPlaneRef, spec.infrastructureRef or spec.topology must be set"]),
    (edit(CLUSTER_OBJ, "spec.infrastructureRef", ...), CLUSTER_OBJ, FeatureGates(),
     ["spec.infrastructureRef: Forbidden: cannot be removed"]),
    (edit(CLUSTER_OBJ, "spec.clusterNetwork.pods.cidrBlocks", ["10.0.0.0/8", "10.0.0/33"]), None, FeatureGates(),
     ['spec.clusterNetwork.pods.cidrBlocks[1]: Invalid value: "10.0.0/33": invalid CIDR address']),
    (WITH_TOPOLOGY, None, FeatureGates(),
     ["spec.topology: Forbidden: can be set only if the ClusterTopology feature gate is enabled"]),
    (WITH_TOPOLOGY, None, ALL_GATES, []),
    (edit(WITH_TOPOLOGY, "spec.topology.version", "1.32"), None, ALL_GATES,
     ['spec.topology.version: Invalid value: "v1.32": version must be a valid semantic version']),
    (WITH_TOPOLOGY, CLUSTER_OBJ, ALL_GATES,
     ["spec.topology.class: Forbidden: classRef cannot be set on an existing Cluster"]),
    (CLUSTER_OBJ, WITH_TOPOLOGY, ALL_GATES, ["spec.topology: Forbidden: cannot be removed from an existing Cluster"]),
    (edit(WITH_TOPOLOGY, "spec.topology.version", "v1.33.5"), WITH_TOPOLOGY, ALL_GATES, []),
    *((edit(WITH_TOPOLOGY, "spec.topology.version", v), WITH_TOPOLOGY, ALL_GATES, [
        f'spec.topology.version: Invalid value: "{v}": version cannot be {how} from "v1.32.0" to "{v}"'])
      for v, how in (("v1.34.0", "increased"), ("v1.31.9", "decreased"))),
    (edit(WITH_TOPOLOGY, "metadata.annotations", {"topology.cluster.x-k8s.io/upgrade-concurrency": "0"}), None,
     ALL_GATES, ['metadata.annotations[topology.cluster.x-k8s.io/upgrade-concurrency]: Invalid value: "0": must be '
                 "a whole number of at least 1"]),
    (edit(WITH_TOPOLOGY, "spec.topology.workers.machineDeployments", [
        {"class": "w", "name": "md-1", "replicas": 2, "metadata": {"annotations": {MIN: "1"}}}]), None, ALL_GATES,
     ["spec.topology.workers.machineDeployments[md-1].replicas: Invalid value: 2: cannot be set together with the "
      "cluster autoscaler's min/max size annotations"]),
    (edit(WITH_TOPOLOGY, "spec.topology.workers.machineDeployments", [
        {"class": "w", "name": "md-1", "rollout": {"strategy": {"rollingUpdate": {"maxSurge": "x"}}}}]), None,
     ALL_GATES, ['spec.topology.workers.machineDeployments[md-1].rollout.strategy.rollingUpdate.maxSurge: Invalid '
                 'value: "x": must be an integer or a percentage such as "25%"']),
    (edit(CLUSTER_OBJ, "metadata.name", "c_"), None, FeatureGates(), [
        'metadata.name: Invalid value: "c_": must be a valid label value a label value must be empty or letters, '
        "digits, '-', '_' and '.', starting and ending with a letter or digit"]),
])
def test_cluster_validation(cluster: Obj, old: Obj | None, gates: FeatureGates, expected: list[str]) -> None:
    assert cluster_errors(cluster, old, gates) == expected


def test_the_unsafe_version_annotation_turns_the_version_rules_into_a_warning() -> None:
    newer = edit(edit(WITH_TOPOLOGY, "spec.topology.version", "v1.30.0"), "metadata.annotations",
                 {"unsafe.topology.cluster.x-k8s.io/disable-update-version-check": ""})

    warnings, errors = w.validate_cluster(w.default_cluster(newer), w.default_cluster(WITH_TOPOLOGY), ALL_GATES)

    assert errors == [] and len(warnings) == 1 and "disable-update-version-check" in warnings[0]


@pytest.mark.parametrize(("selector", "labels", "matches", "text"), [
    ({"matchLabels": {"b": "2", "a": "1"}}, {"a": "1", "b": "2", "c": "3"}, True, "a=1,b=2"),
    ({"matchExpressions": [{"key": "x", "operator": "In", "values": ["q", "p"]}]}, {"x": "p"}, True, "x in (p,q)"),
    ({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["p"]}]}, {"x": "p"}, False, "x notin (p)"),
    ({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, {}, True, "!x"),
    ({}, {"any": "thing"}, True, ""),
])
def test_selectors_match_and_print_like_kubernetes(selector: Obj, labels: Obj, matches: bool, text: str) -> None:
    assert selector_matches(selector, labels) == (matches, text)
