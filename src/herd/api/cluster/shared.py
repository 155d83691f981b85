"""Parts several cluster.x-k8s.io kinds share.

The machine template (MachineSpec and friends), label selectors, health check settings, deletion and
naming settings, status pieces, the deprecated v1beta1 status and the group's object envelope.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal

from pydantic import ConfigDict, Field, StringConstraints

from herd.api.base import NOT_EMPTY, APIModel, k8s
from herd.api.common import (
    CONDITION_TYPE,
    DNS_SUBDOMAIN,
    KIND_PATTERN,
    APIObject,
    ContractVersionedObjectReference,
    DeprecatedStatus,
    ObjectMeta,
    V1Beta1StatusT,
    api_version_field,
)

# Re-exported: callers read these two here (every group's conditions come from herd.api.conditions).
from herd.api.conditions import NOT_UP_TO_DATE_REASON as NOT_UP_TO_DATE_REASON
from herd.api.conditions import UP_TO_DATE_REASON as UP_TO_DATE_REASON
from herd.api.fields import atomic_list, int32_field, int_or_string, list_map

GROUP = "cluster.x-k8s.io"
VERSION = "v1beta2"
API_VERSION = f"{GROUP}/{VERSION}"

# Regular expressions the schemas use besides the ones in herd.api.common.
TAINT_KEY = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?"
             r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
TAINT_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
API_VERSION_PATTERN = (r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                       r"\/[a-z]([-a-z0-9]*[a-z0-9])?$")
UNHEALTHY_RANGE = r"^\[[0-9]+-[0-9]+\]$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# Enumerations, as the wire spells them.
ConditionStatus = Literal["True", "False", "Unknown"]
ConditionPolarity = Literal["Positive", "Negative"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TaintPropagation = Literal["Always", "OnInitialization"]
MachineSetDeletionOrder = Literal["Random", "Newest", "Oldest"]
RolloutStrategyType = Literal["RollingUpdate", "OnDelete"]
# An intstr.IntOrString: an absolute number (5) or a percentage ("20%").
IntOrString = int | str

POSITIVE_POLARITY: ConditionPolarity = "Positive"
NEGATIVE_POLARITY: ConditionPolarity = "Negative"
TAINT_PROPAGATION_ALWAYS: TaintPropagation = "Always"
TAINT_PROPAGATION_ON_INITIALIZATION: TaintPropagation = "OnInitialization"
DELETION_ORDER_RANDOM: MachineSetDeletionOrder = "Random"
DELETION_ORDER_NEWEST: MachineSetDeletionOrder = "Newest"
DELETION_ORDER_OLDEST: MachineSetDeletionOrder = "Oldest"
ROLLING_UPDATE_STRATEGY: RolloutStrategyType = "RollingUpdate"
ON_DELETE_STRATEGY: RolloutStrategyType = "OnDelete"

# Condition types a MachineHealthCheck may not watch in unhealthyMachineConditions: the ones it sets itself
# or that summarise the others.
RESERVED_MACHINE_CONDITIONS = ("Ready", "Available", "HealthCheckSucceeded", "OwnerRemediated",
                               "ExternallyRemediated")
_RESERVED_CONDITIONS_RULE = {
    "message": "type must not be one of: Ready, Available, HealthCheckSucceeded, OwnerRemediated, "
               "ExternallyRemediated",
    "rule": "!(self in ['Ready','Available','HealthCheckSucceeded','OwnerRemediated','ExternallyRemediated'])",
}


CIDRBlock = Annotated[str, StringConstraints(min_length=1, max_length=43)]
FailureDomainName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MachineName = Annotated[str, StringConstraints(min_length=1, max_length=253)]


# --- label selectors ------------------------------------------------------------------------------------------


class LabelSelectorRequirement(APIModel):
    """One expression of a label selector: a key, an operator and, for In and NotIn, a set of values."""

    key: str = Field(description="The label key the expression tests.")
    operator: str = Field(description="How the key is tested: In, NotIn, Exists or DoesNotExist.")
    values: list[str] | None = atomic_list(
        "The values to compare with; must be non-empty for In and NotIn and empty for Exists and DoesNotExist.")


class LabelSelector(APIModel):
    """A label query (metav1.LabelSelector): every matchLabels pair and every expression must hold.

    An empty selector matches every object.
    """

    model_config = ConfigDict(json_schema_extra=k8s(x_kubernetes_map_type="atomic"))

    match_labels: dict[str, str] | None = Field(
        default=None, description="Labels that must be present with exactly these values; each pair is the same as "
        "an In expression with a single value.")
    match_expressions: list[LabelSelectorRequirement] | None = atomic_list(
        "Expressions over labels that must all hold.")

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Whether an object with these labels is selected."""
        labels = labels or {}
        for key, value in (self.match_labels or {}).items():
            if labels.get(key) != value:
                return False
        for req in self.match_expressions or []:
            present = req.key in labels
            values = req.values or []
            if req.operator == "In":
                ok = present and labels[req.key] in values
            elif req.operator == "NotIn":
                ok = not present or labels[req.key] not in values
            elif req.operator == "Exists":
                ok = present
            elif req.operator == "DoesNotExist":
                ok = not present
            else:
                raise ValueError(f"unknown label selector operator {req.operator!r}")
            if not ok:
                return False
        return True

    def to_selector_string(self) -> str:
        """The selector in query-parameter syntax (as `status.selector` and `?labelSelector=` carry it),
        requirements sorted by key like Kubernetes' LabelSelectorAsSelector."""
        parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (self.match_labels or {}).items()]
        for req in self.match_expressions or []:
            values = ",".join(sorted(set(req.values or [])))
            if req.operator == "In":
                parts.append((req.key, f"{req.key} in ({values})"))
            elif req.operator == "NotIn":
                parts.append((req.key, f"{req.key} notin ({values})"))
            elif req.operator == "Exists":
                parts.append((req.key, req.key))
            elif req.operator == "DoesNotExist":
                parts.append((req.key, f"!{req.key}"))
            else:
                raise ValueError(f"unknown label selector operator {req.operator!r}")
        return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


