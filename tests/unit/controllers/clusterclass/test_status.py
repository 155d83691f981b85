"""The ClusterClass's conditions and status.variables from what its reconcile found: pure, no server."""

from __future__ import annotations

from typing import Any

import pytest

from herd.controllers.clusterclass.phases import status_variables
from herd.controllers.clusterclass.scope import ClusterClassScope, OutdatedRef
from herd.controllers.clusterclass.status import set_status


def conditions(**found: Any) -> dict[str, tuple[str, str, str]]:
    scope = ClusterClassScope(cluster_class={"metadata": {"name": "cc"}, "spec": {}}, services=None, **found)
    set_status(scope)
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in scope.status["conditions"]}


@pytest.mark.parametrize(("found", "refs", "variables"), [
    ({}, ("True", "RefVersionsUpToDate", ""), ("True", "VariablesReady", "")),
    ({"outdated_refs": [OutdatedRef("DevMachineTemplate", "w", "v1beta1", "v1beta2")]},
     ("False", "RefVersionsNotUpToDate", "The following templateRefs are not using the latest apiVersion:\n"
      "* DevMachineTemplate w: current: v1beta1, latest: v1beta2"), ("True", "VariablesReady", "")),
    ({"refs_error": "Could not read the templates: x not found"},
     ("Unknown", "InternalError", "Could not read the templates: x not found"), ("True", "VariablesReady", "")),
    ({"variables_error": "VariableDiscovery failed: no"}, ("True", "RefVersionsUpToDate", ""),
     ("False", "VariableDiscoveryFailed", "VariableDiscovery failed: no")),
])
def test_conditions(found: dict[str, Any], refs: tuple[str, str, str], variables: tuple[str, str, str]) -> None:
    assert conditions(**found) == {"RefVersionsUpToDate": refs, "VariablesReady": variables}


def test_status_variables_are_the_inline_ones_sorted_by_name() -> None:
    schema = {"openAPIV3Schema": {"type": "string"}}
    spec = {"variables": [{"name": "zone", "required": False, "schema": schema},
                          {"name": "cpus", "required": True, "schema": schema,
                           "deprecatedV1Beta1Metadata": {"labels": {"a": "b"}}}]}
    assert status_variables({"spec": spec}) == [
        {"name": "cpus", "definitionsConflict": False, "definitions": [
            {"from": "inline", "required": True, "schema": schema,
             "deprecatedV1Beta1Metadata": {"labels": {"a": "b"}}}]},
        {"name": "zone", "definitionsConflict": False, "definitions": [
            {"from": "inline", "required": False, "schema": schema}]},
    ]
