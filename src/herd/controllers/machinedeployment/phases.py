"""The MachineDeployment's reconcile, in order: own its MachineSets, make one for the current template, roll out."""

from __future__ import annotations

import logging

from herd.api.cluster import MACHINE_SET
from herd.api.cluster.labels import DISABLE_MACHINE_CREATE_ANNOTATION, MACHINE_DEPLOYMENT_FINALIZER, REVISION_ANNOTATION
from herd.api.objects import nested
from herd.runtime import (
    AlreadyExists,
    ApiError,
    Conflict,
    NotFound,
    Object,
    ObjectKey,
    Result,
    merge_patch,
    owner_reference,
    recorder_for,
)
from herd.runtime.events import error_text
from herd.runtime.finalizers import remove_finalizer
from herd.runtime.objects import deep_copy

from . import cleanup, rollout, template
from .cleanup import creation_order
from .scope import MachineDeploymentScope

log = logging.getLogger("herd.controllers.machinedeployment")
EVENT_SOURCE = "machinedeployment-controller"  # upstream's recorder name, shown by kubectl describe as From


async def _write(scope: MachineDeploymentScope, before: Object, after: Object) -> Object:
    """Patch a MachineSet's metadata and spec with what changed from `before` to `after`."""
    patch = merge_patch({k: v for k, v in before.items() if k != "status"},
                        {k: v for k, v in after.items() if k != "status"})
    if not patch:
        return after
    meta = after["metadata"]
    written = await scope.io.client.patch(MACHINE_SET, str(meta["name"]), patch, namespace=meta.get("namespace"))
    return written


def _state(scope: MachineDeploymentScope, ms: Object) -> rollout.MachineSetState:
    uid = nested(ms, "metadata", "uid")
    deleting = sum(1 for m in scope.machines if m["metadata"].get("deletionTimestamp")
                   and any(ref.get("uid") == uid for ref in m["metadata"].get("ownerReferences") or []))
    return rollout.MachineSetState(
        name=str(ms["metadata"]["name"]), replicas=int(nested(ms, "spec", "replicas") or 0),
        current=int(nested(ms, "status", "replicas") or 0),
        available=int(nested(ms, "status", "availableReplicas") or 0), deleting=deleting)


async def adopt_orphans(scope: MachineDeploymentScope, orphans: list[Object]) -> None:
    """MachineSets matching the selector without a controller become the MachineDeployment's."""
    for ms in orphans:
        if nested(ms, "metadata", "deletionTimestamp"):
            continue
        before = deep_copy(ms)
        ms["metadata"].setdefault("ownerReferences", []).append(owner_reference(scope.md))
        log.info("machinedeployment %s: adopting MachineSet %s", ObjectKey.of(scope.md), ms["metadata"]["name"])
        events = recorder_for(scope.io.client, EVENT_SOURCE)
        try:
            scope.machine_sets.append(await _write(scope, before, ms))
        except ApiError as exc:
            await events.warning(scope.md, "FailedAdopt",
                                 f'Failed to adopt MachineSet "{ms["metadata"]["name"]}": {error_text(exc)}')
            raise
        await events.normal(scope.md, "SuccessfulAdopt", f'Adopted MachineSet "{ms["metadata"]["name"]}"')
    scope.machine_sets.sort(key=creation_order)