# --- the machine template -------------------------------------------------------------------------------------


class TemplateMetadata(ObjectMeta):
    """Labels and annotations to give objects made from a template; when present, at least one must be set."""

    model_config = NOT_EMPTY


class Bootstrap(APIModel):
    """How a Machine gets its bootstrap data: from a bootstrap provider's config object, or a Secret given directly."""

    config_ref: ContractVersionedObjectReference | None = Field(
        default=None, description="The bootstrap provider's config object (e.g. a KubeadmConfig) that produces the "
        "bootstrap data. May be left out when dataSecretName is set by hand.")
    data_secret_name: str | None = Field(
        default=None, min_length=0, max_length=253, description="The name of the Secret, in the Machine's namespace, "
        "holding the bootstrap data (e.g. cloud-init). While it is unset the Machine stays in the Pending phase.")


class MachineReadinessGate(APIModel):
    """An extra condition the Machine's Ready condition takes into account."""

    condition_type: str = Field(
        min_length=1, max_length=316, pattern=CONDITION_TYPE, description="The type of a condition in the Machine's "
        "status.conditions, set by Cluster API or by any other controller; a missing condition counts as Unknown.")
    polarity: ConditionPolarity | None = Field(
        default=None, description="Which status is the healthy one: Positive (the default) means True is normal, "
        "Negative means False is normal.")


class MachineTaint(APIModel):
    """A node taint Cluster API keeps on the Machine's Node."""

    key: str = Field(min_length=1, max_length=317, pattern=TAINT_KEY, description="The taint key: a qualified name "
                     "of at most 63 characters, optionally prefixed by a DNS subdomain of at most 253 characters and "
                     "a slash.")
    value: str | None = Field(default=None, min_length=1, max_length=63, pattern=TAINT_VALUE,
                              description="The taint value: a label value of at most 63 characters.")
    effect: TaintEffect = Field(description="What the taint does to pods that do not tolerate it: NoSchedule, "
                                "PreferNoSchedule or NoExecute.")
    propagation: TaintPropagation = Field(
        description="When the taint is applied to the Node: Always keeps it there (re-adding it if removed); "
        "OnInitialization adds it once when the Node is first initialized and then leaves it alone.")


class MachineDeletionSpec(APIModel):
    """Time limits for the steps of deleting a Machine."""

    model_config = NOT_EMPTY

    node_drain_timeout_seconds: int | None = int32_field(
        "How long, in seconds, draining the Node may take before the controller gives up and moves on; 0 or unset "
        "means no limit. Unlike `kubectl drain --timeout`, this bounds the whole drain.", ge=0)
    node_volume_detach_timeout_seconds: int | None = int32_field(
        "How long, in seconds, the controller waits for the Node's volumes to detach; 0 or unset means no limit.",
        ge=0)
    node_deletion_timeout_seconds: int | None = int32_field(
        "How long, in seconds, the controller keeps trying to delete the Node once the Machine is being deleted; "
        "0 retries forever. Defaults to 10 seconds.", ge=0)


