"""KubeadmControlPlane objects, Machines, workload views and scopes for the control plane's pure functions: a
control plane `cp` of cluster `prod` at v1.31.0 whose Machines are named after their Nodes' `node-<machine>`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from herd.api.objects import rfc3339
from herd.controlplane.kubeadm.etcd import EtcdMember, EtcdStatus
from herd.controlplane.kubeadm.health import HEALTH_CONDITIONS, NODE_LABELS_AND_TAINTS
from herd.controlplane.kubeadm.scope import ControlPlaneScope
from herd.controlplane.kubeadm.workload import EtcdView, WorkloadView

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
VERSION = "v1.31.0"
CLUSTER = "prod"
INFRA_GROUP = "infrastructure.cluster.x-k8s.io"
INFRA_TEMPLATE = "cp-v1"


def at(**delta: float) -> str:
    """NOW moved by the given timedelta arguments, as Kubernetes writes times (`at(hours=-1)`: an hour ago)."""
    return rfc3339(NOW + timedelta(**delta))


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `patch` merged in as a JSON merge patch does (None removes a key)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def kcp(spec: dict[str, Any] | None = None, *, initialized: bool = True, annotations: dict[str, str] | None = None,
        deleting: bool = False) -> dict[str, Any]:
    """The KubeadmControlPlane `cp` (3 replicas, v1.31.0, infrastructure from DevMachineTemplate cp-v1), with
    `spec` merged into its spec."""
    base = {
        "replicas": 3, "version": VERSION,
        "machineTemplate": {"spec": {"infrastructureRef": {"apiGroup": INFRA_GROUP, "kind": "DevMachineTemplate",
                                                           "name": INFRA_TEMPLATE}}},
        "kubeadmConfigSpec": {
            "clusterConfiguration": {"apiServer": {"extraArgs": [{"name": "audit-log-maxage", "value": "7"}]},
                                     "dns": {"imageTag": "v1.11.1"}},
            "initConfiguration": {"nodeRegistration": {"name": "{{ ds.meta_data.local_hostname }}"}},
            "joinConfiguration": {"nodeRegistration": {"name": "{{ ds.meta_data.local_hostname }}"},
                                  "discovery": {"bootstrapToken": {"apiServerEndpoint": "10.0.0.1:6443"}}},
        },
    }
    meta: dict[str, Any] = {"name": "cp", "namespace": "ns", "uid": "kcp-uid",
                            "labels": {"cluster.x-k8s.io/cluster-name": CLUSTER}, "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = at(minutes=-1)
    return {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane", "metadata": meta,
            "spec": merged(base, spec or {}),
            "status": {"initialization": {"controlPlaneInitialized": True}} if initialized else {}}


def machine(name: str, *, node: bool = True, version: str = VERSION, created: str | None = None,
            deleting: bool = False, domain: str | None = None, annotations: dict[str, str] | None = None,
            conditions: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A control plane Machine of `cp`, created an hour ago unless `created` says when; its Node is node-<name>."""
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "creationTimestamp": created or at(hours=-1),
                            "labels": {"cluster.x-k8s.io/cluster-name": CLUSTER, "cluster.x-k8s.io/control-plane": ""},
                            "annotations": dict(annotations or {})}
    if deleting:
        meta["deletionTimestamp"] = at(seconds=-30)
    spec: dict[str, Any] = {"clusterName": CLUSTER, "version": version}
    if domain:
        spec["failureDomain"] = domain
    status: dict[str, Any] = {"conditions": list(conditions or [])}
    if node:
        status["nodeRef"] = {"name": f"node-{name}"}
    return {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": meta, "spec": spec,
            "status": status}


def condition(type_: str, status: str = "True", reason: str = "R", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def healthy(**overrides: str) -> list[dict[str, str]]:
    """A Machine's health conditions, all True but the types given (`healthy(EtcdMemberHealthy="False")`)."""
    types = (*HEALTH_CONDITIONS, NODE_LABELS_AND_TAINTS)
    return [condition(t, overrides.get(t, "True"), "R", f"{t} is {overrides[t]}" if t in overrides else "")
            for t in types]


def etcd(*nodes: str, failures: dict[str, str] | None = None, errors: dict[str, tuple[str, ...]] | None = None,
         alarms: tuple[str, ...] = (), leader: str | None = None) -> EtcdView:
    """An etcd cluster with one member per Node (ids 1, 2, …); the Nodes in `failures` did not answer, those in
    `errors` answered with errors; the first Node leads unless `leader` says otherwise."""
    failures = failures or {}
    members = [EtcdMember(id=i + 1, name=n, peer_urls=(f"https://{n}:2380",), client_urls=(f"https://{n}:2379",),
                          is_learner=False) for i, n in enumerate(nodes)]
    leader_id = next((m.id for m in members if m.name == (leader or nodes[0])), None) if nodes else None
    statuses = {m.name: EtcdStatus(member_id=m.id, leader_id=leader_id, version="3.5.16", raft_term=2, raft_index=40,
                                   db_size=1 << 20, is_learner=False, errors=(errors or {}).get(m.name, ()))
                for m in members if m.name not in failures}
    return EtcdView(members=members, statuses=statuses, failures=dict(failures), alarms=list(alarms))


def view(etcd_view: EtcdView | None = None, *, error: str = "", nodes: dict[str, dict[str, Any]] | None = None,
         pods: dict[str, dict[str, Any]] | None = None) -> WorkloadView:
    return WorkloadView(error=error, nodes=nodes or {}, pods=pods or {}, etcd=etcd_view)


def scope(control_plane: dict[str, Any] | None = None, machines: list[dict[str, Any]] | None = None, *,
          workload: WorkloadView | None = None, health: dict[str, list[dict[str, str]]] | None = None,
          outdated: dict[str, list[str]] | None = None, certificates_error: str | None = "",
          **fields: Any) -> ControlPlaneScope:
    """A scope as the phases leave it for status, scaling and remediation decisions (no services)."""
    return ControlPlaneScope(kcp=control_plane or kcp(), machines=list(machines or []), view=workload,
                             machine_conditions=dict(health or {}), outdated=dict(outdated or {}),
                             certificates_error=certificates_error, now=NOW, services=None, **fields)


def healthy_scope(names: tuple[str, ...] = ("a", "b", "c"), control_plane: dict[str, Any] | None = None,
                  **fields: Any) -> ControlPlaneScope:
    """Machines with Nodes and healthy components, oldest first, behind a healthy etcd with one member each."""
    machines = [machine(n, created=at(hours=-len(names) + i)) for i, n in enumerate(names)]
    return scope(control_plane, machines, workload=view(etcd(*(f"node-{n}" for n in names))),
                 health={n: healthy() for n in names}, **fields)


Change = Callable[[ControlPlaneScope], None]


def then(*changes: Change) -> Change:
    """The changes applied one after the other."""
    def change(s: ControlPlaneScope) -> None:
        for each in changes:
            each(s)
    return change


def replaced(name: str, **machine_args: Any) -> Change:
    """The scope's Machine `name` replaced by `machine(name, **machine_args)` (e.g. deleting=True, node=False)."""
    def change(s: ControlPlaneScope) -> None:
        s.machines = [machine(name, **machine_args) if m["metadata"]["name"] == name else m for m in s.machines]
    return change
