"""The ClusterClass's conditions from what its reconcile found (pure): RefVersionsUpToDate and VariablesReady."""

from __future__ import annotations

from herd.api.cluster import clusterclass as api
from herd.api.conditions import INTERNAL_ERROR_REASON
from herd.contract import conditions as cond
from herd.runtime.conditions import FALSE, TRUE, UNKNOWN

from .scope import ClusterClassScope


def ref_versions_condition(scope: ClusterClassScope) -> cond.Condition:
    """True when every template could be read and its reference names the latest apiVersion of its kind."""
    if scope.refs_error:
        return cond.condition(api.REF_VERSIONS_UP_TO_DATE, UNKNOWN, INTERNAL_ERROR_REASON, scope.refs_error)
    if scope.outdated_refs:
        lines = ["The following templateRefs are not using the latest apiVersion:"]
        lines += [f"* {r.kind} {r.name}: current: {r.current}, latest: {r.latest}" for r in scope.outdated_refs]
        return cond.condition(api.REF_VERSIONS_UP_TO_DATE, FALSE, api.REF_VERSIONS_NOT_UP_TO_DATE_REASON,
                              "\n".join(lines))
    return cond.condition(api.REF_VERSIONS_UP_TO_DATE, TRUE, api.REF_VERSIONS_UP_TO_DATE_REASON)


def variables_condition(scope: ClusterClassScope) -> cond.Condition:
    """True when status.variables holds every variable with one agreed definition."""
    if scope.variables_error:
        return cond.condition(api.VARIABLES_READY, FALSE, api.VARIABLES_READY_VARIABLE_DISCOVERY_FAILED_REASON,
                              scope.variables_error)
    return cond.condition(api.VARIABLES_READY, TRUE, api.VARIABLES_READY_REASON)


def set_status(scope: ClusterClassScope) -> None:
    """Write the conditions into the class (the skeleton's patch sends them)."""
    cond.apply(scope.cluster_class, ref_versions_condition(scope))
    cond.apply(scope.cluster_class, variables_condition(scope))
