"""MachineHealthCheck: finds unhealthy Machines and gets them remediated."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from herd.api import conditions
from herd.api.base import NOT_EMPTY, APIModel
from herd.api.columns import CLUSTER_NAME_COLUMN, PAUSED_COLUMN, age_column, column
from herd.api.common import Condition, V1Beta1Condition, conditions_field, kind_field
from herd.api.crdgen import CRDSpec
from herd.api.fields import atomic_list, int32_field, observed_generation_field

from .shared import (
    GROUP,
    VERSION,
    ClusterAPIObject,
    CoreDeprecatedStatus,
    LabelSelector,
    MachineHealthCheckChecks,
    MachineHealthCheckRemediation,
    deprecated_field,
    v1beta1_conditions_field,
)

# --- conditions -----------------------------------------------------------------------------------------------

# RemediationAllowed: whether the MachineHealthCheck may remediate more Machines (remediation.triggerIf).
REMEDIATION_ALLOWED = "RemediationAllowed"
TOO_MANY_UNHEALTHY_REASON = "TooManyUnhealthy"
REMEDIATION_ALLOWED_REASON = "RemediationAllowed"

PAUSED = conditions.PAUSED_CONDITION
PAUSED_REASON = conditions.PAUSED_REASON
NOT_PAUSED_REASON = conditions.NOT_PAUSED_REASON

# How long a Machine may run without a Node when checks.nodeStartupTimeoutSeconds is unset: 10 minutes.
DEFAULT_NODE_STARTUP_TIMEOUT_SECONDS = 600


class MachineHealthCheckSpec(APIModel):
    """The desired state of a MachineHealthCheck."""

    cluster_name: str = Field(min_length=1, max_length=63, description="The name of the Cluster the "
                              "MachineHealthCheck belongs to, in the same namespace.")
    selector: LabelSelector = Field(description="Which Machines of the Cluster are checked.")
    checks: MachineHealthCheckChecks | None = Field(
        default=None, description="The tests that decide whether a Machine is healthy. Machines with the "
        "remediate-machine annotation and Machines whose Node was deleted are always unhealthy; a Machine without a "
        "Node counts as unhealthy after nodeStartupTimeoutSeconds (10 minutes unless set).")
    remediation: MachineHealthCheckRemediation | None = Field(
        default=None, description="Whether and how unhealthy Machines are remediated. Without triggerIf every "
        "unhealthy Machine is remediated; without templateRef the Machine's owner does it, prompted by the "
        "OwnerRemediated condition.")


class MachineHealthCheckV1Beta1DeprecatedStatus(APIModel):
    """MachineHealthCheck status fields in their v1beta1 form."""

    conditions: list[V1Beta1Condition] | None = v1beta1_conditions_field("MachineHealthCheck")


class MachineHealthCheckStatus(APIModel):
    """The observed state of a MachineHealthCheck."""

    model_config = NOT_EMPTY

    conditions: list[Condition] | None = conditions_field(
        "The MachineHealthCheck's conditions: RemediationAllowed and Paused.")
    expected_machines: int | None = int32_field("How many Machines the MachineHealthCheck checks.", ge=0)
    current_healthy: int | None = int32_field("How many of the checked Machines are healthy.", ge=0)
    remediations_allowed: int | None = int32_field(
        "How many more Machines may be remediated before remediation.triggerIf stops remediation.", ge=0)
    observed_generation: int | None = observed_generation_field()
    targets: list[Annotated[str, StringConstraints(min_length=1, max_length=253)]] | None = atomic_list(
        "The names of the Machines being checked.", max_items=10000)
    deprecated: CoreDeprecatedStatus[MachineHealthCheckV1Beta1DeprecatedStatus] | None = deprecated_field()


class MachineHealthCheck(ClusterAPIObject):
    """Health checks for a set of Machines, with remediation of the ones that fail."""

    kind: str = kind_field("MachineHealthCheck")
    spec: MachineHealthCheckSpec = Field(description="The desired state of the MachineHealthCheck.")
    status: MachineHealthCheckStatus = Field(default_factory=MachineHealthCheckStatus,
                                             description="The observed state of the MachineHealthCheck.")


MACHINE_HEALTH_CHECK_CRD = CRDSpec(
    model=MachineHealthCheck, group=GROUP, version=VERSION, kind="MachineHealthCheck", plural="machinehealthchecks",
    singular="machinehealthcheck", short_names=("mhc", "mhcs"),
    description="A MachineHealthCheck watches the Machines its selector picks out, marks the ones whose Node or "
                "conditions fail its checks as unhealthy, and gets them remediated, by their owner (e.g. a "
                "MachineSet) or by an external remediation controller, within the limits it sets.",
    printer_columns=(
        CLUSTER_NAME_COLUMN,
        column("Replicas", "integer", ".status.expectedMachines", "How many Machines are checked."),
        column("Healthy", "integer", ".status.currentHealthy", "How many checked Machines are healthy."),
        PAUSED_COLUMN,
        age_column("MachineHealthCheck"),
    ),
)
