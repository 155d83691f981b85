"""The MachineSet's reconcile, in order: own and label it, find its templates, adopt and list its Machines,
remediate the unhealthy ones, keep the others in sync with the template, then scale up or down."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from herd.api.cluster import MACHINE
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    DISABLE_MACHINE_CREATE_ANNOTATION,
    MACHINE_DEPLOYMENT_NAME_LABEL,
)
from herd.api.cluster.machineset import MACHINE_REMEDIATION_DEFERRED_REASON, MACHINE_REMEDIATION_MACHINE_DELETING_REASON
from herd.api.objects import nested
from herd.contract import conditions as cond
from herd.contract.indexes import controlled_by, latest_in_cache, orphans
from herd.contract.templates import clone_from_template, reference_to
from herd.runtime import NotFound, Object, ObjectKey, Result, controller_owner, owner_reference, recorder_for
from herd.runtime.conditions import FALSE, get_condition
from herd.runtime.events import error_text
from herd.runtime.labels import Selector

from . import clone
from .deletion import delete_machine, machines_to_delete
from .scope import MachineSetScope, Template
from .status import OWNER_REMEDIATED, machine_up_to_date_condition

CREATE_CONCURRENCY = 10  # Machines created at once on a scale-up (each is three requests in a row)
SYNC_CONCURRENCY = 10  # existing Machines written at once (labels, in-place fields, UpToDate)
log = logging.getLogger("herd.controllers.machineset")
EVENT_SOURCE = "machineset-controller"  # upstream's recorder name, shown by kubectl describe as From


async def reconcile_owner_and_labels(scope: MachineSetScope) -> Result | None:
    """Label the MachineSet with its cluster; a stand-alone one is owned by its Cluster."""
    scope.meta.setdefault("labels", {})[CLUSTER_NAME_LABEL] = scope.cluster_name
    cluster = scope.cluster
    if cluster is not None and not scope.deployment_name:
        refs: list[dict[str, Any]] = scope.meta.setdefault("ownerReferences", [])
        if not any(ref.get("uid") == cluster["metadata"]["uid"] for ref in refs):
            refs.append(owner_reference(cluster, controller=False, block_owner_deletion=False))
    return None


async def reconcile_templates(scope: MachineSetScope) -> Result | None:
    """Fetch the bootstrap and infrastructure templates the Machines are cloned from."""
    spec = scope.template.get("spec") or {}
    config_ref = nested(spec, "bootstrap", "configRef")
    if config_ref:
        scope.bootstrap_template = await _fetch_template(scope, config_ref)
        scope.bootstrap_template_not_found = scope.bootstrap_template is None
    infra_ref = spec.get("infrastructureRef")
    if infra_ref:
        scope.infra_template = await _fetch_template(scope, infra_ref)
        scope.infra_template_not_found = scope.infra_template is None
    return None


async def _fetch_template(scope: MachineSetScope, ref: dict[str, Any]) -> Template | None:
    try:
        provider_kind = await scope.io.resolver.resolve(ref)
        obj = await scope.io.client.get(provider_kind.kind, str(ref["name"]), scope.namespace)
    except NotFound:
        return None
    return Template(ref, provider_kind, obj)


async def adopt_machines(scope: MachineSetScope) -> Result | None:
    """List the Machines the selector matches in the cluster; orphans among them become ours."""
    selector = Selector.from_label_selector(scope.spec.get("selector"))
    found = []
    # ours, and orphans we may adopt, as the cache holds them: read only (writes replace them in the list)
    candidates = [*controlled_by(scope.io.cache, MACHINE, scope.machine_set, copy=False),
                  *orphans(scope.io.cache, MACHINE, scope.namespace, copy=False)]
    for machine in sorted(candidates, key=lambda m: str(m["metadata"].get("name"))):
        if not selector.matches_object(machine) or nested(machine, "spec", "clusterName") != scope.cluster_name:
            continue
        if controller_owner(machine) is None:
            if machine["metadata"].get("deletionTimestamp"):
                continue
            refs = [*(machine["metadata"].get("ownerReferences") or []), owner_reference(scope.machine_set)]
            patch = {"metadata": {"ownerReferences": refs, "resourceVersion": machine["metadata"]["resourceVersion"]}}
            machine = await scope.io.client.patch(MACHINE, machine["metadata"]["name"], patch,
                                                  namespace=scope.namespace)
            log.info("machineset %s: adopted Machine %s", scope.key, machine["metadata"]["name"])
        found.append(machine)
    scope.machines = found
    scope.machines_listed = True
    return None


def _max_in_flight(scope: MachineSetScope, unhealthy: int) -> tuple[int, str]:
    """How many remediations may run at once: the deployment's spec.remediation.maxInFlight, else unbounded."""
    value = nested(scope.machine_deployment, "spec", "remediation", "maxInFlight")
    if value is None:
        return unhealthy, ""
    if isinstance(value, str) and value.endswith("%"):
        replicas = int(nested(scope.machine_deployment, "spec", "replicas") or 0)
        return math.ceil(replicas * int(value[:-1]) / 100), value
    return int(value), str(value)


