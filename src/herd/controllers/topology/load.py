"""Reading what a topology reconcile needs: the ClusterClass, its templates and the objects already made."""

from __future__ import annotations

from typing import Any

from herd.api.cluster import CLUSTER_CLASS, MACHINE, MACHINE_DEPLOYMENT
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL,
    CLUSTER_TOPOLOGY_OWNED_LABEL,
    MACHINE_DEPLOYMENT_NAME_LABEL,
)
from herd.api.objects import nested
from herd.contract.indexes import by_cluster
from herd.runtime import Kind, Object, ObjectKey

from .desired import Blueprint, Current, CurrentMachineDeployment
from .scope import TopologyScope
from .upgrade import WorkerState


class MissingObject(LookupError):
    """Something the class references does not exist (yet)."""


async def kind_of(scope: TopologyScope, api_version: str, kind: str) -> Kind:
    key = f"{api_version}/{kind}"
    if key not in scope.kinds:
        scope.kinds[key] = await scope.io.client.kind_of({"apiVersion": api_version, "kind": kind})
    return scope.kinds[key]


async def _template(scope: TopologyScope, ref: dict[str, Any] | None, namespace: str, what: str) -> Object:
    if not ref or not ref.get("name"):
        raise MissingObject(f"ClusterClass: {what} has no templateRef")
    kind = await kind_of(scope, str(ref.get("apiVersion")), str(ref.get("kind")))
    found = await scope.io.tracker.get(kind, namespace, str(ref["name"]))
    if found is None:
        raise MissingObject(f"{ref.get('kind')} {namespace}/{ref['name']} ({what}) not found")
    return found


def class_key(cluster: Object) -> ObjectKey:
    ref = nested(cluster, "spec", "topology", "classRef") or {}
    return ObjectKey(str(ref.get("namespace") or cluster["metadata"]["namespace"]), str(ref.get("name") or ""))


async def load_blueprint(scope: TopologyScope) -> Blueprint:
    """The ClusterClass and its templates; raises MissingObject when one is not there."""
    key = class_key(scope.cluster)
    cc = scope.io.cache.get(CLUSTER_CLASS, key.namespace, key.name)
    if cc is None:
        raise MissingObject(f"ClusterClass {key} not found")
    scope.cluster_class = cc
    status = cc.get("status") or {}
    generation = nested(cc, "metadata", "generation")
    scope.class_not_reconciled = ("observedGeneration" in status and status["observedGeneration"] != generation)
    spec = cc.get("spec") or {}
    ns = key.namespace
    workers: dict[str, tuple[Object, Object]] = {}
    for md_class in nested(spec, "workers", "machineDeployments") or []:
        name = str(md_class.get("class"))
        workers[name] = (await _template(scope, nested(md_class, "bootstrap", "templateRef"), ns,
                                         f"workers.machineDeployments[{name}].bootstrap"),
                         await _template(scope, nested(md_class, "infrastructure", "templateRef"), ns,
                                         f"workers.machineDeployments[{name}].infrastructure"))
    machine_ref = nested(spec, "controlPlane", "machineInfrastructure", "templateRef")
    return Blueprint(
        cluster_class=cc,
        infrastructure_cluster=await _template(scope, nested(spec, "infrastructure", "templateRef"), ns,
                                               "infrastructure"),
        control_plane=await _template(scope, nested(spec, "controlPlane", "templateRef"), ns, "controlPlane"),
        control_plane_machine=(await _template(scope, machine_ref, ns, "controlPlane.machineInfrastructure")
                               if machine_ref else None),
        workers=workers)


async def _referenced(scope: TopologyScope, ref: dict[str, Any] | None, like: Object | None) -> Object | None:
    """The object a contract reference `{apiGroup, kind, name}` names, read with the version of `like` (the
    class's template for it) when group and kind agree."""
    if not ref or not ref.get("name") or like is None:
        return None
    like_kind = str(like["kind"]).removesuffix("Template") if ref.get("kind") != like["kind"] else str(like["kind"])
    group, _, version = str(like["apiVersion"]).rpartition("/")
    if ref.get("kind") != like_kind or ref.get("apiGroup", group) != group:
        return None  # the class moved to another kind: the old object is replaced
    kind = await kind_of(scope, f"{group}/{version}", like_kind)
    return await scope.io.tracker.get(kind, scope.namespace, str(ref["name"]))


