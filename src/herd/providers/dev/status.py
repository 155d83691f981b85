"""Conditions and status of DevClusters, DevMachines and simulated Nodes: pure functions, no I/O.

The phases observe how far a machine got (a `MachineProgress`); `set_machine_conditions` turns that into the
inMemory backend's conditions (VMProvisioned, NodeProvisioned, EtcdProvisioned, APIServerProvisioned) and the
Ready summary, with upstream's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from herd.api.infrastructure import devcluster as dc
from herd.api.infrastructure import devmachine as dm
from herd.api.infrastructure.dev_types import DELETING_REASON
from herd.providersdk import contract
from herd.providersdk.contract import mark_provisioned
from herd.providersdk.contract import set_failure_domains as set_failure_domains  # the DevCluster's, as the SDK's
from herd.runtime import Object, conditions

# Reasons of the inMemory backend that upstream has no constant for.
VM_GONE_REASON = "VMGone"
NODE_WAITING_FOR_API_SERVER_REASON = "WaitingForAPIServer"
API_SERVER_DOWN_REASON = "APIServerDown"

StageState = Literal["pending", "starting", "waiting", "done", "failed"]
WaitingFor = Literal["cluster-infrastructure", "control-plane-initialized", "bootstrap-data"]

_WAITING = {
    "cluster-infrastructure": (dm.DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_CLUSTER_INFRASTRUCTURE_REASON,
                               "Waiting for the cluster infrastructure (DevCluster) to be provisioned"),
    "control-plane-initialized": (dm.DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_CONTROL_PLANE_INITIALIZED_REASON,
                                  "Waiting for the control plane to be initialized"),
    "bootstrap-data": (dm.DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_BOOTSTRAP_DATA_REASON,
                       "Waiting for the bootstrap provider to set the Machine's bootstrap data"),
}


@dataclass(frozen=True)
class Stage:
    """How far one simulated component got; `reason` overrides the one derived from the state."""

    state: StageState = "pending"
    message: str = ""
    reason: str | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass(frozen=True)
class MachineProgress:
    """What the phases observed about a DevMachine, the input of `set_machine_conditions`."""

    waiting_for: WaitingFor | None = None
    control_plane: bool = False
    vm: Stage = Stage()
    node: Stage = Stage()
    etcd: Stage = Stage()
    api_server: Stage = Stage()
    deleting: bool = False


def set_devcluster_provisioned(devcluster: Object, endpoint: str) -> None:
    """The simulated endpoint is allocated: the cluster infrastructure is provisioned and Ready."""
    mark_provisioned(devcluster)
    conditions.set_condition(devcluster, dc.DEV_CLUSTER_READY_CONDITION, True, dc.DEV_CLUSTER_READY_REASON,
                             f"The simulated control plane endpoint is {endpoint}")


def set_devcluster_deleting(devcluster: Object) -> None:
    conditions.set_condition(devcluster, dc.DEV_CLUSTER_READY_CONDITION, False, DELETING_REASON,
                             "The DevCluster is being deleted")


def set_machine_provisioned(devmachine: Object, provider_id: str, hostname: str, address: str) -> None:
    """The VM is up: providerID, addresses and initialization.provisioned, as the infrastructure contract asks."""
    contract.set_machine_provisioned(devmachine, provider_id, [{"type": "InternalIP", "address": address},
                                                               {"type": "Hostname", "address": hostname}])


def set_machine_conditions(devmachine: Object, progress: MachineProgress) -> None:
    """Set the inMemory conditions and Ready from what the phases observed."""
    vm = _vm_condition(progress)
    node = _node_condition(progress)
    summary = [(dm.DEV_MACHINE_IN_MEMORY_VM_PROVISIONED_CONDITION, *vm),
               (dm.DEV_MACHINE_IN_MEMORY_NODE_PROVISIONED_CONDITION, *node)]
    if progress.control_plane:
        summary.append((dm.DEV_MACHINE_IN_MEMORY_ETCD_PROVISIONED_CONDITION,
                        *_static_pod_condition(progress, progress.etcd, "etcd member")))
        summary.append((dm.DEV_MACHINE_IN_MEMORY_API_SERVER_PROVISIONED_CONDITION,
                        *_static_pod_condition(progress, progress.api_server, "API server")))
    else:
        conditions.delete_condition(devmachine, dm.DEV_MACHINE_IN_MEMORY_ETCD_PROVISIONED_CONDITION)
        conditions.delete_condition(devmachine, dm.DEV_MACHINE_IN_MEMORY_API_SERVER_PROVISIONED_CONDITION)
    for condition_type, status, reason, message in summary:
        conditions.set_condition(devmachine, condition_type, status, reason, message)
    if progress.deleting:
        conditions.set_condition(devmachine, dm.DEV_MACHINE_READY_CONDITION, False, DELETING_REASON,
                                 "The DevMachine is being deleted")
        return
    not_true = [(t, m or r) for t, s, r, m in summary if not s]
    if not not_true:
        conditions.set_condition(devmachine, dm.DEV_MACHINE_READY_CONDITION, True, dm.DEV_MACHINE_READY_REASON)
    else:
        message = "\n".join(f"* {t}: {m}" for t, m in not_true)
        conditions.set_condition(devmachine, dm.DEV_MACHINE_READY_CONDITION, False,
                                 dm.DEV_MACHINE_NOT_READY_REASON, message)


_Condition = tuple[bool, str, str]


def _vm_condition(progress: MachineProgress) -> _Condition:
    if progress.waiting_for is not None:
        reason, message = _WAITING[progress.waiting_for]
        return False, reason, message
    vm = progress.vm
    if vm.done:
        return True, dm.DEV_MACHINE_IN_MEMORY_VM_PROVISIONED_REASON, ""
    if vm.state == "failed":
        return False, vm.reason or dm.DEV_MACHINE_IN_MEMORY_VM_INTERNAL_ERROR_REASON, vm.message
    return False, vm.reason or dm.DEV_MACHINE_IN_MEMORY_VM_WAITING_FOR_STARTUP_TIMEOUT_REASON, \
        vm.message or "Waiting for the VM to start"


def _node_condition(progress: MachineProgress) -> _Condition:
    node = progress.node
    if progress.waiting_for is not None or not progress.vm.done:
        return False, dm.DEV_MACHINE_IN_MEMORY_NODE_WAITING_FOR_VM_PROVISIONED_REASON, "Waiting for the VM"
    if node.done:
        return True, dm.DEV_MACHINE_IN_MEMORY_NODE_PROVISIONED_REASON, ""
    if node.state == "failed":
        return False, node.reason or dm.DEV_MACHINE_IN_MEMORY_NODE_INTERNAL_ERROR_REASON, node.message
    if node.state == "waiting":
        return False, node.reason or NODE_WAITING_FOR_API_SERVER_REASON, \
            node.message or "The kubelet is waiting for the API server to register the Node"
    return False, node.reason or dm.DEV_MACHINE_IN_MEMORY_NODE_WAITING_FOR_STARTUP_TIMEOUT_REASON, \
        node.message or "Waiting for the kubelet to start"


def _static_pod_condition(progress: MachineProgress, stage: Stage, what: str) -> _Condition:
    # etcd and the API server are static pods: the kubelet starts them, so they wait for it. Both conditions use
    # the same reason strings, so the API server's constants serve for etcd too.
    if progress.waiting_for is not None or not progress.vm.done:
        return False, dm.DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_VM_PROVISIONED_REASON, "Waiting for the VM"
    if stage.done:
        return True, dm.DEV_MACHINE_IN_MEMORY_API_SERVER_PROVISIONED_REASON, ""
    if stage.state == "failed":
        return False, stage.reason or dm.DEV_MACHINE_IN_MEMORY_API_SERVER_INTERNAL_ERROR_REASON, stage.message
    if stage.state == "pending":
        return False, dm.DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_NODE_PROVISIONED_REASON, \
            stage.message or "Waiting for the kubelet to start"
    return False, stage.reason or dm.DEV_MACHINE_IN_MEMORY_API_SERVER_WAITING_FOR_STARTUP_TIMEOUT_REASON, \
        stage.message or f"Waiting for the {what} to start"


# ----- simulated Nodes -----------------------------------------------------------------------------------------

_PRESSURE = (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
             ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
             ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
_READY = {"True": ("KubeletReady", "kubelet is posting ready status"),
          "False": ("KubeletNotReady", "container runtime is down (fault injected with herd.dev/fail=node-not-ready)")}
_UNKNOWN = ("NodeStatusUnknown", "Kubelet stopped posting node status.")


def node_conditions(previous: list[dict[str, Any]], ready: str, now: datetime) -> list[dict[str, Any]]:
    """A Node's conditions after one kubelet heartbeat reporting `ready` ("True", "False" or "Unknown").

    Unknown is what the node lifecycle controller posts for a silent kubelet: every condition Unknown, the last
    heartbeat time kept. `lastTransitionTime` moves only when a condition's status changes.
    """
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # NodeCondition times are whole seconds
    before = {c.get("type"): c for c in previous if isinstance(c, dict)}
    wanted: list[tuple[str, str, str, str]] = []
    for condition_type, reason, message in _PRESSURE:
        wanted.append((condition_type, "Unknown", *_UNKNOWN) if ready == "Unknown"
                      else (condition_type, "False", reason, message))
    wanted.append(("Ready", "Unknown", *_UNKNOWN) if ready == "Unknown" else ("Ready", ready, *_READY[ready]))
    out: list[dict[str, Any]] = []
    for condition_type, status, reason, message in wanted:
        old = before.get(condition_type) or {}
        same = old.get("status") == status
        heartbeat = (old.get("lastHeartbeatTime") or stamp) if ready == "Unknown" else stamp
        transition = (old.get("lastTransitionTime") or stamp) if same else stamp
        out.append({"type": condition_type, "status": status, "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": transition,
                    "reason": reason, "message": message})
    return out