class MachineSpec(APIModel):
    """The desired state of a Machine: which cluster it joins, how it boots, and what infrastructure backs it."""

    cluster_name: str = Field(min_length=1, max_length=63, description="The name of the Cluster the Machine belongs "
                              "to, in the same namespace.")
    bootstrap: Bootstrap = Field(description="Where the Machine's bootstrap data comes from.")
    infrastructure_ref: ContractVersionedObjectReference = Field(
        description="The infrastructure provider's machine object (e.g. a DevMachine) that backs this Machine.")
    version: str | None = Field(default=None, min_length=1, max_length=256, description="The Kubernetes version "
                                "the Machine should run, e.g. v1.31.0; bootstrap providers may use it.")
    provider_id: str | None = Field(
        default=None, alias="providerID", min_length=1, max_length=512,
        description="The infrastructure provider's identifier for the machine; it must equal spec.providerID of "
        "the matching Node. Set by the Machine controller from the infrastructure machine; used, e.g., by the "
        "cluster autoscaler to match Machines with Nodes.")
    failure_domain: str | None = Field(default=None, min_length=1, max_length=256,
                                       description="The failure domain to create the Machine in; one of the names "
                                       "in the Cluster's status.failureDomains.")
    min_ready_seconds: int | None = int32_field(
        "How many seconds the Machine must have been Ready before it counts as Available; defaults to 0.", ge=0)
    readiness_gates: list[MachineReadinessGate] | None = list_map(
        "Further conditions, by type, that the Machine's Ready condition includes; control plane providers use "
        "this to add, e.g., the health of the control plane pods.", "conditionType", max_items=32)
    deletion: MachineDeletionSpec | None = Field(default=None, description="Settings for deleting the Machine.")
    taints: list[MachineTaint] | None = list_map(
        "Taints Cluster API manages on the Machine's Node. Only these are added or removed by Cluster API; taints "
        "other components put on the Node are left alone.", "key", "effect", max_items=64)


class MachineTemplateSpec(APIModel):
    """A template for Machines: the metadata and spec each new Machine gets."""

    metadata: TemplateMetadata | None = Field(default=None, description="Labels and annotations for the Machines "
                                              "made from the template.")
    spec: MachineSpec = Field(description="The spec for the Machines made from the template; the references in it "
                              "point to templates that are cloned for each Machine.")


class MachineNamingSpec(APIModel):
    """How the names of new Machines are formed."""

    model_config = NOT_EMPTY

    template: str | None = Field(
        default=None, min_length=1, max_length=256,
        description="A Go template for the names of new Machines. It may use {{ .cluster.name }}, "
        "{{ .machineSet.name }} and must use {{ .random }} (five random consonants and digits). Names longer than "
        "63 characters are cut to 58 and given a random five-character suffix. Unset means "
        "{{ .machineSet.name }}-{{ .random }}. Infrastructure machines and bootstrap configs get the same name.")


class MachineSetDeletionSpec(APIModel):
    """Settings for removing Machines when scaling down."""

    model_config = NOT_EMPTY

    order: MachineSetDeletionOrder | None = Field(
        default=None, description="Which Machines go first when scaling down: Random (the default), Newest or "
        "Oldest. Machines marked with the delete-machine annotation and unhealthy Machines always go first.")


class VersionReplicas(APIModel):
    """How many Machines run one Kubernetes version."""

    version: str = Field(min_length=1, max_length=256, description="A Kubernetes version.")
    replicas: int | None = int32_field("How many Machines run this version.", ge=1)


class UpgradeStep(APIModel):
    """One Kubernetes version an upgrade goes through."""

    version: str = Field(min_length=1, max_length=256, description="The Kubernetes version of this step.")


# --- health checks --------------------------------------------------------------------------------------------


class UnhealthyNodeCondition(APIModel):
    """A Node condition that marks the Machine unhealthy once it has held for long enough."""

    type: str = Field(min_length=1, description="The Node condition type, e.g. Ready.")
    status: str = Field(min_length=1, description="The status that counts as unhealthy: True, False or Unknown.")
    timeout_seconds: int = Field(ge=0, json_schema_extra=k8s(format="int32"),
                                 description="How many seconds the condition must have had this status before the "
                                 "Node counts as unhealthy.")


class UnhealthyMachineCondition(APIModel):
    """A Machine condition that marks the Machine unhealthy once it has held for long enough."""

    type: str = Field(
        min_length=1, max_length=316, pattern=CONDITION_TYPE,
        description="The Machine condition type. The summary and remediation conditions (Ready, Available, "
        "HealthCheckSucceeded, OwnerRemediated, ExternallyRemediated) cannot be used.",
        json_schema_extra=k8s(x_kubernetes_validations=[dict(_RESERVED_CONDITIONS_RULE)]))
    status: ConditionStatus = Field(description="The status that counts as unhealthy: True, False or Unknown.")
    timeout_seconds: int = Field(ge=0, json_schema_extra=k8s(format="int32"),
                                 description="How many seconds the condition must have had this status before the "
                                 "Machine counts as unhealthy.")


