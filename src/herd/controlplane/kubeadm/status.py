"""The KubeadmControlPlane's replica counters, version, selector and v1beta2 conditions, computed from a
ControlPlaneScope. Pure: no I/O."""

from __future__ import annotations

from herd.api.controlplane import kubeadmcontrolplane as api
from herd.contract import conditions as cond
from herd.runtime.conditions import Condition, get_condition, is_true

from . import health
from .scope import ControlPlaneScope

A = api  # the condition and reason names are long; `A.` keeps the table below readable
MACHINES_READY = cond.Reasons(A.KUBEADM_CONTROL_PLANE_MACHINES_NOT_READY_REASON,
                              A.KUBEADM_CONTROL_PLANE_MACHINES_READY_UNKNOWN_REASON,
                              A.KUBEADM_CONTROL_PLANE_MACHINES_READY_REASON)
MACHINES_UP_TO_DATE = cond.Reasons(A.KUBEADM_CONTROL_PLANE_MACHINES_NOT_UP_TO_DATE_REASON,
                                   A.KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_UNKNOWN_REASON,
                                   A.KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_REASON)


def update_status(scope: ControlPlaneScope) -> None:
    """Everything the controller reports (Paused is set by the skeleton, which knows the Cluster)."""
    set_counters(scope)
    for condition in (initialized_condition(scope), certificates_condition(scope), etcd_condition(scope),
                      components_condition(scope), machines_ready_condition(scope),
                      machines_up_to_date_condition(scope), rolling_out_condition(scope), scaling_up_condition(scope),
                      scaling_down_condition(scope), remediating_condition(scope), deleting_condition(scope)):
        if condition is not None:
            cond.apply(scope.kcp, condition)
    cond.apply(scope.kcp, available_condition(scope))


def set_counters(scope: ControlPlaneScope) -> None:
    machines = scope.machines
    status = scope.status
    status["replicas"] = len(machines)
    status["readyReplicas"] = sum(1 for m in machines if is_true(m, "Ready"))
    status["availableReplicas"] = sum(1 for m in machines if is_true(m, "Available"))
    status["upToDateReplicas"] = len([m for m in machines if m["metadata"]["name"] not in scope.outdated])
    status["selector"] = f"cluster.x-k8s.io/cluster-name={scope.cluster_name},cluster.x-k8s.io/control-plane"
    versions = sorted({str((m.get("spec") or {}).get("version") or "") for m in machines} - {""},
                      key=_version_key)
    if versions:
        status["version"] = versions[0]


def _version_key(version: str) -> tuple[int, ...]:
    parts = version.lstrip("v").split("+")[0].split("-")[0].split(".")
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


def initialized_condition(scope: ControlPlaneScope) -> Condition:
    if scope.initialized:
        return cond.condition(A.KUBEADM_CONTROL_PLANE_INITIALIZED_CONDITION, "True",
                              A.KUBEADM_CONTROL_PLANE_INITIALIZED_REASON)
    return cond.condition(A.KUBEADM_CONTROL_PLANE_INITIALIZED_CONDITION, "False",
                          A.KUBEADM_CONTROL_PLANE_NOT_INITIALIZED_REASON, "Control plane not yet initialized")


def certificates_condition(scope: ControlPlaneScope) -> Condition | None:
    if scope.certificates_error is None:
        return None
    if scope.certificates_error:
        return cond.condition(A.KUBEADM_CONTROL_PLANE_CERTIFICATES_AVAILABLE_CONDITION, "False",
                              A.KUBEADM_CONTROL_PLANE_CERTIFICATES_NOT_AVAILABLE_REASON, scope.certificates_error)
    return cond.condition(A.KUBEADM_CONTROL_PLANE_CERTIFICATES_AVAILABLE_CONDITION, "True",
                          A.KUBEADM_CONTROL_PLANE_CERTIFICATES_AVAILABLE_REASON)


def etcd_problems(scope: ControlPlaneScope) -> list[str] | None:
    """What is wrong with etcd (empty: healthy; None: not known)."""
    view = scope.view
    if view is None or not view.reachable or view.etcd is None:
        return None
    etcd = view.etcd
    problems: list[str] = []
    nodes = {n: m["metadata"]["name"] for m in scope.machines if (n := scope.node_name(m))}
    for node, machine in sorted(nodes.items()):
        if not etcd.healthy(node):
            problems.append(f"Machine {machine}: " + (etcd.failures.get(node) or "etcd member not healthy"))
    for member in etcd.members:
        if member.name not in nodes:
            problems.append(f"Etcd member {member.name or member.id} does not have a corresponding Machine")
    if etcd.disagreement:
        problems.append(etcd.disagreement)
    problems.extend(f"Alarm {alarm}" for alarm in etcd.alarms)
    return problems


def etcd_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_CONDITION
    problems = etcd_problems(scope)
    if problems is None:
        message = scope.view.error if scope.view is not None and scope.view.error else "Etcd not inspected yet"
        return cond.condition(type_, "Unknown", A.KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTH_UNKNOWN_REASON, message)
    if problems:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_NOT_HEALTHY_REASON,
                              "\n".join(f"* {p}" for p in problems))
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_ETCD_CLUSTER_HEALTHY_REASON)