def _in_flight(scope: MachineSetScope) -> int:
    """Remediations under way: Machines (of the whole deployment) deleting after OwnerRemediated went False."""
    if scope.deployment_name:
        machines = [m for m in scope.io.cache.list(MACHINE, namespace=scope.namespace, copy=False)
                    if (m["metadata"].get("labels") or {}).get(MACHINE_DEPLOYMENT_NAME_LABEL) == scope.deployment_name]
    else:
        machines = scope.machines
    return sum(1 for m in machines if m["metadata"].get("deletionTimestamp") and _owner_remediated_false(m))


def _owner_remediated_false(machine: Object) -> bool:
    return (get_condition(machine, OWNER_REMEDIATED) or {}).get("status") == FALSE


async def reconcile_unhealthy_machines(scope: MachineSetScope) -> Result | None:
    """Delete Machines a health check marked (OwnerRemediated False), at most maxInFlight at a time."""
    if not scope.machines_listed:
        return None
    unhealthy = sorted((m for m in scope.machines
                        if _owner_remediated_false(m) and not m["metadata"].get("deletionTimestamp")),
                       key=lambda m: (str(m["metadata"].get("creationTimestamp") or ""), m["metadata"]["name"]))
    if not unhealthy:
        return None
    limit, limit_text = _max_in_flight(scope, len(unhealthy))
    budget = max(0, limit - _in_flight(scope))
    for index, machine in enumerate(unhealthy):
        if index >= budget:
            message = ("Waiting because there are already too many remediations in progress "
                       f"(spec.remediation.maxInFlight is {limit_text})")
            await _set_owner_remediated(scope, machine, MACHINE_REMEDIATION_DEFERRED_REASON, message)
            continue
        await _set_owner_remediated(scope, machine, MACHINE_REMEDIATION_MACHINE_DELETING_REASON,
                                    "Machine is deleting")
        try:
            await scope.io.client.delete(MACHINE, machine["metadata"]["name"], scope.namespace)
        except NotFound:
            continue
        log.info("machineset %s: deleting unhealthy Machine %s (remediation)", scope.key, machine["metadata"]["name"])
    return None


async def _set_owner_remediated(scope: MachineSetScope, machine: Object, reason: str, message: str) -> None:
    wanted = cond.condition(OWNER_REMEDIATED, FALSE, reason, message)
    if cond.conditions_equal(get_condition(machine, OWNER_REMEDIATED), wanted):
        return
    await _set_condition(scope, machine, wanted)


async def _set_condition(scope: MachineSetScope, machine: Object, wanted: cond.Condition) -> Object:
    """Write one condition of the Machine, leaving the others' conditions as they are on the server."""
    return await cond.write_conditions(scope.io.client, MACHINE, machine, [wanted])


async def sync_machines(scope: MachineSetScope) -> Result | None:
    """Carry the template's labels, annotations and in-place spec fields, and UpToDate, to existing Machines
    (up to SYNC_CONCURRENCY at once: a thousand of them one by one would hold the MachineSet's status back)."""
    if not scope.machines_listed:
        return None
    labels, annotations = clone.machine_labels(scope.machine_set), clone.machine_annotations(scope.machine_set)
    in_place = clone.in_place_spec(scope.machine_set)
    up_to_date = machine_up_to_date_condition(scope)
    slots = asyncio.Semaphore(SYNC_CONCURRENCY)

    async def sync_one(index: int, machine: Object) -> None:
        meta = machine["metadata"]
        patch: dict[str, Any] = {}
        if not meta.get("deletionTimestamp"):  # a deleting Machine only needs what tearing it down uses
            if any((meta.get("labels") or {}).get(k) != v for k, v in labels.items()):
                patch.setdefault("metadata", {})["labels"] = labels
            if any((meta.get("annotations") or {}).get(k) != v for k, v in annotations.items()):
                patch.setdefault("metadata", {})["annotations"] = annotations
        spec_patch = clone.in_place_changes(machine, in_place)
        if spec_patch:
            patch["spec"] = spec_patch
        stale = not cond.conditions_equal(get_condition(machine, up_to_date["type"]), up_to_date)
        if not patch and not stale:
            return
        async with slots:
            if patch:
                patch.setdefault("metadata", {})["resourceVersion"] = meta["resourceVersion"]
                machine = scope.machines[index] = await scope.io.client.patch(MACHINE, meta["name"], patch,
                                                                              namespace=scope.namespace)
            if stale:
                # after a patch its answer is the latest; else the cache's copy, newer than the list this
                # reconcile began with when that took long (a large scale-up)
                latest = machine if patch else latest_in_cache(scope.io.cache, MACHINE, machine)
                scope.machines[index] = await _set_condition(scope, latest, up_to_date)

    outcomes = await asyncio.gather(*(sync_one(i, m) for i, m in enumerate(list(scope.machines))),
                                    return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]  # the others are written; the next reconcile retries the rest
    return None


