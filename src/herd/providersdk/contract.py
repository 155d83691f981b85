"""The contract's bookkeeping on an infrastructure object, as pure functions on its dict (no I/O): what a machine
waits for, what "provisioned" writes, and the Ready summary. The SDK's reconcilers use them; a provider with a
controller of its own (the Dev provider) calls them directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from herd.api.base import APIModel
from herd.api.conditions import (
    DELETING_REASON,
    NOT_PROVISIONED_REASON,
    NOT_READY_REASON,
    PAUSED_CONDITION,
    PROVISIONED_REASON,
    READY_CONDITION,
    READY_REASON,
    READY_UNKNOWN_REASON,
    WAITING_FOR_BOOTSTRAP_DATA_REASON,
    WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON,
)
from herd.api.objects import nested
from herd.contract import conditions as cond
from herd.contract.objects import is_control_plane_machine
from herd.runtime import Object, conditions

from .outcomes import Waiting

PROVISIONED_CONDITION: Final = "Provisioned"
READY_REASONS = cond.Reasons(issue=NOT_READY_REASON, unknown=READY_UNKNOWN_REASON, info=READY_REASON)
_NOT_SUMMARIZED = frozenset({READY_CONDITION, PAUSED_CONDITION, PROVISIONED_CONDITION})


def machine_waiting_for(machine: Object, cluster: Object, *, cluster_infrastructure_ready: bool) -> Waiting | None:
    """What an infrastructure machine waits for before it is created, in upstream's order: the cluster's
    infrastructure, then (workers) the control plane, then the bootstrap data; None when it may be created."""
    if not cluster_infrastructure_ready:
        return Waiting(WAITING_FOR_CLUSTER_INFRASTRUCTURE_READY_REASON,
                       "Waiting for the cluster infrastructure to be provisioned")
    if not nested(machine, "spec", "bootstrap", "dataSecretName"):
        initialized = nested(cluster, "status", "initialization", "controlPlaneInitialized")
        if not is_control_plane_machine(machine) and not initialized:
            return Waiting(WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON,
                           "Waiting for the control plane to be initialized")
        return Waiting(WAITING_FOR_BOOTSTRAP_DATA_REASON,
                       "Waiting for the bootstrap provider to set the Machine's bootstrap data")
    return None


def is_provisioned(obj: Object) -> bool:
    """`status.initialization.provisioned`."""
    return nested(obj, "status", "initialization", "provisioned") is True


def mark_provisioned(obj: Object) -> bool:
    """`status.initialization.provisioned`; returns whether this is the first time."""
    first = not is_provisioned(obj)
    obj.setdefault("status", {}).setdefault("initialization", {})["provisioned"] = True
    return first


def set_provisioned(obj: Object, message: str = "") -> bool:
    """`status.initialization.provisioned` and the Provisioned condition; returns whether this is the first time."""
    conditions.set_condition(obj, PROVISIONED_CONDITION, True, PROVISIONED_REASON, message)
    return mark_provisioned(obj)


def set_not_provisioned(obj: Object, reason: str = NOT_PROVISIONED_REASON, message: str = "") -> None:
    """The Provisioned condition False (status.initialization.provisioned stays once set, as the contract says)."""
    conditions.set_condition(obj, PROVISIONED_CONDITION, False, reason, message)


def set_endpoint(obj: Object, host: str, port: int) -> None:
    """`spec.controlPlaneEndpoint`, written once: an endpoint already set is kept (the contract makes it final)."""
    spec = obj.setdefault("spec", {})
    endpoint = spec.get("controlPlaneEndpoint") or {}
    if not (endpoint.get("host") and endpoint.get("port")):
        spec["controlPlaneEndpoint"] = {"host": host, "port": port}


def set_failure_domains(obj: Object, failure_domains: Sequence[APIModel] | None) -> None:
    """`status.failureDomains` (v1beta2's list), or none."""
    status = obj.setdefault("status", {})
    if failure_domains:
        status["failureDomains"] = [domain.to_dict() for domain in failure_domains]
    else:
        status.pop("failureDomains", None)


def set_machine_provisioned(obj: Object, provider_id: str, addresses: Iterable[APIModel | dict[str, Any]]) -> bool:
    """`spec.providerID`, `status.addresses` and initialization.provisioned; returns whether this is the first time."""
    obj.setdefault("spec", {})["providerID"] = provider_id
    obj.setdefault("status", {})["addresses"] = [a.to_dict() if isinstance(a, APIModel) else dict(a)
                                                for a in addresses]
    return mark_provisioned(obj)


def set_ready(obj: Object, *, deleting: bool = False) -> None:
    """Ready: False while deleting, else the summary of Provisioned and the provider's own conditions."""
    if deleting:
        conditions.set_condition(obj, READY_CONDITION, False, DELETING_REASON,
                                 f"The {obj.get('kind') or 'object'} is being deleted")
        return
    own = [c["type"] for c in conditions.get_conditions(obj) if c.get("type") not in _NOT_SUMMARIZED]
    cond.apply(obj, cond.summary(obj, READY_CONDITION, [PROVISIONED_CONDITION, *sorted(own)], reasons=READY_REASONS))
