"""Scaling and rolling out a KubeadmControlPlane, one Machine at a time and only when it is safe: the first
Machine inits the cluster; every other joins once the control plane is initialized and every Machine is
healthy; a Machine leaves only after etcd leadership moved off it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import MACHINE
from herd.api.controlplane.kubeadmcontrolplane import (
    REMEDIATION_FOR_ANNOTATION,
    REMEDIATION_IN_PROGRESS_ANNOTATION,
    SKIP_CORE_DNS_ANNOTATION,
    SKIP_KUBE_PROXY_ANNOTATION,
)
from herd.api.objects import nested
from herd.contract.references import fetch_reference
from herd.contract.templates import clone_from_template, reference_to
from herd.runtime import NotFound, Object, Result, recorder_for
from herd.runtime.events import error_text

from . import health, machines
from .membership import move_leadership_off
from .scope import ControlPlaneScope
from .workload import COREDNS, DAEMON_SET, DEPLOYMENT, KUBE_PROXY

log = logging.getLogger("herd.controlplane.kubeadm")
EVENT_SOURCE = "kubeadmcontrolplane-controller"  # upstream's recorder name, shown by kubectl describe as From

Step = Literal["init", "scale-up", "scale-down", "none"]


@dataclass(frozen=True)
class Plan:
    step: Step
    rolling_out: bool = False


def plan(replicas: int, current: int, outdated: int, max_surge: int, initialized: bool) -> Plan:
    """What to do next, from the counts (pure): Machines being deleted count as current."""
    if current == 0:
        return Plan("init")  # also when every Machine is gone after init: kubeadm init is all that can start one
    if outdated:
        if max_surge >= 1:
            return Plan("scale-up" if current < replicas + max_surge else "scale-down", rolling_out=True)
        return Plan("scale-down" if current >= replicas else "scale-up", rolling_out=True)
    if current < replicas:
        return Plan("scale-up")
    if current > replicas:
        return Plan("scale-down")
    return Plan("none")


def preflight(scope: ControlPlaneScope, excluding: str | None = None) -> list[str]:
    """Why no Machine may be added or removed now (empty: go ahead)."""
    blockers: list[str] = []
    if scope.certificates_error:
        blockers.append(f"Cluster certificates are not available: {scope.certificates_error}")
    deleting = [m["metadata"]["name"] for m in scope.deleting_machines]
    if deleting:
        blockers.append(f"Waiting for Machine {', '.join(sorted(deleting))} to be deleted")
    for machine in scope.live_machines:
        name = machine["metadata"]["name"]
        if name == excluding:
            continue
        if not scope.node_name(machine):
            blockers.append(f"Waiting for Machine {name} to have a Node")
            continue
        conditions = scope.machine_conditions.get(name, [])
        if not health.components_healthy(conditions, external_etcd=scope.external_etcd):
            required = health.health_conditions(scope.external_etcd)
            bad = [c["type"] for c in conditions if c["type"] in required and c.get("status") != "True"]
            blockers.append(f"Machine {name} does not have healthy control plane components: {', '.join(bad)}")
    etcd = scope.view.etcd if scope.view is not None else None
    if etcd is not None and etcd.alarms:
        blockers.append("etcd has alarms: " + ", ".join(etcd.alarms))
    if etcd is not None and etcd.disagreement:
        blockers.append(etcd.disagreement)
    return blockers


async def reconcile_replicas(scope: ControlPlaneScope) -> Result | None:
    """Init, scale up, scale down or roll out: at most one Machine created or deleted per reconcile."""
    current = len(scope.machines)
    outdated = [m for m in scope.live_machines if m["metadata"]["name"] in scope.outdated]
    step = plan(scope.replicas, current, len(outdated), scope.max_surge, scope.initialized)
    if step.step == "init":
        await _create_or_record(scope, init=True)
        return Result(requeue_after=scope.io.poll)
    if step.step == "scale-up":
        if not scope.initialized:
            scope.scale_up_blockers = ["Waiting for the control plane to be initialized"]
            return Result(requeue_after=scope.io.poll)
        scope.scale_up_blockers = preflight(scope)
        if await _preflight_failed(scope, scope.scale_up_blockers):
            return Result(requeue_after=scope.io.poll)
        if step.rolling_out:
            await apply_upgrade_side_effects(scope)
        await _create_or_record(scope, init=False)
        return Result(requeue_after=scope.io.poll)
    if step.step == "scale-down":
        candidates = outdated if step.rolling_out else scope.live_machines
        unhealthy = {name for name, conds in scope.machine_conditions.items()
                     if health.components_failing(conds, external_etcd=scope.external_etcd)}
        victim = machines.machine_to_scale_down(candidates, set(scope.outdated), unhealthy)
        if victim is None:
            return None
        scope.scale_down_blockers = preflight(scope, excluding=victim["metadata"]["name"])
        if await _preflight_failed(scope, scope.scale_down_blockers):
            return Result(requeue_after=scope.io.poll)
        try:
            await delete_machine(scope, victim, why="rollout" if step.rolling_out else "scale down")
        except Exception as exc:
            await recorder_for(scope.io.client, EVENT_SOURCE).warning(
                scope.kcp, "FailedScaleDown", f"Failed to delete control plane Machine {victim['metadata']['name']} "
                f"for cluster {scope.namespace}/{scope.cluster_name} control plane: {error_text(exc)}")
            raise
        return Result(requeue_after=scope.io.poll)
    return None


async def _preflight_failed(scope: ControlPlaneScope, blockers: list[str]) -> bool:
    """Whether preflight checks block the step; if so, a ControlPlaneUnhealthy Warning says why, as upstream."""
    if blockers:
        failures = blockers[0] if len(blockers) == 1 else "[" + ", ".join(blockers) + "]"
        await recorder_for(scope.io.client, EVENT_SOURCE).warning(
            scope.kcp, "ControlPlaneUnhealthy",
            f"Waiting for control plane to pass preflight checks to continue reconciliation: {failures}")
    return bool(blockers)


async def _create_or_record(scope: ControlPlaneScope, *, init: bool) -> None:
    """Create the next Machine; a failure is also told as a Warning Event on the KubeadmControlPlane, as upstream."""
    try:
        await create_machine(scope, init=init)
    except Exception as exc:
        reason, which = ("FailedInitialization", "initial") if init else ("FailedScaleUp", "additional")
        await recorder_for(scope.io.client, EVENT_SOURCE).warning(
            scope.kcp, reason, f"Failed to create {which} control plane Machine for cluster "
            f"{scope.namespace}/{scope.cluster_name} control plane: {error_text(exc)}")
        raise


async def create_machine(scope: ControlPlaneScope, *, init: bool) -> Object:
    """Clone the infrastructure machine, create the KubeadmConfig and the Machine; clean up on failure."""
    io, kcp = scope.io, scope.kcp
    ref = nested(kcp, "spec", "machineTemplate", "spec", "infrastructureRef") or {}
    provider_kind, template = await fetch_reference(io.resolver, io.tracker, ref, scope.namespace)
    if provider_kind is None or template is None:
        raise NotFound(404, "NotFound", f"{ref.get('kind')} {ref.get('name')} "
                       f"(spec.machineTemplate.spec.infrastructureRef) does not exist")
    name = machines.machine_name(kcp, scope.cluster_name)
    labels = machines.machine_labels(kcp, scope.cluster_name)
    annotations = machines.machine_annotations(kcp)
    domain = machines.failure_domain_for_scale_up(scope.failure_domains, scope.live_machines, scope.up_to_date())
    infra = clone_from_template(template, name=name, namespace=scope.namespace, cluster_name=scope.cluster_name,
                                labels=labels, annotations=annotations, owner=kcp)
    created: list[tuple[object, str]] = []
    try:
        infra_kind = await io.client.kind_of(infra)
        await io.client.create(infra, kind=infra_kind)
        created.append((infra_kind, name))
        config = machines.kubeadm_config(kcp, name, scope.cluster_name, init=init)
        await io.client.create(config, kind=KUBEADM_CONFIG)
        created.append((KUBEADM_CONFIG, name))
        machine = machines.desired_machine(kcp, name, scope.cluster_name, bootstrap_ref=reference_to(config),
                                           infra_ref=reference_to(infra), failure_domain=domain)
        in_progress = (scope.meta.get("annotations") or {}).get(REMEDIATION_IN_PROGRESS_ANNOTATION)
        if in_progress and not init:
            machine["metadata"]["annotations"][REMEDIATION_FOR_ANNOTATION] = in_progress
        machine = await io.client.create(machine, kind=MACHINE)
    except BaseException:
        for kind, obj_name in created:
            try:
                await io.client.delete(kind, obj_name, scope.namespace)  # type: ignore[arg-type]
            except Exception as exc:  # the leak matters less than the original error
                log.warning("kubeadmcontrolplane %s: could not clean up %s: %s", scope.key, obj_name, exc)
        raise
    if in_progress and not init:
        (scope.meta.setdefault("annotations", {})).pop(REMEDIATION_IN_PROGRESS_ANNOTATION, None)
    scope.machines.append(machine)
    log.info("kubeadmcontrolplane %s: created Machine %s (%s%s)", scope.key, name,
             "init" if init else "join", f", failure domain {domain}" if domain else "")
    return machine


async def delete_machine(scope: ControlPlaneScope, machine: Object, *, why: str) -> None:
    """Move etcd leadership off the Machine's member, then delete the Machine (its member goes in the
    pre-terminate hook, once the Machine has drained)."""
    node = scope.node_name(machine)
    if node:
        await move_leadership_off(scope, node)
    try:
        await scope.io.client.delete(MACHINE, machine["metadata"]["name"], scope.namespace)
    except NotFound:
        return
    machine["metadata"]["deletionTimestamp"] = scope.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    log.info("kubeadmcontrolplane %s: deleting Machine %s (%s)", scope.key, machine["metadata"]["name"], why)


async def apply_upgrade_side_effects(scope: ControlPlaneScope) -> None:
    """Before a new version joins: kubeadm-config's kubernetesVersion, kube-proxy's image, CoreDNS's image."""
    workload = scope.workload
    if workload is None or scope.view is None or not scope.view.reachable:
        return
    version = scope.version
    if await workload.update_kubernetes_version(version):
        log.info("kubeadmcontrolplane %s: kubeadm-config set to Kubernetes %s", scope.key, version)
    annotations = scope.meta.get("annotations") or {}
    if SKIP_KUBE_PROXY_ANNOTATION not in annotations:
        repository = nested(scope.kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "imageRepository")
        await workload.update_image_tag(DAEMON_SET, KUBE_PROXY, KUBE_PROXY, version, repository)
    dns = nested(scope.kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "dns") or {}
    if SKIP_CORE_DNS_ANNOTATION not in annotations and dns.get("imageTag"):
        await workload.update_image_tag(DEPLOYMENT, COREDNS, COREDNS, str(dns["imageTag"]),
                                        dns.get("imageRepository"))
