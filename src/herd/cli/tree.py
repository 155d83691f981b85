"""The object tree `herd describe cluster` draws, built from objects already read (no I/O here).

The shape follows clusterctl's v1beta2 tree: the Cluster, then its infrastructure object, its control plane with the
control plane's Machines, a virtual "Workers" node with each MachineDeployment and its Machines, and a virtual
"Other" node for Machines nobody controls. A Machine's infrastructure machine and bootstrap config appear beneath it
only when they tell something new (their Ready is not True and differs from the Machine's), unless `echo` asks for
them always. Under a control plane or a MachineDeployment, Machines whose Available, Ready and UpToDate conditions have
the same status and reason collapse into one "N Machines..." node, unless `grouping` is off.

Where herd differs on purpose: a Machine that is being deleted, or whose Ready condition is not True, is never folded
into a group, so every blocked deletion and every stuck step keeps a row of its own that says what it waits for; nor
is one whose conditions --show-conditions asks for. An object being deleted shows its Deleting condition, which names
the finalizers still set when the object's controller has not said more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from herd.api.objects import nested

Object = dict[str, Any]
Condition = dict[str, Any]

CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"
NON_ZERO_SUFFIX = "+"  # `--show-conditions Machine+`: only the conditions that are not in their normal state
# Conditions whose normal state is False: for these True is the alarming status.
NEGATIVE_POLARITY = frozenset({"Paused", "Deleting", "RollingOut", "ScalingUp", "ScalingDown", "Updating",
                               "Remediating"})


@dataclass(frozen=True)
class DescribeOptions:
    show_conditions: str = ""  # "all", or a comma-separated list of Kind or Kind/name (a "+" suffix: non-zero only)
    grouping: bool = True
    echo: bool = False
    show_machine_sets: bool = False  # each MachineDeployment's MachineSets, with their Machines beneath them


@dataclass
class ClusterObjects:
    """Everything the tree is drawn from, as the API server returned it."""

    cluster: Object
    infrastructure: Object | None = None
    control_plane: Object | None = None
    machines: list[Object] = field(default_factory=list)
    machine_sets: list[Object] = field(default_factory=list)
    machine_deployments: list[Object] = field(default_factory=list)
    machine_infrastructure: dict[str, Object] = field(default_factory=dict)  # by Machine name
    bootstrap_configs: dict[str, Object] = field(default_factory=dict)  # by Machine name


@dataclass
class Group:
    """Alike siblings folded into one node: their names and how many are available, ready and up to date."""

    kind: str
    items: list[str]
    available: int = 0
    ready: int = 0
    up_to_date: int = 0


@dataclass(eq=False)  # nodes are compared by identity: two alike Machines are still two rows
class Node:
    """One row of the tree: an object, or a virtual node (Workers, Other, a group) when `obj` is None."""

    kind: str
    name: str
    namespace: str = ""
    obj: Object | None = None
    role: str = ""  # ClusterInfrastructure, ControlPlane, MachineInfrastructure, BootstrapConfig; a virtual name
    conditions: list[Condition] = field(default_factory=list)
    group: Group | None = None
    show_conditions: str = ""  # "", "all" or "nonzero"
    grouping: bool = False  # alike children are folded into groups
    children: list[Node] = field(default_factory=list)

    @property
    def deleting(self) -> bool:
        return bool(nested(self.obj, "metadata", "deletionTimestamp"))

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.get("type") == kind), None)

    def walk(self) -> Iterator[Node]:
        """This node and its descendants, depth first in the order they are printed."""
        yield self
        for child in ordered(self.children):
            yield from child.walk()


def row_name(node: Node) -> str:
    """What the NAME column says (tree prefix aside): "3 Machines...", "Workers", or "Kind ns/name[, version]"."""
    if node.group is not None:
        return f"{len(node.group.items)} {node.group.kind}s..."
    if node.obj is None:
        return node.role or node.name
    name = f"{node.kind} {node.namespace}/{node.name}" if node.namespace else f"{node.kind} {node.name}"
    version = object_version(node)
    if version:
        name += f", {version}"
    return f"!! DELETED !! {name}" if node.deleting else name


def object_version(node: Node) -> str:
    obj = node.obj
    if node.kind == "Cluster":
        return str(nested(obj, "spec", "topology", "version") or "")
    if node.role == "ControlPlane" or node.kind == "Machine":
        return str(nested(obj, "spec", "version") or "")
    if node.kind in ("MachineDeployment", "MachineSet"):
        return str(nested(obj, "spec", "template", "spec", "version") or "")
    return ""


def ordered(children: Iterable[Node]) -> list[Node]:
    return sorted(children, key=row_name)


def object_node(obj: Object, options: DescribeOptions, role: str = "") -> Node:
    meta = obj.get("metadata") or {}
    node = Node(kind=str(obj.get("kind", "")), name=str(meta.get("name", "")), namespace=str(meta.get("namespace", "")),
                obj=obj, role=role, conditions=conditions_with_deletion(obj))
    node.show_conditions = conditions_filter(node, options.show_conditions)
    return node


def conditions_with_deletion(obj: Object) -> list[Condition]:
    """The object's conditions; while it is being deleted, a Deleting condition that names what the deletion waits
    for (the finalizers still set, when the object's own Deleting condition says nothing)."""
    conditions = [dict(c) for c in nested(obj, "status", "conditions") or [] if isinstance(c, dict)]
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp"):
        return conditions
    finalizers = ", ".join(str(f) for f in meta.get("finalizers") or []) or "none"
    waiting = f"Waiting for finalizers: {finalizers}"
    deleting = next((c for c in conditions if c.get("type") == "Deleting"), None)
    if deleting is None or deleting.get("status") != "True":  # none yet, or not rewritten since the delete
        conditions = [c for c in conditions if c is not deleting]
        conditions.append({"type": "Deleting", "status": "True", "reason": "Deleting", "message": waiting,
                           "lastTransitionTime": meta["deletionTimestamp"]})
    elif not deleting.get("message"):
        deleting["message"] = waiting
    return conditions


def conditions_filter(node: Node, show: str) -> str:
    """Whether --show-conditions names this node: "all", "nonzero" (a "+" suffix) or ""."""
    for entry in filter(None, show.split(",")):
        nonzero = entry.endswith(NON_ZERO_SUFFIX)
        entry = entry.removesuffix(NON_ZERO_SUFFIX)
        kind, _, name = entry.partition("/")
        if entry.lower() == "all" or (kind.lower() == node.kind.lower()
                                      and (not name or name.lower() == node.name.lower())):
            return "nonzero" if nonzero else "all"
    return ""


def same_status_and_reason(a: Condition | None, b: Condition | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.get("status"), a.get("reason")) == (b.get("status"), b.get("reason"))


def alike(a: Node, b: Node) -> bool:
    """The same status and reason of Available, Ready and UpToDate (each, or none)."""
    return all(same_status_and_reason(a.condition(kind), b.condition(kind))
               for kind in ("Available", "Ready", "UpToDate"))


def groupable(node: Node) -> bool:
    """Only healthy objects fold: a deletion or a step that is stuck keeps its own row and message, and so does an
    object whose conditions --show-conditions asks for."""
    if node.group is not None:
        return True
    return not node.deleting and is_true(node.condition("Ready")) and not node.show_conditions


def is_true(condition: Condition | None) -> bool:
    return condition is not None and condition.get("status") == "True"


class TreeBuilder:
    """Adds nodes the way clusterctl's object tree does: echoes dropped, alike siblings folded into groups."""

    def __init__(self, options: DescribeOptions) -> None:
        self.options = options

    def add(self, parent: Node, child: Node, *, no_echo: bool = False, grouping: bool = False) -> bool:
        """Adds `child` under `parent`; True when it is a row of its own (not hidden, not folded into a group)."""
        if no_echo and not self.options.echo:
            ready = child.condition("Ready")
            if is_true(ready) or same_status_and_reason(parent.condition("Ready"), ready):
                return False
        if parent.grouping and groupable(child) and self.fold(parent, child):
            return False
        child.grouping = grouping and self.options.grouping
        parent.children.append(child)
        return True

    def fold(self, parent: Node, child: Node) -> bool:
        for sibling in sorted(parent.children, key=lambda s: s.kind):
            if not groupable(sibling) or not alike(child, sibling):
                continue
            if sibling.group is not None:
                if sibling.group.kind == child.kind:
                    join_group(sibling, child)
                    return True
                continue
            if sibling.kind != child.kind:
                continue
            parent.children[parent.children.index(sibling)] = new_group(sibling, child)
            return True
        return False


def new_group(first: Node, second: Node) -> Node:
    """A group of two alike nodes: their conditions without messages, Ready since the earlier of the two."""
    conditions = []
    for kind in ("Available", "Ready", "UpToDate"):
        condition = second.condition(kind)
        if condition is None:
            continue
        condition = {**condition, "message": ""}
        other = first.condition(kind)
        if kind == "Ready" and other is not None:
            condition["lastTransitionTime"] = min(str(condition.get("lastTransitionTime") or ""),
                                                  str(other.get("lastTransitionTime") or "")) or None
        elif kind != "Ready":
            condition.pop("lastTransitionTime", None)
        conditions.append(condition)
    group = Node(kind=f"{second.kind}Group", name="", namespace=second.namespace, conditions=conditions,
                 group=Group(kind=second.kind, items=[]))
    join_group(group, first)
    join_group(group, second)
    return group


def join_group(group_node: Node, member: Node) -> None:
    group = group_node.group
    assert group is not None
    group.items = sorted([*group.items, member.name])
    group.available += is_true(member.condition("Available"))
    group.ready += is_true(member.condition("Ready"))
    group.up_to_date += is_true(member.condition("UpToDate"))
    ready, member_ready = group_node.condition("Ready"), member.condition("Ready")
    if ready is not None and member_ready is not None and member_ready.get("lastTransitionTime"):
        ready["lastTransitionTime"] = min(filter(None, (ready.get("lastTransitionTime"),
                                                        member_ready["lastTransitionTime"])))


def controller_uid(obj: Object) -> str:
    refs = nested(obj, "metadata", "ownerReferences") or []
    return next((str(ref.get("uid")) for ref in refs if ref.get("controller")), "")


def uid(obj: Object) -> str:
    return str(nested(obj, "metadata", "uid") or "")


def by_name(objects: Iterable[Object]) -> list[Object]:
    return sorted(objects, key=lambda o: str(nested(o, "metadata", "name")))


def build_tree(objects: ClusterObjects, options: DescribeOptions) -> Node:
    """The tree for one Cluster: what clusterctl's discovery finds, from objects already read."""
    builder = TreeBuilder(options)
    root = object_node(objects.cluster, options)
    if objects.infrastructure is not None:
        builder.add(root, object_node(objects.infrastructure, options, "ClusterInfrastructure"))
    shown: set[str] = set()

    def add_machine(parent: Node, machine: Object) -> None:
        node = object_node(machine, options)
        shown.add(node.name)
        if not builder.add(parent, node):
            return
        for role, related in (("MachineInfrastructure", objects.machine_infrastructure),
                              ("BootstrapConfig", objects.bootstrap_configs)):
            if node.name in related:
                builder.add(node, object_node(related[node.name], options, role), no_echo=True)

    machines = by_name(objects.machines)
    control_plane_machines = [m for m in machines if CONTROL_PLANE_LABEL in (nested(m, "metadata", "labels") or {})]
    if objects.control_plane is not None:
        control_plane = object_node(objects.control_plane, options, "ControlPlane")
        builder.add(root, control_plane, grouping=True)
        for machine in control_plane_machines:
            add_machine(control_plane, machine)
    workers = Node(kind="WorkerGroup", name="Workers", namespace=root.namespace, role="Workers")
    if len(machines) != len(control_plane_machines):
        builder.add(root, workers)
        for deployment in by_name(objects.machine_deployments):
            deployment_node = object_node(deployment, options)
            builder.add(workers, deployment_node, grouping=not options.show_machine_sets)
            for machine_set in by_name(s for s in objects.machine_sets if controller_uid(s) == uid(deployment)):
                parent = deployment_node
                if options.show_machine_sets:
                    parent = object_node(machine_set, options)
                    builder.add(deployment_node, parent, grouping=True)
                for machine in machines:
                    if controller_uid(machine) == uid(machine_set):
                        add_machine(parent, machine)
    orphans = [m for m in machines if str(nested(m, "metadata", "name")) not in shown]
    if orphans:  # e.g. a hand-written control-plane Machine with no control plane object
        if workers not in root.children:
            builder.add(root, workers)
        other = Node(kind="OtherGroup", name="Other", namespace=root.namespace, role="Other")
        builder.add(workers, other)
        for machine in orphans:
            add_machine(other, machine)
    return root