async def sync_replicas(scope: MachineSetScope) -> Result | None:
    """Create or delete Machines until there are spec.replicas of them."""
    if not scope.machines_listed or scope.replicas is None:
        return None
    surplus = len(scope.machines) - scope.desired_replicas
    if surplus < 0:
        return await _scale_up(scope, -surplus)
    if surplus > 0:
        await _scale_down(scope, surplus)
    return None


async def _scale_up(scope: MachineSetScope, count: int) -> Result | None:
    if DISABLE_MACHINE_CREATE_ANNOTATION in (scope.meta.get("annotations") or {}):
        log.info("machineset %s: not creating Machines: %s is set", scope.key, DISABLE_MACHINE_CREATE_ANNOTATION)
        return None
    if scope.bootstrap_template_not_found or scope.infra_template_not_found or scope.infra_template is None:
        log.info("machineset %s: cannot create Machines: a template does not exist", scope.key)
        return Result(requeue_after=scope.io.template_wait)
    created: list[ObjectKey] = []
    slots = asyncio.Semaphore(CREATE_CONCURRENCY)
    events = recorder_for(scope.io.client, EVENT_SOURCE)

    async def create_one() -> None:
        try:
            async with slots:
                machine = await _create_machine(scope)
        except Exception as exc:
            await events.warning(scope.machine_set, "FailedCreate", f"Failed to create machine: {error_text(exc)}")
            raise
        created.append(ObjectKey.of(machine))
        await events.normal(scope.machine_set, "SuccessfulCreate", f'Created machine "{machine["metadata"]["name"]}"')
        log.info("machineset %s: created Machine %s (scale up, %d of %d)", scope.key, machine["metadata"]["name"],
                 len(created), count)

    outcomes = await asyncio.gather(*(create_one() for _ in range(count)), return_exceptions=True)
    await _wait_for_cache(scope, lambda: all(scope.io.cache.listed(MACHINE, k) for k in created))
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]  # the Machines that were created stay; the next reconcile creates the rest
    return None


async def _create_machine(scope: MachineSetScope) -> Object:
    """Clone the templates and create the Machine; the clones are deleted again when the Machine cannot be created."""
    io, ms = scope.io, scope.machine_set
    name = clone.machine_name(ms)
    labels, annotations = clone.machine_labels(ms), clone.machine_annotations(ms)
    clones: list[tuple[Any, Object]] = []
    try:
        refs: list[dict[str, str] | None] = []
        for template in (scope.bootstrap_template, scope.infra_template):
            if template is None:
                refs.append(None)
                continue
            obj = clone_from_template(template.obj, name=name, namespace=scope.namespace,
                                            cluster_name=scope.cluster_name, labels=labels, annotations=annotations,
                                            owner=ms)
            kind = await io.client.kind_of(obj)
            clones.append((kind, await io.client.create(obj, kind=kind)))
            refs.append(reference_to(obj))
        infra_ref = refs[1]
        assert infra_ref is not None
        return await io.client.create(clone.desired_machine(ms, name, refs[0], infra_ref), kind=MACHINE)
    except BaseException:
        for kind, obj in clones:
            try:
                await io.client.delete(kind, obj["metadata"]["name"], scope.namespace)
            except NotFound:
                pass
            except Exception as exc:  # the clone leaks; the original error matters more
                log.warning("machineset %s: could not clean up %s %s: %s", scope.key, obj["kind"],
                            obj["metadata"]["name"], exc)
        raise


async def _scale_down(scope: MachineSetScope, surplus: int) -> None:
    order = nested(scope.machine_set, "spec", "deletion", "order")
    chosen = machines_to_delete(scope.machines, surplus, order, scope.now)
    events = recorder_for(scope.io.client, EVENT_SOURCE)
    for number, machine in enumerate(chosen, start=1):
        name = machine["metadata"]["name"]
        try:
            deleted = await delete_machine(scope, machine)
        except Exception as exc:
            await events.warning(scope.machine_set, "FailedDelete",
                                 f'Failed to delete machine "{name}": {error_text(exc)}')
            raise
        if deleted:
            await events.normal(scope.machine_set, "SuccessfulDelete", f'Deleted machine "{name}"')
            log.info("machineset %s: deleting Machine %s (scale down, %d of %d)", scope.key, name, number, surplus)
    keys = [ObjectKey.of(m) for m in chosen]

    def deleting() -> bool:
        for key in keys:
            cached = scope.io.cache.listed(MACHINE, key)
            if cached is not None and not cached["metadata"].get("deletionTimestamp"):
                return False
        return True
    await _wait_for_cache(scope, deleting)


async def _wait_for_cache(scope: MachineSetScope, done: Callable[[], bool]) -> None:
    """Wait (a little) until our writes show in the cache, so the next reconcile does not count stale Machines."""
    deadline = time.monotonic() + scope.io.cache_wait
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the cache did not catch up with the Machines just written")
        await asyncio.sleep(0.05)


ALWAYS = (reconcile_owner_and_labels, reconcile_templates, adopt_machines)
PHASES = (*ALWAYS, reconcile_unhealthy_machines, sync_machines, sync_replicas)
