"""A ClusterClass's reconcile, in upstream's order: its templates (read, owned by the class, apiVersion checked
against the contract), then its variables (status.variables from spec.variables)."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.cluster import API_VERSION
from herd.api.cluster import clusterclass as api
from herd.api.cluster.clusterclass_webhooks import template_refs
from herd.api.objects import nested
from herd.contract.phases import Phase
from herd.runtime import Kind, NotFound, Object, Result

from .scope import ClusterClassScope, OutdatedRef

log = logging.getLogger("herd.controllers.clusterclass")


class TemplateError(Exception):
    """A template of the class cannot be used (missing, or no CRD serves its kind)."""


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


async def _latest_kind(scope: ClusterClassScope, ref: dict[str, Any]) -> Kind:
    group, version = _group_version(str(ref.get("apiVersion") or ""))
    try:
        provider_kind = await scope.io.resolver.resolve({"apiGroup": group, "kind": ref.get("kind")})
    except NotFound as err:
        raise TemplateError(str(err)) from None
    if provider_kind.kind.version != version:
        scope.outdated_refs.append(OutdatedRef(str(ref.get("kind")), str(ref.get("name")), version,
                                               provider_kind.kind.version))
    return provider_kind.kind


async def _own(scope: ClusterClassScope, kind: Kind, ref: dict[str, Any]) -> None:
    """Read the template and add the class to its owners (not as controller: several classes may share it)."""
    io, name = scope.io, str(ref.get("name") or "")
    try:
        template = await io.client.get(kind, name, scope.namespace)
    except NotFound:
        raise TemplateError(f"{ref.get('kind')} {scope.namespace}/{name} not found") from None
    uid = scope.meta.get("uid")
    owners: list[dict[str, Any]] = list(nested(template, "metadata", "ownerReferences") or [])
    if any(o.get("uid") == uid for o in owners):
        return
    owners.append({"apiVersion": API_VERSION, "kind": api.CLUSTER_CLASS_KIND, "name": scope.name, "uid": uid})
    patch = {"metadata": {"ownerReferences": owners,
                          "resourceVersion": nested(template, "metadata", "resourceVersion")}}
    await io.client.patch(kind, name, patch, namespace=scope.namespace)


async def reconcile_templates(scope: ClusterClassScope) -> Result | None:
    """Every template the class refers to exists and is owned by the class; references not on the latest
    apiVersion of their kind are noted (RefVersionsUpToDate). Missing templates make the reconcile fail, so it is
    retried with backoff until they appear."""
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for path, ref in template_refs(scope.cluster_class):
        key = (str(ref.get("apiVersion")), str(ref.get("kind")), str(ref.get("name")))
        if key in seen:
            continue
        seen.add(key)
        try:
            await _own(scope, await _latest_kind(scope, ref), ref)
        except TemplateError as err:
            problems.append(f"{path}: {err}")
    if problems:
        scope.refs_error = "Could not read the templates: " + "; ".join(problems)
        raise TemplateError(scope.refs_error)
    return None


def status_variables(cluster_class: Object) -> list[dict[str, Any]]:
    """status.variables from spec.variables: one inline definition per variable, sorted by name."""
    found = []
    for variable in nested(cluster_class, "spec", "variables") or []:
        definition = {"from": api.VARIABLE_DEFINITION_FROM_INLINE, "required": variable.get("required") is True,
                      "schema": variable.get("schema") or {}}
        if variable.get("deprecatedV1Beta1Metadata"):
            definition["deprecatedV1Beta1Metadata"] = variable["deprecatedV1Beta1Metadata"]
        found.append({"name": variable.get("name"), "definitionsConflict": False, "definitions": [definition]})
    return sorted(found, key=lambda v: str(v["name"]))


async def reconcile_variables(scope: ClusterClassScope) -> Result | None:
    """status.variables; a patch that would discover more variables through an extension cannot be served (herd
    has no Runtime SDK), which leaves VariablesReady false."""
    discovering = [str(p.get("name")) for p in nested(scope.cluster_class, "spec", "patches") or []
                   if nested(p, "external", "discoverVariablesExtension")]
    if discovering:
        scope.variables_error = (f"VariableDiscovery failed: patch(es) {', '.join(discovering)} discover variables "
                                 "through a Runtime SDK extension, which herd does not support")
        return None
    variables = status_variables(scope.cluster_class)
    if variables:
        scope.status["variables"] = variables
    else:
        scope.status.pop("variables", None)
    return None


PHASES: list[Phase[ClusterClassScope]] = [reconcile_templates, reconcile_variables]
