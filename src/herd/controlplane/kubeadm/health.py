"""Per-Machine health of a control plane, from one look at the workload cluster (pure): the conditions the
KubeadmControlPlane writes on each of its Machines, which its readiness gates and its own status read."""

from __future__ import annotations

from herd.api.controlplane import kubeadmcontrolplane as api
from herd.api.objects import nested
from herd.contract import conditions as cond
from herd.runtime import Object
from herd.runtime.conditions import Condition, get_condition

from .workload import WorkloadView

POD_CONDITIONS = {
    "kube-apiserver": api.KUBEADM_CONTROL_PLANE_MACHINE_API_SERVER_POD_HEALTHY_CONDITION,
    "kube-controller-manager": api.KUBEADM_CONTROL_PLANE_MACHINE_CONTROLLER_MANAGER_POD_HEALTHY_CONDITION,
    "kube-scheduler": api.KUBEADM_CONTROL_PLANE_MACHINE_SCHEDULER_POD_HEALTHY_CONDITION,
    "etcd": api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_POD_HEALTHY_CONDITION,
}
ETCD_MEMBER = api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_HEALTHY_CONDITION
NODE_LABELS_AND_TAINTS = "NodeKubeadmLabelsAndTaintsSet"
HEALTH_CONDITIONS = (*POD_CONDITIONS.values(), ETCD_MEMBER)
READINESS_GATES = (*HEALTH_CONDITIONS, NODE_LABELS_AND_TAINTS)
ETCD_CONDITIONS = (POD_CONDITIONS["etcd"], ETCD_MEMBER)
CONTROL_PLANE_ROLE_LABEL = "node-role.kubernetes.io/control-plane"


def gates(external_etcd: bool) -> tuple[str, ...]:
    """The conditions the control plane reports on each Machine (no etcd ones when etcd is external)."""
    return tuple(t for t in READINESS_GATES if not (external_etcd and t in ETCD_CONDITIONS))


def health_conditions(external_etcd: bool) -> tuple[str, ...]:
    """The conditions that make a Machine's control plane components healthy."""
    return tuple(t for t in HEALTH_CONDITIONS if not (external_etcd and t in ETCD_CONDITIONS))


def machine_conditions(machine: Object, view: WorkloadView | None, *, external_etcd: bool = False) -> list[Condition]:
    """APIServerPodHealthy, ControllerManagerPodHealthy, SchedulerPodHealthy, EtcdPodHealthy, EtcdMemberHealthy
    and NodeKubeadmLabelsAndTaintsSet for one Machine (without the etcd ones when etcd is external)."""
    return [c for c in _machine_conditions(machine, view) if c["type"] in gates(external_etcd)]


def _machine_conditions(machine: Object, view: WorkloadView | None) -> list[Condition]:
    node = nested(machine, "status", "nodeRef", "name")
    if machine["metadata"].get("deletionTimestamp"):
        return [cond.condition(t, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_DELETING_REASON,
                               "Machine is deleting") for t in READINESS_GATES]
    if view is None or not view.reachable:
        message = view.error if view is not None else "Remote connection not established yet"
        return [cond.condition(t, "Unknown", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_CONNECTION_DOWN_REASON, message)
                for t in READINESS_GATES]
    if not node:
        return [cond.condition(t, "Unknown", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_PROVISIONING_REASON,
                               "Waiting for the Machine's Node") for t in READINESS_GATES]
    found = [pod_condition(type_, view.pods.get(f"{component}-{node}"))
             for component, type_ in POD_CONDITIONS.items()]
    found.append(etcd_member_condition(str(node), view))
    found.append(node_condition(view.nodes.get(str(node))))
    return found


def pod_condition(type_: str, pod: Object | None) -> Condition:
    if pod is None:
        return cond.condition(type_, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_DOES_NOT_EXIST_REASON,
                              "Pod does not exist")
    phase = nested(pod, "status", "phase")
    ready = get_condition(pod, "Ready")
    if phase == "Running" and ready is not None and ready.get("status") == "True":
        return cond.condition(type_, "True", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_RUNNING_REASON)
    if phase in (None, "Pending"):
        return cond.condition(type_, "Unknown", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_PROVISIONING_REASON,
                              "Pod is provisioning")
    detail = (ready or {}).get("message") or "Pod is not ready"
    return cond.condition(type_, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_POD_FAILED_REASON, str(detail))


def etcd_member_condition(node: str, view: WorkloadView) -> Condition:
    etcd = view.etcd
    if etcd is None:
        return cond.condition(ETCD_MEMBER, "Unknown",
                              api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_INSPECTION_FAILED_REASON,
                              "etcd was not inspected (the etcd CA is not available)")
    if node in etcd.failures:
        return cond.condition(ETCD_MEMBER, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_NOT_HEALTHY_REASON,
                              f"Etcd member on Node {node} does not answer: {etcd.failures[node]}")
    if etcd.member(node) is None:
        return cond.condition(ETCD_MEMBER, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_NOT_HEALTHY_REASON,
                              f"Etcd has no member named {node}")
    status = etcd.statuses.get(node)
    if status is not None and status.errors:
        return cond.condition(ETCD_MEMBER, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_NOT_HEALTHY_REASON,
                              "Etcd member reports: " + "; ".join(status.errors))
    if etcd.alarms:
        return cond.condition(ETCD_MEMBER, "False", api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_NOT_HEALTHY_REASON,
                              "Etcd alarms: " + ", ".join(etcd.alarms))
    return cond.condition(ETCD_MEMBER, "True", api.KUBEADM_CONTROL_PLANE_MACHINE_ETCD_MEMBER_HEALTHY_REASON)


def node_condition(node: Object | None) -> Condition:
    if node is None:
        return cond.condition(NODE_LABELS_AND_TAINTS, "Unknown", "NodeDoesNotExist", "The Node does not exist")
    labels = nested(node, "metadata", "labels") or {}
    if CONTROL_PLANE_ROLE_LABEL not in labels:
        return cond.condition(NODE_LABELS_AND_TAINTS, "False", "NotSet",
                              f"The Node lacks the {CONTROL_PLANE_ROLE_LABEL} label kubeadm sets")
    return cond.condition(NODE_LABELS_AND_TAINTS, "True", "Set")


def components_healthy(conditions: list[Condition], *, external_etcd: bool = False) -> bool:
    """Whether every pod and (stacked) the etcd member of one Machine are healthy."""
    healthy = {c["type"] for c in conditions if c.get("status") == "True"}
    return all(t in healthy for t in health_conditions(external_etcd))


def components_failing(conditions: list[Condition], *, external_etcd: bool = False) -> bool:
    """Whether any pod or (stacked) the etcd member of one Machine is reported unhealthy (False)."""
    required = health_conditions(external_etcd)
    return any(c.get("status") == "False" and c["type"] in required for c in conditions)
