"""cluster.x-k8s.io/v1beta2 models: wire round trips, Python ergonomics, generated CRDs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from herd.api.cluster import (
    CRDS,
    Cluster,
    LabelSelector,
    Machine,
    MachineDeployment,
    MachineHealthCheck,
    MachineSet,
    MachineSpec,
    labels,
    machine,
    machinedeployment,
    machinehealthcheck,
    machineset,
)
from herd.api.cluster import cluster as cluster_mod
from herd.api.cluster.shared import Bootstrap, MachineTemplateSpec
from herd.api.common import ContractVersionedObjectReference
from herd.api.crdgen import CRDSpec, generate_crd
from herd.apiserver.schema import default_crd, prune, validate, validate_crd

T0 = "2025-06-01T10:00:00Z"


def cond(type_: str, status: str = "True", reason: str | None = None) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason or type_, "message": "",
            "lastTransitionTime": T0, "observedGeneration": 1}


def quickstart_machine_deployment() -> dict[str, Any]:
    """A worker MachineDeployment as the cluster-api book's quick start generates it, plus a status."""
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "MachineDeployment",
        "metadata": {"name": "capi-quickstart-md-0", "namespace": "default",
                     "labels": {"cluster.x-k8s.io/cluster-name": "capi-quickstart"}},
        "spec": {
            "clusterName": "capi-quickstart",
            "replicas": 3,
            "selector": {"matchLabels": {}},
            "template": {
                "spec": {
                    "clusterName": "capi-quickstart",
                    "version": "v1.33.0",
                    "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io",
                                                "kind": "KubeadmConfigTemplate", "name": "capi-quickstart-md-0"}},
                    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                          "kind": "DockerMachineTemplate", "name": "capi-quickstart-md-0"},
                },
            },
        },
        "status": {
            "selector": "cluster.x-k8s.io/cluster-name=capi-quickstart,"
                        "cluster.x-k8s.io/deployment-name=capi-quickstart-md-0",
            "replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 3,
            "phase": "ScalingUp",
            "observedGeneration": 1,
            "versions": [{"version": "v1.33.0", "replicas": 3}],
            "conditions": [cond("Available", "False", "NotAvailable"), cond("MachinesReady", "False", "NotReady"),
                           cond("Paused", "False", "NotPaused")],
            "deprecated": {"v1beta1": {"readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3,
                                       "unavailableReplicas": 1,
                                       "conditions": [{"type": "Ready", "status": "False", "severity": "Warning",
                                                       "reason": "WaitingForAvailableMachines",
                                                       "lastTransitionTime": T0}]}},
        },
    }


