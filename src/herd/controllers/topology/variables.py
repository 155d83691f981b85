"""The values ClusterClass patches read: the Cluster's variables (with per control plane / MachineDeployment
overrides and the class's defaults) and the `builtin` variables describing the Cluster being built."""

from __future__ import annotations

import copy
import re
from typing import Any

from herd.api.objects import nested
from herd.runtime import Object

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class VariableError(ValueError):
    """A variable a patch needs is missing, or a path into it leads nowhere."""


def lookup(values: dict[str, Any], path: str) -> Any:
    """The value at a variable path: `name`, `name.field`, `name[0].field`; raises VariableError."""
    value: Any = values
    walked = ""
    for match in _PATH_PART.finditer(path):
        key, index = match.group(1), match.group(2)
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                raise VariableError(f"variable {path!r}: {walked + key!r} is not set" if walked
                                    else f"variable {key!r} is not set")
            value = value[key]
            walked += key + "."
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                raise VariableError(f"variable {path!r}: index {index} out of range")
            value = value[int(index)]
    return copy.deepcopy(value)


def class_defaults(cluster_class: Object) -> dict[str, Any]:
    """The top-level `default` of each variable the class declares (what the Cluster webhook would fill in)."""
    defaults: dict[str, Any] = {}
    for variable in nested(cluster_class, "spec", "variables") or []:
        schema = nested(variable, "schema", "openAPIV3Schema") or {}
        if "default" in schema:
            defaults[str(variable["name"])] = copy.deepcopy(schema["default"])
    return defaults


def _values(items: Any) -> dict[str, Any]:
    return {str(v["name"]): copy.deepcopy(v.get("value")) for v in items or [] if isinstance(v, dict) and "name" in v}


def cluster_values(cluster: Object, cluster_class: Object) -> dict[str, Any]:
    """The Cluster's variables (`spec.topology.variables`) over the class's defaults."""
    return {**class_defaults(cluster_class), **_values(nested(cluster, "spec", "topology", "variables"))}


def with_overrides(values: dict[str, Any], topology_part: dict[str, Any] | None) -> dict[str, Any]:
    """`values` with the overrides of one part of the topology (control plane or a MachineDeployment)."""
    return {**values, **_values(nested(topology_part or {}, "variables", "overrides"))}


def _metadata(part: dict[str, Any] | None) -> dict[str, Any]:
    meta = (part or {}).get("metadata") or {}
    return {k: dict(meta[k]) for k in ("labels", "annotations") if meta.get(k)}


def cluster_builtins(cluster: Object, control_plane: dict[str, Any]) -> dict[str, Any]:
    """`builtin.cluster` and `builtin.controlPlane`, which every patch may read.

    `control_plane` holds the desired control plane's `version`, `name`, `replicas` and
    `machineTemplateName` (the cloned machine template), as far as they are known."""
    meta = cluster["metadata"]
    topology = nested(cluster, "spec", "topology") or {}
    network = nested(cluster, "spec", "clusterNetwork") or {}
    built: dict[str, Any] = {
        "name": meta["name"], "namespace": meta.get("namespace", ""), "uid": meta.get("uid", ""),
        "topology": {"version": topology.get("version", ""), "class": nested(topology, "classRef", "name") or "",
                     "classNamespace": nested(topology, "classRef", "namespace") or meta.get("namespace", "")},
    }
    if _metadata(cluster):
        built["metadata"] = _metadata(cluster)
    net = {"serviceDomain": network.get("serviceDomain"), "services": nested(network, "services", "cidrBlocks"),
           "pods": nested(network, "pods", "cidrBlocks")}
    if any(v is not None for v in net.values()):
        built["network"] = {k: v for k, v in net.items() if v is not None}
    cp: dict[str, Any] = {"version": control_plane.get("version", ""), "name": control_plane.get("name", "")}
    if control_plane.get("replicas") is not None:
        cp["replicas"] = control_plane["replicas"]
    if _metadata(topology.get("controlPlane")):
        cp["metadata"] = _metadata(topology.get("controlPlane"))
    if control_plane.get("machineTemplateName"):
        cp["machineTemplate"] = {"infrastructureRef": {"name": control_plane["machineTemplateName"]}}
    return {"cluster": built, "controlPlane": cp}


def machine_deployment_builtins(md_topology: dict[str, Any], *, name: str, version: str, bootstrap_name: str,
                                infrastructure_name: str) -> dict[str, Any]:
    """`builtin.machineDeployment` for the templates of one MachineDeployment."""
    built: dict[str, Any] = {"version": version, "class": md_topology.get("class", ""), "name": name,
                             "topologyName": md_topology.get("name", ""),
                             "bootstrap": {"configRef": {"name": bootstrap_name}},
                             "infrastructureRef": {"name": infrastructure_name}}
    if md_topology.get("replicas") is not None:
        built["replicas"] = md_topology["replicas"]
    if _metadata(md_topology):
        built["metadata"] = _metadata(md_topology)
    return built