async def _unreferenced(scope: TopologyScope, template: Object) -> Object | None:
    """The object a previous reconcile made from the class's `template` for this Cluster but could not point the
    Cluster at (it stopped, or the Cluster's update failed, in between): found on the server by the topology's
    labels, as the cache may not have seen it yet. The oldest is kept; any others go to `scope.duplicates`."""
    kind = await kind_of(scope, str(template["apiVersion"]), str(template["kind"]).removesuffix("Template"))
    selector = f"{CLUSTER_NAME_LABEL}={scope.name},{CLUSTER_TOPOLOGY_OWNED_LABEL}"
    listed = await scope.io.client.list(kind, namespace=scope.namespace, label_selector=selector)
    found = sorted((obj for obj in listed.items if not obj["metadata"].get("deletionTimestamp")),
                   key=lambda obj: (str(obj["metadata"].get("creationTimestamp") or ""), obj["metadata"]["name"]))
    for obj in found:
        obj.setdefault("apiVersion", kind.api_version)
        obj.setdefault("kind", kind.kind)
    scope.duplicates += found[1:]
    return found[0] if found else None


async def _made_for_cluster(scope: TopologyScope, ref: dict[str, Any] | None, template: Object) -> Object | None:
    """The infrastructure cluster or control plane: the one the Cluster references or, while it references none,
    one made for it earlier (so that a new name is generated only when there is none)."""
    if ref and ref.get("name"):
        return await _referenced(scope, ref, template)
    return await _unreferenced(scope, template)


async def load_current(scope: TopologyScope, blueprint: Blueprint) -> None:
    """The managed objects that exist, and what the upgrade decisions need to know of them."""
    spec = scope.cluster.get("spec") or {}
    current = Current()
    current.infrastructure_cluster = await _made_for_cluster(scope, spec.get("infrastructureRef"),
                                                             blueprint.infrastructure_cluster)
    current.control_plane = await _made_for_cluster(scope, spec.get("controlPlaneRef"), blueprint.control_plane)
    current.control_plane_machine = await _referenced(
        scope, nested(current.control_plane or {}, "spec", "machineTemplate", "spec", "infrastructureRef"),
        blueprint.control_plane_machine)
    class_by_topology = {str(md.get("name")): str(md.get("class"))
                         for md in nested(spec, "topology", "workers", "machineDeployments") or []}
    for md in scope.io.cache.list(MACHINE_DEPLOYMENT, namespace=scope.namespace, label_selector=scope.owned_labels):
        topology_name = str(md["metadata"].get("labels", {}).get(CLUSTER_TOPOLOGY_MACHINE_DEPLOYMENT_NAME_LABEL, ""))
        if md["metadata"].get("deletionTimestamp") or not topology_name:
            continue
        part = CurrentMachineDeployment(md)
        worker_class = blueprint.workers.get(class_by_topology.get(topology_name, ""))
        if worker_class is not None:
            machine_spec = nested(md, "spec", "template", "spec") or {}
            part.bootstrap = await _referenced(scope, nested(machine_spec, "bootstrap", "configRef"), worker_class[0])
            part.infrastructure = await _referenced(scope, machine_spec.get("infrastructureRef"), worker_class[1])
        current.machine_deployments[topology_name] = part
    scope.current = current


def worker_states(scope: TopologyScope) -> dict[str, WorkerState]:
    """Each existing MachineDeployment, and whether some of its Machines run another version than it asks."""
    machines = by_cluster(scope.io.cache, MACHINE, ObjectKey(scope.namespace, scope.name), copy=False)
    states = {}
    for topology_name, part in scope.current.machine_deployments.items():
        md_name = part.md["metadata"]["name"]
        version = nested(part.md, "spec", "template", "spec", "version")
        upgrading = any(nested(m, "spec", "version") != version for m in machines
                        if (m["metadata"].get("labels") or {}).get(MACHINE_DEPLOYMENT_NAME_LABEL) == md_name)
        states[topology_name] = WorkerState(part.md, upgrading)
    return states