def full_machine() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {"name": "capi-quickstart-md-0-x7k2p-abcde", "namespace": "default",
                     "finalizers": ["machine.cluster.x-k8s.io"],
                     "annotations": {"pre-drain.delete.hook.machine.cluster.x-k8s.io/backup": "backup-operator"}},
        "spec": {
            "clusterName": "capi-quickstart",
            "version": "v1.33.0",
            "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig",
                                        "name": "capi-quickstart-md-0-x7k2p-abcde"},
                          "dataSecretName": "capi-quickstart-md-0-x7k2p-abcde"},
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachine",
                                  "name": "capi-quickstart-md-0-x7k2p-abcde"},
            "providerID": "docker:////capi-quickstart-md-0-x7k2p-abcde",
            "failureDomain": "fd1",
            "minReadySeconds": 0,
            "readinessGates": [{"conditionType": "example.com/GPUReady", "polarity": "Positive"}],
            "deletion": {"nodeDrainTimeoutSeconds": 300, "nodeVolumeDetachTimeoutSeconds": 0,
                         "nodeDeletionTimeoutSeconds": 10},
            "taints": [{"key": "example.com/dedicated", "value": "gpu", "effect": "NoSchedule",
                        "propagation": "Always"}],
        },
        "status": {
            "initialization": {"infrastructureProvisioned": True, "bootstrapDataSecretCreated": True},
            "nodeRef": {"name": "capi-quickstart-md-0-x7k2p-abcde"},
            "nodeInfo": {"machineID": "a1", "systemUUID": "b2", "bootID": "c3", "kernelVersion": "6.8.0",
                         "osImage": "Ubuntu 24.04 LTS", "containerRuntimeVersion": "containerd://1.7.20",
                         "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0", "operatingSystem": "linux",
                         "architecture": "amd64", "swap": {"capacity": 0}},
            "lastUpdated": T0,
            "failureDomain": "fd1",
            "addresses": [{"type": "InternalIP", "address": "172.18.0.5"},
                          {"type": "Hostname", "address": "capi-quickstart-md-0-x7k2p-abcde"}],
            "phase": "Running",
            "certificatesExpiryDate": "2026-06-01T10:00:00Z",
            "observedGeneration": 2,
            "deletion": {"nodeDrainStartTime": T0, "waitForPreDrainHookStartTime": T0},
            "conditions": [cond("Ready"), cond("Available"), cond("NodeHealthy"), cond("UpToDate")],
            "deprecated": {"v1beta1": {"failureReason": "CreateError", "failureMessage": "boom",
                                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": T0}]}},
        },
    }


def topology_cluster() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Cluster",
        "metadata": {"name": "capi-quickstart", "namespace": "default"},
        "spec": {
            "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]},
                               "services": {"cidrBlocks": ["10.128.0.0/12"]},
                               "serviceDomain": "cluster.local", "apiServerPort": 6443},
            "controlPlaneEndpoint": {"host": "172.18.0.3", "port": 6443},
            "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane",
                                "name": "capi-quickstart-xyz"},
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerCluster",
                                  "name": "capi-quickstart-abc"},
            "availabilityGates": [{"conditionType": "example.com/Networking"}],
            "topology": {
                "classRef": {"name": "quick-start", "namespace": "default"},
                "version": "v1.33.0",
                "controlPlane": {"replicas": 3, "metadata": {"labels": {"tier": "cp"}},
                                 "healthCheck": {"enabled": True,
                                                 "checks": {"nodeStartupTimeoutSeconds": 600},
                                                 "remediation": {"triggerIf": {"unhealthyLessThanOrEqualTo": 1}}},
                                 "rollout": {"after": T0},
                                 "variables": {"overrides": [{"name": "imageRepository", "value": "mirror.io"}]}},
                "workers": {
                    "machineDeployments": [{
                        "class": "default-worker", "name": "md-0", "replicas": 3,
                        "deletion": {"order": "Oldest", "nodeDrainTimeoutSeconds": 60},
                        "healthCheck": {"remediation": {"maxInFlight": "20%",
                                                        "triggerIf": {"unhealthyInRange": "[1-3]"}}},
                        "rollout": {"strategy": {"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "10%"}}},
                    }],
                    "machinePools": [{"class": "default-pool", "name": "mp-0", "failureDomains": ["fd1", "fd2"]}],
                },
                "variables": [{"name": "podSecurityStandard", "value": {"enabled": True, "audit": "restricted"}},
                              {"name": "count", "value": 3}],
            },
        },
        "status": {
            "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
            "controlPlane": {"desiredReplicas": 3, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                             "upToDateReplicas": 3, "versions": [{"version": "v1.33.0", "replicas": 3}]},
            "workers": {"desiredReplicas": 3, "replicas": 3, "upgradePlan": [{"version": "v1.34.0"}]},
            "failureDomains": [{"name": "fd1", "controlPlane": True, "attributes": {"zone": "a"}}],
            "phase": "Provisioned",
            "observedGeneration": 3,
            "conditions": [cond("Available"), cond("TopologyReconciled", "True", "ReconcileSucceeded")],
        },
    }