def components_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTHY_CONDITION
    if scope.view is None or not scope.view.reachable or not scope.machine_conditions:
        message = scope.view.error if scope.view is not None and scope.view.error else "Not inspected yet"
        return cond.condition(type_, "Unknown", A.KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTH_UNKNOWN_REASON,
                              message)
    bad: list[str] = []
    unknown = False
    for name, conditions in sorted(scope.machine_conditions.items()):
        pods = [c for c in conditions if c["type"] in health.POD_CONDITIONS.values()]
        failing = [c["type"] for c in pods if c.get("status") == "False"]
        unknown = unknown or any(c.get("status") == "Unknown" for c in pods)
        if failing:
            bad.append(f"Machine {name}: {', '.join(failing)} not healthy")
    if bad:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_NOT_HEALTHY_REASON,
                              "\n".join(f"* {b}" for b in bad))
    if unknown:
        return cond.condition(type_, "Unknown", A.KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTH_UNKNOWN_REASON,
                              "Some control plane components are still starting")
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_CONTROL_PLANE_COMPONENTS_HEALTHY_REASON)


def machines_ready_condition(scope: ControlPlaneScope) -> Condition:
    if not scope.machines:
        return cond.condition(A.KUBEADM_CONTROL_PLANE_MACHINES_READY_CONDITION, "True",
                              A.KUBEADM_CONTROL_PLANE_MACHINES_READY_NO_REPLICAS_REASON)
    return cond.aggregate(scope.machines, "Ready", A.KUBEADM_CONTROL_PLANE_MACHINES_READY_CONDITION,
                          reasons=MACHINES_READY)


def machines_up_to_date_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_CONDITION
    if not scope.machines:
        return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_NO_REPLICAS_REASON)
    outdated = sorted(scope.outdated)
    if outdated:
        noun = "Machine" if len(outdated) == 1 else "Machines"
        verb = "is" if len(outdated) == 1 else "are"
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_MACHINES_NOT_UP_TO_DATE_REASON,
                              f"* {noun} {', '.join(outdated)} {verb} not up-to-date")
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_MACHINES_UP_TO_DATE_REASON)


def rolling_out_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_ROLLING_OUT_CONDITION
    outdated = [m for m in scope.live_machines if m["metadata"]["name"] in scope.outdated]
    if not outdated:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_ROLLING_OUT_REASON)
    reasons = sorted({r for m in outdated for r in scope.outdated[m["metadata"]["name"]]})
    noun = "replica" if len(outdated) == 1 else "replicas"
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_ROLLING_OUT_REASON,
                          f"Rolling out {len(outdated)} not up-to-date {noun}\n" + "\n".join(f"* {r}" for r in reasons))


def scaling_up_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_SCALING_UP_CONDITION
    current, desired = len(scope.machines), 0 if scope.deleting else scope.replicas
    if current >= desired and not scope.scale_up_blockers:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_SCALING_UP_REASON)
    message = f"Scaling up from {current} to {desired} replicas" if current < desired else "Adding a replica"
    if scope.scale_up_blockers:
        message += " is blocked because:\n" + "\n".join(f"* {b}" for b in scope.scale_up_blockers)
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_SCALING_UP_REASON, message)


def scaling_down_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_SCALING_DOWN_CONDITION
    current, desired = len(scope.machines), 0 if scope.deleting else scope.replicas
    if current <= desired and not scope.scale_down_blockers:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_SCALING_DOWN_REASON)
    message = f"Scaling down from {current} to {desired} replicas" if current > desired else "Removing a replica"
    if scope.scale_down_blockers:
        message += " is blocked because:\n" + "\n".join(f"* {b}" for b in scope.scale_down_blockers)
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_SCALING_DOWN_REASON, message)


def remediating_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_REMEDIATING_CONDITION
    if not scope.remediating:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_REMEDIATING_REASON)
    details = []
    for machine in scope.machines:
        if machine["metadata"]["name"] in scope.remediating:
            owner = get_condition(machine, "OwnerRemediated") or {}
            details.append(f"* Machine {machine['metadata']['name']}: {owner.get('message') or 'Remediation pending'}")
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_REMEDIATING_REASON, "\n".join(details))


def deleting_condition(scope: ControlPlaneScope) -> Condition:
    type_ = A.KUBEADM_CONTROL_PLANE_DELETING_CONDITION
    if not scope.deleting:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_DELETING_REASON)
    reason, message = scope.deleting_message or (A.KUBEADM_CONTROL_PLANE_DELETING_DELETION_COMPLETED_REASON, "")
    return cond.condition(type_, "True", reason, message)


def available_condition(scope: ControlPlaneScope) -> Condition:
    """Available: initialized, certificates there, etcd with a quorum, at least one Machine with healthy
    components; not while deleting."""
    type_ = A.KUBEADM_CONTROL_PLANE_AVAILABLE_CONDITION
    missing: list[str] = []
    if scope.deleting:
        missing.append("Control plane is being deleted")
    if not scope.initialized:
        missing.append("Control plane not yet initialized")
    if scope.certificates_error:
        missing.append("Cluster certificates are not available")
    view = scope.view
    if view is None or not view.reachable:
        missing.append(view.error if view is not None and view.error else "Workload cluster not inspected yet")
    else:
        healthy = [n for n, c in scope.machine_conditions.items()
                   if health.components_healthy(c, external_etcd=scope.external_etcd)]
        if not healthy:
            missing.append("No Machine with healthy control plane components")
        etcd = view.etcd
        if etcd is not None and etcd.members:
            good = sum(1 for m in etcd.members if etcd.healthy(m.name))
            if good < len(etcd.members) // 2 + 1:
                missing.append(f"Etcd has {good} healthy members of {len(etcd.members)}: no quorum")
    if missing:
        return cond.condition(type_, "False", A.KUBEADM_CONTROL_PLANE_NOT_AVAILABLE_REASON,
                              "\n".join(f"* {m}" for m in missing))
    return cond.condition(type_, "True", A.KUBEADM_CONTROL_PLANE_AVAILABLE_REASON)
