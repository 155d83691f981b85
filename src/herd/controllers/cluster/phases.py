"""The Cluster's life, in order: infrastructure, control plane, control plane initialized, remote connection."""

from __future__ import annotations

import logging
from typing import Any

from herd.api.objects import nested
from herd.contract.references import ensure_owned, is_control_plane_initialized, is_provisioned, valid_endpoint
from herd.runtime import ObjectKey, Result

from .scope import ClusterScope

log = logging.getLogger("herd.controllers.cluster")


def _failure_domains(infra: dict[str, Any]) -> list[dict[str, Any]]:
    """status.failureDomains of an infrastructure cluster: a list (v1beta2) or a map by name (v1beta1)."""
    found = nested(infra, "status", "failureDomains")
    if isinstance(found, list):
        return [fd for fd in found if isinstance(fd, dict) and fd.get("name")]
    if isinstance(found, dict):
        return [{"name": name, **(spec or {})} for name, spec in sorted(found.items())]
    return []


async def reconcile_infrastructure(scope: ClusterScope) -> Result | None:
    """Own the infrastructure cluster; once it is provisioned, copy its endpoint and failure domains."""
    spec, cluster = scope.spec, scope.cluster
    ref = spec.get("infrastructureRef")
    if not ref:
        if not scope.deleting and not spec.get("topology"):
            scope.initialization["infrastructureProvisioned"] = True  # nothing to wait for
        return None
    if scope.infra_cluster is None or scope.infra_kind is None:
        if scope.deleting:
            return None
        if scope.infrastructure_provisioned:
            raise RuntimeError(f"{ref.get('kind')} {ref.get('name')} has been deleted after being provisioned")
        log.info("cluster %s: waiting for %s %s to exist", ObjectKey.of(cluster), ref.get("kind"), ref.get("name"))
        return Result(requeue_after=scope.io.external_ready_wait)
    infra = scope.infra_cluster = await ensure_owned(scope.io.client, scope.infra_kind.kind, scope.infra_cluster,
                                                     cluster, cluster["metadata"]["name"])
    if (infra.get("metadata") or {}).get("deletionTimestamp"):
        return None
    provisioned = is_provisioned(infra, scope.infra_kind.contract)
    if not provisioned and not scope.infrastructure_provisioned:
        return None  # the provider's next status update wakes us through the tracker
    endpoint = nested(infra, "spec", "controlPlaneEndpoint")
    if not valid_endpoint(spec.get("controlPlaneEndpoint")) and valid_endpoint(endpoint):
        spec["controlPlaneEndpoint"] = {"host": endpoint["host"], "port": endpoint["port"]}
    failure_domains = _failure_domains(infra)
    if failure_domains:
        scope.status["failureDomains"] = failure_domains
    else:
        scope.status.pop("failureDomains", None)
    if not scope.infrastructure_provisioned:
        log.info("cluster %s: infrastructure provisioned", ObjectKey.of(cluster))
    scope.initialization["infrastructureProvisioned"] = True
    return None


async def reconcile_control_plane(scope: ClusterScope) -> Result | None:
    """Own the control plane object; note when it is initialized, and take its endpoint if the Cluster has none."""
    spec, cluster = scope.spec, scope.cluster
    ref = spec.get("controlPlaneRef")
    if not ref:
        return None
    if scope.control_plane is None or scope.control_plane_kind is None:
        if scope.deleting:
            return None
        if scope.control_plane_initialized:
            raise RuntimeError(f"{ref.get('kind')} {ref.get('name')} has been deleted after being initialized")
        return Result(requeue_after=scope.io.external_ready_wait)
    cp = scope.control_plane = await ensure_owned(scope.io.client, scope.control_plane_kind.kind,
                                                  scope.control_plane, cluster, cluster["metadata"]["name"])
    if (cp.get("metadata") or {}).get("deletionTimestamp"):
        return None
    initialized = is_control_plane_initialized(cp, scope.control_plane_kind.contract)
    if not initialized and not scope.control_plane_initialized:
        return None
    endpoint = nested(cp, "spec", "controlPlaneEndpoint")
    if not valid_endpoint(spec.get("controlPlaneEndpoint")) and valid_endpoint(endpoint):
        spec["controlPlaneEndpoint"] = {"host": endpoint["host"], "port": endpoint["port"]}
    if not scope.control_plane_initialized:
        log.info("cluster %s: control plane initialized", ObjectKey.of(cluster))
    scope.initialization["controlPlaneInitialized"] = True
    return None


async def reconcile_control_plane_initialized(scope: ClusterScope) -> Result | None:
    """Without a control plane object, the control plane is initialized once a control plane Machine has a Node."""
    if scope.spec.get("controlPlaneRef") or scope.control_plane_initialized:
        return None
    if any(nested(m, "status", "nodeRef", "name") for m in scope.control_plane_machines):
        log.info("cluster %s: control plane initialized", ObjectKey.of(scope.cluster))
        scope.initialization["controlPlaneInitialized"] = True
    return None


FIRST_PROBE_INTERVAL = 1.0  # seconds between probes until the workload API server first answers


async def reconcile_remote_connection(scope: ClusterScope) -> Result | None:
    """Probe the workload cluster's API server (once its infrastructure exists) and look again shortly: every
    second until it first answers (Machines wait for that to report on their Nodes), then every probe interval."""
    if scope.deleting or not scope.infrastructure_provisioned:
        return None
    io = scope.io
    key = ObjectKey.of(scope.cluster)
    answered = scope.health.last_probe_success_time is not None
    interval = io.probe_interval if answered else min(FIRST_PROBE_INTERVAL, io.probe_interval)
    last = scope.health.last_probe_time
    if last is None or (scope.now - last).total_seconds() >= interval * 0.9:
        scope.health = await io.cluster_cache.probe(key)
    return Result(requeue_after=io.probe_interval if scope.health.last_probe_success_time else interval)


PHASES = (reconcile_infrastructure, reconcile_control_plane, reconcile_control_plane_initialized,
          reconcile_remote_connection)