def machine_set() -> dict[str, Any]:
    md = quickstart_machine_deployment()
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineSet",
        "metadata": {"name": "capi-quickstart-md-0-x7k2p", "namespace": "default",
                     "annotations": {"machinedeployment.clusters.x-k8s.io/revision": "1"}},
        "spec": {"clusterName": "capi-quickstart", "replicas": 3,
                 "selector": {"matchLabels": {"machine-template-hash": "123-abcde"}},
                 "template": {"metadata": {"labels": {"machine-template-hash": "123-abcde"}},
                              "spec": md["spec"]["template"]["spec"]},
                 "machineNaming": {"template": "{{ .machineSet.name }}-{{ .random }}"},
                 "deletion": {"order": "Newest"}},
        "status": {"replicas": 3, "selector": "machine-template-hash=123-abcde",
                   "deprecated": {"v1beta1": {"fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                                              "failureReason": "InvalidConfiguration"}}},
    }


def health_check() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineHealthCheck",
        "metadata": {"name": "capi-quickstart-mhc-0", "namespace": "default"},
        "spec": {
            "clusterName": "capi-quickstart",
            "selector": {"matchLabels": {"nodepool": "nodepool-0"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
            "checks": {"nodeStartupTimeoutSeconds": 600,
                       "unhealthyNodeConditions": [{"type": "Ready", "status": "Unknown", "timeoutSeconds": 300},
                                                   {"type": "Ready", "status": "False", "timeoutSeconds": 300}],
                       "unhealthyMachineConditions": [{"type": "example.com/Healthy", "status": "False",
                                                       "timeoutSeconds": 60}]},
            "remediation": {"triggerIf": {"unhealthyLessThanOrEqualTo": "40%"},
                            "templateRef": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                                            "kind": "DevRemediationTemplate", "name": "remediate"}},
        },
        "status": {"expectedMachines": 3, "currentHealthy": 2, "remediationsAllowed": 1, "observedGeneration": 1,
                   "targets": ["m-1", "m-2", "m-3"], "conditions": [cond("RemediationAllowed")]},
    }


SAMPLES: list[tuple[type[Any], Any]] = [
    (MachineDeployment, quickstart_machine_deployment),
    (Machine, full_machine),
    (Cluster, topology_cluster),
    (MachineSet, machine_set),
    (MachineHealthCheck, health_check),
]


def crd_for(model: type[Any]) -> CRDSpec:
    return next(spec for spec in CRDS if spec.model is model)


def schema_of(spec: CRDSpec) -> dict[str, Any]:
    schema: dict[str, Any] = generate_crd(spec)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


# --- round trips --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "sample"), SAMPLES, ids=lambda v: getattr(v, "__name__", ""))
def test_round_trip_is_identity(model: type[Any], sample: Any) -> None:
    data = sample()
    obj = model.from_dict(copy.deepcopy(data))
    assert isinstance(obj, model)
    assert obj.to_dict() == data


@pytest.mark.parametrize(("model", "sample"), SAMPLES, ids=lambda v: getattr(v, "__name__", ""))
def test_samples_are_valid_against_the_generated_schema(model: type[Any], sample: Any) -> None:
    data = sample()
    schema = schema_of(crd_for(model))
    assert prune(copy.deepcopy(data), schema) == []
    assert validate(data, schema) == []


def test_quickstart_machine_deployment_reads_naturally() -> None:
    md = MachineDeployment.from_dict(quickstart_machine_deployment())
    assert md.api_version == "cluster.x-k8s.io/v1beta2" and md.kind == "MachineDeployment"
    assert md.name == "capi-quickstart-md-0" and md.namespace == "default"
    assert md.labels[labels.CLUSTER_NAME_LABEL] == "capi-quickstart"
    assert md.spec.cluster_name == "capi-quickstart"
    assert md.spec.replicas == 3
    assert md.spec.selector.match_labels == {}
    template = md.spec.template.spec
    assert template.version == "v1.33.0"
    assert template.bootstrap.config_ref is not None
    assert template.bootstrap.config_ref.api_group == "bootstrap.cluster.x-k8s.io"
    assert template.bootstrap.config_ref.kind == "KubeadmConfigTemplate"
    assert template.infrastructure_ref.kind == "DockerMachineTemplate"
    assert md.status.phase == machinedeployment.PHASE_SCALING_UP
    assert md.status.versions is not None and md.status.versions[0].replicas == 3
    assert md.status.conditions is not None
    assert [c.type for c in md.status.conditions] == [machinedeployment.AVAILABLE, machinedeployment.MACHINES_READY,
                                                     machinedeployment.PAUSED]
    assert md.status.deprecated is not None and md.status.deprecated.v1beta1 is not None
    assert md.status.deprecated.v1beta1.unavailable_replicas == 1


def test_odd_wire_names_map_to_snake_case_fields() -> None:
    m = Machine.from_dict(full_machine())
    assert m.spec.provider_id == "docker:////capi-quickstart-md-0-x7k2p-abcde"
    assert m.spec.bootstrap.data_secret_name == "capi-quickstart-md-0-x7k2p-abcde"
    assert m.spec.deletion is not None and m.spec.deletion.node_drain_timeout_seconds == 300
    assert m.status.node_info is not None
    assert (m.status.node_info.machine_id, m.status.node_info.system_uuid, m.status.node_info.boot_id) == (
        "a1", "b2", "c3")
    assert m.status.deprecated is not None and m.status.deprecated.v1beta1 is not None
    assert m.status.deprecated.v1beta1.failure_reason == "CreateError"
    wire = m.to_dict()
    assert "providerID" in wire["spec"] and "machineID" in wire["status"]["nodeInfo"]
    assert "v1beta1" in wire["status"]["deprecated"]

    c = Cluster.from_dict(topology_cluster())
    assert c.spec.control_plane_ref is not None and c.spec.control_plane_ref.kind == "KubeadmControlPlane"
    assert c.spec.topology is not None and c.spec.topology.workers is not None
    mds = c.spec.topology.workers.machine_deployments
    assert mds is not None and mds[0].class_ == "default-worker"
    assert mds[0].rollout is not None and mds[0].rollout.strategy is not None
    assert mds[0].rollout.strategy.rolling_update is not None
    assert mds[0].rollout.strategy.rolling_update.max_surge == 1
    assert mds[0].rollout.strategy.rolling_update.max_unavailable == "10%"
    assert c.spec.topology.variables is not None
    assert c.spec.topology.variables[0].value == {"enabled": True, "audit": "restricted"}
    assert c.spec.cluster_network is not None and c.spec.cluster_network.api_server_port == 6443


def test_unknown_fields_survive_a_round_trip() -> None:
    data = full_machine()
    data["futureTopLevel"] = {"x": 1}
    data["spec"]["futureField"] = "yes"
    data["spec"]["bootstrap"]["configRef"]["futureRefField"] = [1, 2]
    data["status"]["nodeInfo"]["futureInfo"] = "v"
    data["status"]["conditions"][0]["futureConditionField"] = True
    m = Machine.from_dict(copy.deepcopy(data))
    assert m.to_dict() == data
    assert m.model_extra == {"futureTopLevel": {"x": 1}}

    md = quickstart_machine_deployment()
    md["spec"]["template"]["spec"]["somethingNew"] = {"a": "b"}
    md["spec"]["rollout"] = {"strategy": {"type": "OnDelete", "newKnob": 5}}
    assert MachineDeployment.from_dict(copy.deepcopy(md)).to_dict() == md


def test_building_objects_in_python() -> None:
    m = Machine(
        metadata={"name": "m-1", "namespace": "ns"},
        spec=MachineSpec(
            cluster_name="c1",
            bootstrap=Bootstrap(data_secret_name="m-1-bootstrap"),
            infrastructure_ref=ContractVersionedObjectReference(
                api_group="infrastructure.cluster.x-k8s.io", kind="DevMachine", name="m-1"),
            provider_id="dev://m-1",
        ),
    )
    assert m.to_dict() == {
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": {"name": "m-1", "namespace": "ns"},
        "spec": {"clusterName": "c1", "bootstrap": {"dataSecretName": "m-1-bootstrap"},
                 "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DevMachine",
                                       "name": "m-1"},
                 "providerID": "dev://m-1"},
    }
    # An empty status is there to read and write in Python but left off the wire.
    assert m.status.conditions is None
    m.status.phase = machine.PHASE_PROVISIONING
    assert m.to_dict()["status"] == {"phase": "Provisioning"}

    template = MachineTemplateSpec.model_validate({"spec": m.spec.to_dict()})
    assert template.spec.provider_id == "dev://m-1"


def test_invalid_values_are_refused() -> None:
    bad = full_machine()
    bad["status"]["phase"] = "Exploded"
    with pytest.raises(ValidationError):
        Machine.from_dict(bad)
    bad = full_machine()
    bad["spec"]["taints"][0]["effect"] = "Sometimes"
    with pytest.raises(ValidationError):
        Machine.from_dict(bad)
    bad = full_machine()
    del bad["spec"]["infrastructureRef"]
    with pytest.raises(ValidationError):
        Machine.from_dict(bad)
    bad = health_check()
    bad["spec"]["remediation"]["triggerIf"]["unhealthyInRange"] = "3-5"
    with pytest.raises(ValidationError):
        MachineHealthCheck.from_dict(bad)


# --- label selectors ----------------------------------------------------------------------------------------


def test_label_selector_matching_and_string_form() -> None:
    sel = LabelSelector.from_dict({
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                             {"key": "canary", "operator": "DoesNotExist"},
                             {"key": "zone", "operator": "NotIn", "values": ["z9"]},
                             {"key": "app", "operator": "Exists"}],
    })
    assert sel.matches({"a": "1", "b": "2", "tier": "api", "app": "x"})
    assert not sel.matches({"a": "1", "b": "2", "tier": "db", "app": "x"})
    assert not sel.matches({"a": "1", "b": "2", "tier": "api", "app": "x", "canary": "y"})
    assert not sel.matches({"a": "1", "b": "2", "tier": "api", "app": "x", "zone": "z9"})
    assert not sel.matches({"a": "1", "tier": "api", "app": "x"})
    assert sel.to_selector_string() == "a=1,app,b=2,!canary,tier in (api,web),zone notin (z9)"
    assert LabelSelector().matches({"anything": "goes"})
    assert LabelSelector().to_selector_string() == ""