async def reconcile_machine_sets(scope: MachineDeploymentScope) -> Result | None:
    """Keep the in-place fields of every MachineSet current and find (or create) the one for the template."""
    md = scope.md
    after_passed = template.rollout_after(md, scope.now)
    updated: list[Object] = []
    for ms in scope.machine_sets:
        if nested(ms, "metadata", "deletionTimestamp"):
            updated.append(ms)
            continue
        before = deep_copy(ms)
        template.propagate_in_place(md, ms)
        updated.append(await _write(scope, before, ms))
    scope.machine_sets = updated
    live = [ms for ms in updated if not nested(ms, "metadata", "deletionTimestamp")]
    current = [ms for ms in live if template.is_up_to_date(md, ms, scope.now)]
    top = max((template.revision(ms) for ms in scope.machine_sets), default=0)
    if current:
        new = current[-1]  # the newest, should a rollback have left two alike
        if template.revision(new) < top or template.revision(new) == 0:
            before = deep_copy(new)
            new.setdefault("metadata", {}).setdefault("annotations", {})[REVISION_ANNOTATION] = str(top + 1)
            new = await _write(scope, before, new)
            scope.machine_sets = [new if ms["metadata"]["uid"] == new["metadata"]["uid"] else ms
                                  for ms in scope.machine_sets]
        scope.new_machine_set = new
    elif not scope.paused:
        hash_value = template.template_hash(md, scope.now)
        replicas = scope.replicas or 0
        first = not any(int(nested(ms, "spec", "replicas") or 0) or int(nested(ms, "status", "replicas") or 0)
                        for ms in scope.machine_sets)
        ms = template.new_machine_set(md, hash_value, replicas if first else 0, top + 1)
        events = recorder_for(scope.io.client, EVENT_SOURCE)
        key = f'{md["metadata"].get("namespace")}/{ms["metadata"]["name"]}'
        try:
            created = await scope.io.client.create(ms, kind=MACHINE_SET)
        except AlreadyExists:  # a name clash with a set our cache has not seen yet: look again
            log.info("machinedeployment %s: MachineSet %s exists already", ObjectKey.of(md), ms["metadata"]["name"])
            return Result(requeue=True)
        except ApiError as exc:
            await events.warning(md, "FailedCreate", f"Failed to create MachineSet {key}: {error_text(exc)}")
            raise
        await events.normal(md, "SuccessfulCreate",
                            f"Created MachineSet {key} with {nested(created, 'spec', 'replicas') or 0} replicas")
        log.info("machinedeployment %s: created MachineSet %s (revision %d%s)", ObjectKey.of(md),
                 created["metadata"]["name"], top + 1, ", rollout.after passed" if after_passed else "")
        scope.machine_sets.append(created)
        scope.new_machine_set = created
    if scope.new_machine_set is not None:
        md["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = \
            str(template.revision(scope.new_machine_set))
    after = template.rollout_after_pending(md, scope.now)
    return Result(requeue_after=after) if after > 0 else None


async def reconcile_rollout(scope: MachineDeploymentScope) -> Result | None:
    """Scale the new MachineSet up and the old ones down by one planning step of the rollout strategy; once the
    rollout is complete, delete the old MachineSets it emptied."""
    new = scope.new_machine_set
    if new is None or scope.replicas is None:
        return None
    old = scope.old_machine_sets
    on_delete = scope.strategy == rollout.ON_DELETE
    plan = rollout.plan(scope.strategy, scope.replicas, scope.max_surge, scope.max_unavailable, _state(scope, new),
                        [_state(scope, ms) for ms in old], paused=scope.paused)
    scope.rollout_message = plan.message if old and any(_state(scope, ms).machines for ms in old) else ""
    surge, _ = rollout.surge_and_unavailable(scope.max_surge, scope.max_unavailable, scope.replicas)
    written: list[Object] = []
    for ms in scope.machine_sets:
        if nested(ms, "metadata", "deletionTimestamp"):
            written.append(ms)
            continue
        before = deep_copy(ms)
        name = str(ms["metadata"]["name"])
        original = int(nested(ms, "spec", "replicas") or 0)
        if name in plan.scale:
            log.info("machinedeployment %s: MachineSet %s to %d replicas", ObjectKey.of(scope.md), name,
                     plan.scale[name])
            ms["spec"]["replicas"] = plan.scale[name]
        annotations = ms["metadata"].setdefault("annotations", {})
        is_new = ms["metadata"].get("uid") == new["metadata"].get("uid")
        if on_delete and not is_new:
            annotations[DISABLE_MACHINE_CREATE_ANNOTATION] = "true"  # deleted Machines must not come back
        else:
            annotations.pop(DISABLE_MACHINE_CREATE_ANNOTATION, None)
        template.set_replica_annotations(scope.md, ms, surge)
        written.append(await _write_recorded(scope, before, ms, original))
    scope.machine_sets = written
    scope.new_machine_set = next(ms for ms in written if ms["metadata"].get("uid") == new["metadata"].get("uid"))
    await delete_old_machine_sets(scope)  # only after every write of the step succeeded
    return None


async def _write_recorded(scope: MachineDeploymentScope, before: Object, after: Object, original: int) -> Object:
    """`_write`, telling in an Event of the MachineDeployment a failure or a change of the set's replicas."""
    events = recorder_for(scope.io.client, EVENT_SOURCE)
    name = str(after["metadata"]["name"])
    try:
        written = await _write(scope, before, after)
    except ApiError as exc:
        if not isinstance(exc, NotFound | Conflict):  # a set being deleted under us, or a stale read: requeued
            await events.warning(scope.md, "FailedUpdate", f"Failed to update MachineSet "
                                 f'{after["metadata"].get("namespace")}/{name}: {error_text(exc)}')
        raise
    desired = int(nested(after, "spec", "replicas") or 0)
    if desired != original:
        direction = "up" if desired > original else "down"
        await events.normal(scope.md, "SuccessfulScale",
                            f"Scaled {direction} MachineSet {name}: {original} -> {desired}")
    return written


async def reconcile_delete(scope: MachineDeploymentScope) -> Result | None:
    """Delete the MachineSets; the MachineDeployment may go once they are gone."""
    remaining = scope.machine_sets
    for ms in remaining:
        if not nested(ms, "metadata", "deletionTimestamp"):
            try:
                await scope.io.client.delete(MACHINE_SET, str(ms["metadata"]["name"]),
                                             namespace=ms["metadata"].get("namespace"))
            except NotFound:
                continue
    if remaining:
        names = ", ".join(sorted(str(ms["metadata"]["name"]) for ms in remaining)[:3])
        scope.deleting_message = f"Deleting {len(remaining)} MachineSets: {names}" if len(remaining) != 1 \
            else f"Deleting 1 MachineSet: {names}"
        return Result(requeue_after=5.0)  # the MachineSets' deletion events wake us sooner
    scope.deleting_message = "Deletion completed"
    remove_finalizer(scope.md, MACHINE_DEPLOYMENT_FINALIZER)
    return None


async def delete_old_machine_sets(scope: MachineDeploymentScope) -> None:
    """Once the rollout is complete, delete the old MachineSets it emptied (the v1beta2 API keeps no history)."""
    events = recorder_for(scope.io.client, EVENT_SOURCE)
    for ms in cleanup.machine_sets_to_delete(scope.md, scope.new_machine_set, scope.machine_sets):
        name, namespace = str(ms["metadata"]["name"]), ms["metadata"].get("namespace")
        try:
            await scope.io.client.delete(MACHINE_SET, name, namespace=namespace)
        except NotFound:
            pass  # gone already: what was wanted
        except ApiError as exc:
            await events.warning(scope.md, "FailedDelete", f'Failed to delete MachineSet "{name}": {error_text(exc)}')
            raise  # the next ones wait for the retry: no burst of failing deletes
        log.info("machinedeployment %s: MachineSet %s/%s deleting (cleanup of old MachineSets)",
                 ObjectKey.of(scope.md), namespace, name)
        await events.normal(scope.md, "SuccessfulDelete", f'Deleted MachineSet "{name}"')


PHASES = (reconcile_machine_sets, reconcile_rollout)
