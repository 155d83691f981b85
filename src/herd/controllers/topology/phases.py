"""Writing the desired topology, in upstream's order: infrastructure cluster, control plane (its machine
template first), the Cluster's references, the control plane's health check, the MachineDeployments (their
templates first) and their health checks, then the templates no one uses any more."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from herd.api.cluster import CLUSTER, MACHINE_DEPLOYMENT, MACHINE_HEALTH_CHECK, MACHINE_SET
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL,
    CLUSTER_TOPOLOGY_OWNED_LABEL,
)
from herd.api.objects import nested
from herd.contract.indexes import by_cluster
from herd.contract.templates import reference_to
from herd.runtime import AlreadyExists, Kind, NotFound, Object, ObjectKey, owner_reference

from . import names
from .compare import owned_patch, spec_changed
from .desired import Desired, link
from .load import kind_of
from .scope import TopologyScope

log = logging.getLogger("herd.controllers.topology")


async def _kind(scope: TopologyScope, obj: Object) -> Kind:
    return await kind_of(scope, str(obj["apiVersion"]), str(obj["kind"]))


async def _create(scope: TopologyScope, obj: Object) -> Object:
    log.info("cluster %s/%s: creating %s %s", scope.namespace, scope.name, obj["kind"], obj["metadata"]["name"])
    try:
        return await scope.io.client.create(obj, kind=await _kind(scope, obj))
    except AlreadyExists:
        kind = await _kind(scope, obj)
        return await scope.io.client.get(kind, obj["metadata"]["name"], scope.namespace)


async def _keep_in_shape(scope: TopologyScope, live: Object, desired: Object) -> Object:
    """Put back the owned fields that differ from the desired object."""
    patch = owned_patch(live, desired)
    if patch is None:
        return live
    log.info("cluster %s/%s: updating %s %s (%s)", scope.namespace, scope.name, desired["kind"],
             live["metadata"]["name"], ", ".join(sorted(patch)))
    return await scope.io.client.patch(await _kind(scope, desired), live["metadata"]["name"], patch,
                                       namespace=scope.namespace)


async def _ensure_template(scope: TopologyScope, live: Object | None, desired: Object) -> Object:
    """A cloned template in shape: created when missing, rotated to a new name when its content changed (the
    old one is deleted once nothing uses it), its labels and annotations kept otherwise."""
    if live is None:
        return await _create(scope, desired)
    if spec_changed(live, desired):
        prefix = str(live["metadata"]["name"])[:-5]
        desired["metadata"]["name"] = names.with_prefix(prefix)
        scope.stale_templates.append(live)
        log.info("cluster %s/%s: %s %s changed: rotating to %s", scope.namespace, scope.name, live["kind"],
                 live["metadata"]["name"], desired["metadata"]["name"])
        return await _create(scope, desired)
    return await _keep_in_shape(scope, live, {**desired, "spec": {}})


async def _ensure(scope: TopologyScope, live: Object | None, desired: Object) -> Object:
    return await _create(scope, desired) if live is None else await _keep_in_shape(scope, live, desired)


async def reconcile_infrastructure_cluster(scope: TopologyScope, desired: Desired) -> None:
    await _ensure(scope, scope.current.infrastructure_cluster, desired.infrastructure_cluster)


async def reconcile_control_plane(scope: TopologyScope, desired: Desired) -> None:
    if desired.control_plane_machine is not None:
        await _ensure_template(scope, scope.current.control_plane_machine, desired.control_plane_machine)
        link(desired)
    await _ensure(scope, scope.current.control_plane, desired.control_plane)


async def reconcile_cluster_references(scope: TopologyScope, desired: Desired) -> None:
    """Point the Cluster at its infrastructure cluster and control plane (written after both exist)."""
    spec = scope.cluster.get("spec") or {}
    wanted = {"infrastructureRef": reference_to(desired.infrastructure_cluster),
              "controlPlaneRef": reference_to(desired.control_plane)}
    changed = {k: v for k, v in wanted.items() if spec.get(k) != v}
    if changed:
        scope.cluster = await scope.io.client.patch(CLUSTER, scope.name, {"spec": changed}, namespace=scope.namespace)
    for duplicate in scope.duplicates:
        log.info("cluster %s/%s: deleting %s %s (a second one made for the Cluster, never referenced)",
                 scope.namespace, scope.name, duplicate["kind"], duplicate["metadata"]["name"])
        with contextlib.suppress(NotFound):
            await scope.io.client.delete(await _kind(scope, duplicate), duplicate["metadata"]["name"], scope.namespace)


async def _health_check(scope: TopologyScope, desired: Object | None, target: Object | None) -> None:
    """The health check of a control plane or MachineDeployment (owned by it), or none."""
    if target is None:
        return
    name = str(target["metadata"]["name"])
    live = scope.io.cache.get(MACHINE_HEALTH_CHECK, scope.namespace, name)
    if desired is None:
        if live is not None and CLUSTER_TOPOLOGY_OWNED_LABEL in (live["metadata"].get("labels") or {}):
            with contextlib.suppress(NotFound):
                await scope.io.client.delete(MACHINE_HEALTH_CHECK, name, scope.namespace)
        return
    if target["metadata"].get("uid"):
        desired["metadata"]["ownerReferences"] = [owner_reference(target, controller=False,
                                                                  block_owner_deletion=False)]
    await _ensure(scope, live, desired)


async def reconcile_control_plane_health_check(scope: TopologyScope, desired: Desired) -> None:
    cp_kind = await _kind(scope, desired.control_plane)
    live_cp = await scope.io.tracker.get(cp_kind, scope.namespace, desired.control_plane["metadata"]["name"],
                                         copy=False)
    await _health_check(scope, desired.control_plane_health_check, live_cp)


async def reconcile_machine_deployments(scope: TopologyScope, desired: Desired) -> None:
    """Create, update and delete MachineDeployments (templates first), and their health checks."""
    assert scope.tracker is not None
    for topology_name, part in desired.machine_deployments.items():
        if topology_name in scope.tracker.md_pending_create:
            continue
        current = scope.current.machine_deployments.get(topology_name)
        if current is None and await _exists_on_server(scope, topology_name):
            continue  # made by a reconcile the cache has not caught up with: no second one
        await _ensure_template(scope, current.bootstrap if current else None, part.bootstrap)
        await _ensure_template(scope, current.infrastructure if current else None, part.infrastructure)
        link(desired)
        md = await _ensure(scope, current.md if current else None, part.md)
        await _health_check(scope, part.health_check, md)
    for topology_name, current in scope.current.machine_deployments.items():
        if topology_name not in desired.machine_deployments:
            log.info("cluster %s/%s: deleting MachineDeployment %s (no longer in the topology)", scope.namespace,
                     scope.name, current.md["metadata"]["name"])
            with contextlib.suppress(NotFound):
                await scope.io.client.delete(MACHINE_DEPLOYMENT, current.md["metadata"]["name"], scope.namespace)


async def _exists_on_server(scope: TopologyScope, topology_name: str) -> bool:
    """Whether the server has a MachineDeployment for this topology entry (asked before creating one, as the
    cache may not list one created moments ago)."""
    selector = ",".join([f"{CLUSTER_NAME_LABEL}={scope.name}", CLUSTER_TOPOLOGY_OWNED_LABEL,
                         f"{CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL}={topology_name}"])
    listed = await scope.io.client.list(MACHINE_DEPLOYMENT, namespace=scope.namespace, label_selector=selector)
    scope.unseen_machine_deployments += listed.items
    return bool(listed.items)


def _in_use(scope: TopologyScope, desired: Desired) -> set[tuple[str, str]]:
    """(kind, name) of every template a control plane, MachineDeployment or MachineSet of the Cluster uses."""
    used: set[tuple[str, str]] = set()

    def add(ref: Any) -> None:
        if isinstance(ref, dict) and ref.get("name"):
            used.add((str(ref.get("kind")), str(ref["name"])))
    add(nested(desired.control_plane, "spec", "machineTemplate", "spec", "infrastructureRef"))
    add(nested(scope.current.control_plane or {}, "spec", "machineTemplate", "spec", "infrastructureRef"))
    holders = [p.md for p in desired.machine_deployments.values()]
    holders += [p.md for p in scope.current.machine_deployments.values()] + scope.unseen_machine_deployments
    # a MachineSet scaled to zero with no Machines left is what upstream's MachineDeployment deletes after a rollout
    # (and its templates with it); herd's keeps such sets, which must not keep old templates alive
    holders += [ms for ms in by_cluster(scope.io.cache, MACHINE_SET, ObjectKey(scope.namespace, scope.name), copy=False)
                if nested(ms, "spec", "replicas") != 0 or nested(ms, "status", "replicas")]
    for holder in holders:
        add(nested(holder, "spec", "template", "spec", "bootstrap", "configRef"))
        add(nested(holder, "spec", "template", "spec", "infrastructureRef"))
    return used


async def delete_unused_templates(scope: TopologyScope, desired: Desired) -> None:
    """Delete the Cluster's cloned templates that nothing references any more (after a rotation's rollout)."""
    used = _in_use(scope, desired)
    kinds = {await _kind(scope, t) for t in scope.stale_templates}
    templates = [desired.control_plane_machine] if desired.control_plane_machine else []
    for part in desired.machine_deployments.values():
        templates += [part.bootstrap, part.infrastructure]
    kinds |= {await _kind(scope, t) for t in templates}
    for kind in kinds:
        scope.io.tracker.watch(kind)
        if not scope.io.cache.informer(kind).has_synced:
            continue
        for template in scope.io.cache.list(kind, namespace=scope.namespace, label_selector=scope.owned_labels,
                                            copy=False):
            if (kind.kind, template["metadata"]["name"]) in used or template["metadata"].get("deletionTimestamp"):
                continue
            log.info("cluster %s/%s: deleting %s %s (no longer used)", scope.namespace, scope.name, kind.kind,
                     template["metadata"]["name"])
            with contextlib.suppress(NotFound):
                await scope.io.client.delete(kind, template["metadata"]["name"], scope.namespace)


PHASES = (reconcile_infrastructure_cluster, reconcile_control_plane, reconcile_cluster_references,
          reconcile_control_plane_health_check, reconcile_machine_deployments, delete_unused_templates)
