"""A MachineHealthCheck's reconcile, in order: find the targets, judge them, then mark the Machines."""

from __future__ import annotations

import asyncio
import logging

from herd.api.cluster import MACHINE
from herd.api.cluster import machine as machine_api
from herd.contract import conditions as cond
from herd.contract.indexes import by_cluster, latest_in_cache
from herd.runtime import NotFound, ObjectKey, Result, Unreachable, patch_helper, recorder_for
from herd.runtime.conditions import FALSE, TRUE, get_condition
from herd.runtime.objects import deep_copy

from .scope import HealthCheckScope
from .status import remediation_decision, set_status
from .targets import Target, evaluate, is_healthy, selects, skip_reason

log = logging.getLogger("herd.controllers.machinehealthcheck")
EVENT_SOURCE = "machinehealthcheck-controller"  # upstream's recorder name, shown by kubectl describe as From
MARK_CONCURRENCY = 10  # Machines marked at once (a fleet coming up is a thousand HealthCheckSucceeded writes)


async def reconcile_targets(scope: HealthCheckScope) -> Result | None:
    """Collect the Machines to check and, for those with a nodeRef, their Nodes from the workload cluster."""
    io = scope.services
    for machine in by_cluster(io.cache, MACHINE, scope.cluster_key, copy=False):  # read only; _mark copies
        if not selects(scope.mhc, machine):
            continue
        why = skip_reason(machine)
        if why:
            log.debug("machinehealthcheck %s: not checking Machine %s: %s", scope.key,
                      machine["metadata"].get("name"), why)
            continue
        scope.targets.append(Target(machine))
    for target in scope.targets:
        node_name = ((target.machine.get("status") or {}).get("nodeRef") or {}).get("name")
        if not node_name:
            continue
        try:
            target.node = await io.cluster_cache.get_node(scope.cluster_key, str(node_name), copy=False)
        except Unreachable as exc:  # includes ClusterNotConnected: judge nobody on what we cannot see
            log.info("machinehealthcheck %s: workload cluster %s not reachable: %s", scope.key, scope.cluster_key,
                     exc)
            scope.workload_unreachable = True
            return Result(requeue_after=io.unreachable_requeue_after)
        target.node_missing = target.node is None
    return None


async def reconcile_health(scope: HealthCheckScope) -> Result | None:
    """Judge every target, apply triggerIf, and write the counters; returns when a pending check falls due."""
    if scope.workload_unreachable:
        return None
    waits: list[float] = []
    for target in scope.targets:
        verdict = evaluate(target, scope.mhc, scope.cluster, scope.now)
        scope.verdicts[target.name] = verdict
        if verdict.unhealthy:
            scope.unhealthy.append(target)
        elif is_healthy(target, verdict):
            scope.healthy.append(target)
        if verdict.next_check > 0:
            waits.append(verdict.next_check)
    expected = len(scope.targets)
    scope.decision = remediation_decision(scope.spec, expected, len(scope.healthy))
    set_status(scope.mhc, targets=[t.name for t in scope.targets], healthy=len(scope.healthy),
               decision=scope.decision)
    if not scope.decision.allowed:
        log.info("machinehealthcheck %s: %s", scope.key, scope.decision.message)
        if scope.unhealthy:  # with no unhealthy Machine there is nothing being held back
            await recorder_for(scope.services.client, EVENT_SOURCE).warning(
                scope.mhc, "RemediationRestricted", scope.decision.message)
    return Result(requeue_after=min(waits)) if waits else None


async def reconcile_machines(scope: HealthCheckScope) -> Result | None:
    """Set HealthCheckSucceeded on the judged Machines and, when allowed, ask owners to remediate the unhealthy."""
    if scope.decision is None:
        return None
    remediate = scope.decision.allowed
    external = bool((scope.spec.get("remediation") or {}).get("templateRef"))
    if external and remediate and scope.unhealthy:
        # external remediation (a request object per Machine, from the template) is not implemented in herd
        log.warning("machinehealthcheck %s: remediation.templateRef is set; external remediation is not "
                    "supported, the unhealthy Machines are only marked", scope.key)
    errors: list[Exception] = []
    slots = asyncio.Semaphore(MARK_CONCURRENCY)

    async def mark(target: Target) -> None:
        verdict = scope.verdicts[target.name]
        try:
            async with slots:
                await _mark(scope, target, owner_remediates=remediate and not external and verdict.unhealthy)
        except NotFound:
            pass  # deleted meanwhile: nothing to mark
        except Exception as exc:
            errors.append(exc)

    await asyncio.gather(*(mark(target) for target in scope.healthy + scope.unhealthy))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("marking Machines failed", errors)
    return None


async def _mark(scope: HealthCheckScope, target: Target, *, owner_remediates: bool) -> None:
    verdict = scope.verdicts[target.name]
    if verdict.unhealthy:
        succeeded = cond.condition(machine_api.HEALTH_CHECK_SUCCEEDED, FALSE, verdict.reason, verdict.message)
    else:
        succeeded = cond.condition(machine_api.HEALTH_CHECK_SUCCEEDED, TRUE, machine_api.HEALTH_CHECK_SUCCEEDED_REASON)
    ask_owner = owner_remediates and get_condition(target.machine, machine_api.OWNER_REMEDIATED) is None
    if not ask_owner and cond.conditions_equal(get_condition(target.machine, succeeded["type"]), succeeded):
        return  # nothing to write: a healthy fleet costs no requests
    # the cache's current copy: marking a large fleet takes a while, and an older one would meet a Conflict
    latest = deep_copy(latest_in_cache(scope.services.cache, MACHINE, target.machine))
    async with patch_helper(scope.services.client, latest, kind=MACHINE, observed_generation=False) as machine:
        cond.apply(machine, succeeded)
        if ask_owner:
            log.info("machinehealthcheck %s: Machine %s is unhealthy (%s); asking its owner to remediate it",
                     scope.key, ObjectKey.of(machine), verdict.reason)
            cond.apply(machine, cond.condition(machine_api.OWNER_REMEDIATED, FALSE,
                                               machine_api.OWNER_REMEDIATED_WAITING_FOR_REMEDIATION_REASON,
                                               "Waiting for remediation"))
    if owner_remediates:
        await recorder_for(scope.services.client, EVENT_SOURCE).normal(
            target.machine, "MachineMarkedUnhealthy",
            f"Machine {ObjectKey.of(target.machine)} has been marked as unhealthy by {scope.key}")


PHASES = (reconcile_targets, reconcile_health, reconcile_machines)
