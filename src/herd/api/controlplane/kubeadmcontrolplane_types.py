"""The parts of a KubeadmControlPlane's spec besides the kubeadm configuration: the machine template,
rollout, remediation and machine naming. KubeadmControlPlaneTemplate reuses them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.common import CONDITION_TYPE, ContractVersionedObjectReference, ObjectMeta
from herd.api.fields import DATE_TIME, int32_field

TAINT_KEY_PATTERN = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?"
                     r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
TAINT_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TaintPropagation = Literal["Always", "OnInitialization"]
ConditionPolarity = Literal["Positive", "Negative"]
# The only rollout strategy; a one-value enum in the schema rather than JSON Schema's `const`.
RolloutStrategyType = Annotated[Literal["RollingUpdate"], WithJsonSchema({"type": "string",
                                                                          "enum": ["RollingUpdate"]})]
ROLLING_UPDATE_STRATEGY_TYPE: Literal["RollingUpdate"] = "RollingUpdate"

# What a KubeadmControlPlane's spec fields mean, the same in the kind and in its template.
_SPEC_FIELDS = {
    "machine_template": "How the control plane Machines are made.",
    "kubeadm_config_spec": "The kubeadm configuration used to initialise the first Machine and join the others.",
    "rollout": "When Machines are replaced and how.",
    "remediation": "How unhealthy Machines are remediated.",
    "machine_naming": "How new Machines are named.",
}


def spec_field(name: str, *, required: bool = False) -> Any:
    """The Field of one of the spec fields a KubeadmControlPlane and its template share, by its Python name."""
    if required:
        return Field(description=_SPEC_FIELDS[name])
    return Field(default=None, description=_SPEC_FIELDS[name])


class MachineReadinessGate(APIModel):
    """An extra condition of the Machine that its Ready condition takes into account."""

    condition_type: str = Field(min_length=1, max_length=316, pattern=CONDITION_TYPE, description="The type of "
                                "the Machine condition to include, e.g. one set by another controller.")
    polarity: ConditionPolarity | None = Field(default=None, description="Positive when the condition is good "
                                               "when True, Negative when it is good when False; Positive when not "
                                               "given.")


class MachineTaint(APIModel):
    """A taint that Cluster API keeps on the Machine's Node."""

    key: str = Field(min_length=1, max_length=317, pattern=TAINT_KEY_PATTERN, description="The taint's key: an "
                     "optional DNS subdomain prefix and a slash, then a name.")
    value: str | None = Field(default=None, min_length=1, max_length=63, pattern=TAINT_VALUE_PATTERN,
                              description="The taint's value.")
    effect: TaintEffect = Field(description="What the taint does to pods that do not tolerate it: NoSchedule, "
                                "PreferNoSchedule or NoExecute.")
    propagation: TaintPropagation = Field(description="When the taint is applied: Always keeps it on the Node "
                                          "(re-adding it if removed); OnInitialization sets it once, when the Node "
                                          "is first seen.")


def taints_field() -> Any:
    """The taints list of a machine template: a list-map keyed by key and effect, at most 64 entries."""
    return Field(default=None, min_length=1, max_length=64, json_schema_extra=k8s(
        x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["key", "effect"]),
        description="Node taints Cluster API adds to and removes from the Nodes of these machines. Only these "
                    "taints are managed; taints other components set are left alone. Entries are merged by key and "
                    "effect, so different owners can manage different taints.")


class KubeadmControlPlaneMachineTemplateDeletionSpec(APIModel):
    """How the control plane's Machines are deleted."""

    model_config = NOT_EMPTY

    node_drain_timeout_seconds: int | None = int32_field(
        "How long, at most, to spend draining the Node before deleting the machine; 0 (the default) waits as long "
        "as draining takes. Not the same as kubectl drain --timeout.", ge=0)
    node_volume_detach_timeout_seconds: int | None = int32_field(
        "How long, at most, to wait for the Node's volumes to be detached; 0 (the default) waits as long as it "
        "takes.", ge=0)
    node_deletion_timeout_seconds: int | None = int32_field(
        "How long to keep trying to delete the Node once the Machine is being deleted; 0 retries forever. The "
        "Machine's own default applies when not given.", ge=0)


class KubeadmControlPlaneMachineTemplateSpec(APIModel):
    """The Machine spec fields a KubeadmControlPlane sets on its Machines."""

    infrastructure_ref: ContractVersionedObjectReference = Field(
        description="The infrastructure machine template (e.g. a DockerMachineTemplate) cloned for each control "
                    "plane machine.")
    readiness_gates: list[MachineReadinessGate] | None = Field(
        default=None, min_length=1, max_length=32, json_schema_extra=k8s(
            x_kubernetes_list_type="map", x_kubernetes_list_map_keys=["conditionType"]),
        description="Extra conditions the Machines' Ready condition includes. The control plane always adds gates "
                    "for the conditions it sets itself (APIServerPodHealthy, ControllerManagerPodHealthy, "
                    "SchedulerPodHealthy and, with stacked etcd, EtcdPodHealthy and EtcdMemberHealthy).")
    deletion: KubeadmControlPlaneMachineTemplateDeletionSpec | None = Field(default=None, description="How the "
                                                                            "Machines are deleted.")
    taints: list[MachineTaint] | None = taints_field()