# --- generated CRDs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CRDS, ids=lambda s: s.kind)
def test_generated_crd_is_valid(spec: CRDSpec) -> None:
    crd = generate_crd(spec)
    default_crd(crd)
    assert validate_crd(crd) == []


def _undescribed(node: dict[str, Any], path: str, out: list[str]) -> None:
    for name, sub in node.get("properties", {}).items():
        if "description" not in sub and path + name != ".metadata":
            out.append(path + name)
        _undescribed(sub, f"{path}{name}.", out)
    if isinstance(node.get("items"), dict):
        _undescribed(node["items"], path.rstrip(".") + "[].", out)


@pytest.mark.parametrize("spec", CRDS, ids=lambda s: s.kind)
def test_every_field_has_a_description(spec: CRDSpec) -> None:
    out: list[str] = []
    _undescribed(schema_of(spec), ".", out)
    assert out == []
    assert spec.description


def test_crd_envelopes_follow_upstream() -> None:
    by_kind = {spec.kind: generate_crd(spec) for spec in CRDS}
    assert set(by_kind) == {"Cluster", "ClusterClass", "Machine", "MachineSet", "MachineDeployment",
                            "MachineHealthCheck"}
    short = {kind: crd["spec"]["names"].get("shortNames") for kind, crd in by_kind.items()}
    assert short == {"Cluster": ["cl"], "ClusterClass": ["cc"], "Machine": ["ma"], "MachineSet": ["ms"],
                     "MachineDeployment": ["md"], "MachineHealthCheck": ["mhc", "mhcs"]}
    for kind, crd in by_kind.items():
        assert crd["spec"]["group"] == "cluster.x-k8s.io"
        assert crd["spec"]["names"]["categories"] == ["cluster-api"]
        version = crd["spec"]["versions"][0]
        assert version["name"] == "v1beta2"
        assert version["schema"]["openAPIV3Schema"]["required"] == ["spec"]
        scale = version["subresources"].get("scale")
        if kind in ("MachineSet", "MachineDeployment"):
            assert scale == {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                             "labelSelectorPath": ".status.selector"}
        else:
            assert scale is None
        assert version["subresources"]["status"] == {}
        names = [c["name"] for c in version["additionalPrinterColumns"]]
        assert "Age" in names and "Paused" in names
    md_schema = by_kind["MachineDeployment"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    max_surge = (md_schema["properties"]["spec"]["properties"]["rollout"]["properties"]["strategy"]["properties"]
                 ["rollingUpdate"]["properties"]["maxSurge"])
    assert max_surge["x-kubernetes-int-or-string"] is True
    assert max_surge["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    mhc = by_kind["MachineHealthCheck"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    machine_cond_type = (mhc["properties"]["spec"]["properties"]["checks"]["properties"]
                         ["unhealthyMachineConditions"]["items"]["properties"]["type"])
    assert machine_cond_type["x-kubernetes-validations"][0]["rule"].startswith("!(self in ['Ready'")


def test_empty_status_is_refused_by_the_schema_so_it_is_not_sent() -> None:
    schema = schema_of(crd_for(MachineHealthCheck))
    obj = health_check()
    obj["status"] = {}
    assert validate(obj, schema) != []
    mhc = MachineHealthCheck.from_dict({**health_check(), "status": {}})
    assert "status" not in mhc.to_dict()


# --- constants ----------------------------------------------------------------------------------------------


def test_condition_and_label_constants_have_upstream_values() -> None:
    assert (machine.AVAILABLE, machine.READY, machine.BOOTSTRAP_CONFIG_READY, machine.INFRASTRUCTURE_READY) == (
        "Available", "Ready", "BootstrapConfigReady", "InfrastructureReady")
    assert (machine.NODE_HEALTHY, machine.NODE_READY, machine.DELETING, machine.PAUSED, machine.UP_TO_DATE) == (
        "NodeHealthy", "NodeReady", "Deleting", "Paused", "UpToDate")
    assert (machine.HEALTH_CHECK_SUCCEEDED, machine.OWNER_REMEDIATED) == ("HealthCheckSucceeded", "OwnerRemediated")
    assert machine.DELETING_DRAINING_NODE_REASON == "DrainingNode"
    assert machine.BOOTSTRAP_DATA_SECRET_PROVIDED_REASON == "DataSecretProvided"
    assert machineset.MACHINE_REMEDIATION_DEFERRED_REASON == "RemediationDeferred"
    assert machinedeployment.ROLLING_OUT == "RollingOut"
    assert machinehealthcheck.REMEDIATION_ALLOWED == "RemediationAllowed"
    assert machinehealthcheck.DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS == 600
    assert cluster_mod.CONTROL_PLANE_INITIALIZED == "ControlPlaneInitialized"
    assert cluster_mod.REMOTE_CONNECTION_PROBE == "RemoteConnectionProbe"
    assert labels.CLUSTER_NAME_LABEL == "cluster.x-k8s.io/cluster-name"
    assert labels.MACHINE_DEPLOYMENT_NAME_LABEL == "cluster.x-k8s.io/deployment-name"
    assert labels.MACHINE_SET_NAME_LABEL == "cluster.x-k8s.io/set-name"
    assert labels.MACHINE_DEPLOYMENT_UNIQUE_LABEL == "machine-template-hash"
    assert labels.MACHINE_CONTROL_PLANE_LABEL == "cluster.x-k8s.io/control-plane"
    assert labels.PAUSED_ANNOTATION == "cluster.x-k8s.io/paused"
    assert labels.DELETE_MACHINE_ANNOTATION == "cluster.x-k8s.io/delete-machine"
    assert labels.REMEDIATE_MACHINE_ANNOTATION == "cluster.x-k8s.io/remediate-machine"
    assert labels.MACHINE_SKIP_REMEDIATION_ANNOTATION == "cluster.x-k8s.io/skip-remediation"
    assert labels.TEMPLATE_CLONED_FROM_NAME_ANNOTATION == "cluster.x-k8s.io/cloned-from-name"
    assert labels.TEMPLATE_CLONED_FROM_GROUP_KIND_ANNOTATION == "cluster.x-k8s.io/cloned-from-groupkind"
    assert labels.REVISION_ANNOTATION == "machinedeployment.clusters.x-k8s.io/revision"
    assert labels.CLUSTER_FINALIZER == "cluster.cluster.x-k8s.io"
    assert labels.MACHINE_FINALIZER == "machine.cluster.x-k8s.io"
    assert labels.PRE_DRAIN_DELETE_HOOK_ANNOTATION_PREFIX == "pre-drain.delete.hook.machine.cluster.x-k8s.io"
    assert labels.PRE_TERMINATE_DELETE_HOOK_ANNOTATION_PREFIX == "pre-terminate.delete.hook.machine.cluster.x-k8s.io"