class MachineHealthCheckChecks(APIModel):
    """The tests that decide whether a Machine is healthy.

    Whatever is set here, Machines with the remediate-machine annotation and Machines whose Node was deleted
    are always unhealthy.
    """

    model_config = NOT_EMPTY

    node_startup_timeout_seconds: int | None = int32_field(
        "How many seconds a Machine may run without a Node before it counts as unhealthy, measured from the latest "
        "of: the Cluster's infrastructure becoming ready, the control plane being initialized, the Machine's "
        "infrastructure becoming ready, and the Machine's creation. Defaults to 600 (10 minutes); 0 turns the check "
        "off.", ge=0)
    unhealthy_node_conditions: list[UnhealthyNodeCondition] | None = atomic_list(
        "Node conditions that make the Machine unhealthy; any one of them is enough.", min_items=1, max_items=100)
    unhealthy_machine_conditions: list[UnhealthyMachineCondition] | None = atomic_list(
        "Machine conditions that make the Machine unhealthy; any one of them is enough.", min_items=1, max_items=100)


class MachineHealthCheckRemediationTriggerIf(APIModel):
    """Limits on when unhealthy Machines are remediated."""

    model_config = NOT_EMPTY

    unhealthy_less_than_or_equal_to: IntOrString | None = int_or_string(
        "Remediate only while at most this many Machines (a number, or a percentage of the checked Machines) are "
        "unhealthy. unhealthyInRange wins when both are set.")
    unhealthy_in_range: str | None = Field(
        default=None, min_length=1, max_length=32, pattern=UNHEALTHY_RANGE,
        description="Remediate only while the number of unhealthy Machines is within this inclusive range, written "
        "\"[min-max]\", e.g. \"[3-5]\". Takes precedence over unhealthyLessThanOrEqualTo.")


class MachineHealthCheckRemediationTemplateReference(APIModel):
    """A remediation template of an external remediation provider, by API version, kind and name."""

    api_version: str = Field(min_length=1, max_length=317, pattern=API_VERSION_PATTERN,
                             description="The group/version of the template, e.g. "
                             "infrastructure.cluster.x-k8s.io/v1beta2; it must be kept equal to the template's.")
    kind: str = Field(min_length=1, max_length=63, pattern=KIND_PATTERN, description="The kind of the template.")
    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN,
                      description="The name of the template, in the same namespace.")


class MachineHealthCheckRemediation(APIModel):
    """Whether and how unhealthy Machines are remediated.

    Without triggerIf, every unhealthy Machine is remediated. Without templateRef, remediation is left to the
    Machine's owner (e.g. a MachineSet or a KubeadmControlPlane) through the OwnerRemediated condition.
    """

    model_config = NOT_EMPTY

    trigger_if: MachineHealthCheckRemediationTriggerIf | None = Field(
        default=None, description="Limits on when remediation happens; unset means always.")
    template_ref: MachineHealthCheckRemediationTemplateReference | None = Field(
        default=None, description="A remediation template; when set, the MachineHealthCheck controller creates an "
        "object from it for each unhealthy Machine and an external controller does the remediation.")


# --- deprecated v1beta1 status --------------------------------------------------------------------------------



def v1beta1_conditions_field(kind: str) -> Any:
    """The deprecated `status.deprecated.v1beta1.conditions` field."""
    return Field(default=None, description=f"The {kind}'s conditions in the v1beta1 format; superseded by "
                 "status.conditions and removed when v1beta1 is no longer served.")


def failure_reason_field(kind: str) -> Any:
    """The deprecated v1beta1 `failureReason` field."""
    return Field(default=None, description=f"A short machine-readable code for a terminal problem reconciling the "
                 f"{kind}, one that needs a human to fix it (v1beta1 only).")


def failure_message_field(kind: str) -> Any:
    """The deprecated v1beta1 `failureMessage` field."""
    return Field(default=None, min_length=1, max_length=10240, description="A human readable explanation of a "
                 f"terminal problem reconciling the {kind} (v1beta1 only).")


def deprecated_field() -> Any:
    """A `status.deprecated` field."""
    return Field(default=None, description="Status fields kept only for older API versions; they go away with "
                 "those versions.")


class CoreDeprecatedStatus(DeprecatedStatus[V1Beta1StatusT], Generic[V1Beta1StatusT]):
    """A core kind's status fields kept only for older API versions, e.g. `CoreDeprecatedStatus[MachineV1Beta1...]`."""

    v1beta1: V1Beta1StatusT | None = Field(default=None, alias="v1beta1", description="Status fields in the form the "
                                           "v1beta1 API reported them.")


# --- the object envelope --------------------------------------------------------------------------------------


class ClusterAPIObject(APIObject):
    """The envelope of every cluster.x-k8s.io object: type information and object metadata."""

    api_version: str = api_version_field(API_VERSION)