class KubeadmControlPlaneMachineTemplate(APIModel):
    """What the control plane's Machines look like."""

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations set on the Machines and the objects "
                                                    "created for them.")
    spec: KubeadmControlPlaneMachineTemplateSpec = Field(description="The spec of the Machines.")


class KubeadmControlPlaneTemplateMachineTemplateSpec(APIModel):
    """The Machine spec fields a KubeadmControlPlaneTemplate can set; the infrastructure comes from the
    ClusterClass."""

    model_config = NOT_EMPTY

    deletion: KubeadmControlPlaneMachineTemplateDeletionSpec | None = Field(default=None, description="How the "
                                                                            "Machines are deleted.")
    taints: list[MachineTaint] | None = taints_field()


class KubeadmControlPlaneTemplateMachineTemplate(APIModel):
    """What the Machines of a control plane created from the template look like."""

    model_config = NOT_EMPTY

    metadata: ObjectMeta | None = Field(default=None, json_schema_extra=k8s(minProperties=1),
                                        description="Labels and annotations set on the Machines and the objects "
                                                    "created for them.")
    spec: KubeadmControlPlaneTemplateMachineTemplateSpec | None = Field(default=None, description="The spec of the "
                                                                        "Machines.")


class KubeadmControlPlaneRolloutBeforeSpec(APIModel):
    """Conditions that make the control plane replace its Machines ahead of time."""

    model_config = NOT_EMPTY

    certificates_expiry_days: int | None = int32_field(
        "Replace a Machine when its certificates expire within this many days; at least 7.", ge=7)


class KubeadmControlPlaneRolloutStrategyRollingUpdate(APIModel):
    """Settings of the rolling update strategy."""

    model_config = NOT_EMPTY

    max_surge: int | str | None = Field(
        default=None, json_schema_extra=k8s(x_kubernetes_int_or_string=True),
        description="How many Machines may exist above the desired number during a rollout: 0 or 1; 1 when not "
                    "given. With 1 a new Machine is created before an old one is removed; "
                    "with 0 an old one is removed first.")


class KubeadmControlPlaneRolloutStrategy(APIModel):
    """How old Machines are replaced with new ones."""

    model_config = NOT_EMPTY

    type: RolloutStrategyType = Field(description="The rollout strategy; RollingUpdate is the only one.")
    rolling_update: KubeadmControlPlaneRolloutStrategyRollingUpdate | None = Field(
        default=None, description="Settings of the rolling update; used when type is RollingUpdate.")


class KubeadmControlPlaneRolloutSpec(APIModel):
    """When and how the control plane's Machines are replaced."""

    model_config = NOT_EMPTY

    before: KubeadmControlPlaneRolloutBeforeSpec | None = Field(default=None, description="Replace Machines "
                                                                "before the conditions given here are reached.")
    after: str | None = Field(default=None, json_schema_extra=DATE_TIME, description="Replace every Machine "
                              "created before this time, even when nothing else changed (RFC 3339, e.g. "
                              "2023-03-09T09:00:00Z).")
    strategy: KubeadmControlPlaneRolloutStrategy | None = Field(default=None, description="How old Machines are "
                                                                "replaced with new ones.")


class KubeadmControlPlaneRemediationSpec(APIModel):
    """How the control plane remediates Machines that a MachineHealthCheck marked unhealthy."""

    model_config = NOT_EMPTY

    max_retry: int | None = int32_field(
        "How many times in a row to remediate when each replacement Machine fails too; a retry is the "
        "remediation of a Machine that was itself created to replace an unhealthy one. Unlimited when not given.")
    retry_period_seconds: int | None = int32_field(
        "How long to wait before remediating a replacement Machine (a retry); no wait when not given.", ge=0)
    min_healthy_period_seconds: int | None = int32_field(
        "How long a replacement Machine must stay healthy for a later failure to count as unrelated, restarting "
        "the retry count from zero; 3600 (one hour) when not given.", ge=0)


class MachineNamingSpec(APIModel):
    """How the names of new control plane Machines are formed; their infrastructure machines and
    KubeadmConfigs take the same names."""

    model_config = NOT_EMPTY

    template: str | None = Field(
        default=None, min_length=1, max_length=256,
        description="A template for Machine names using .cluster.name, .kubeadmControlPlane.name and .random (5 "
                    "random consonants and digits, required in the template); "
                    "{{ .kubeadmControlPlane.name }}-{{ .random }} when not given. Names longer than 63 characters "
                    "are cut to 58 and given a random 5-character suffix.")
