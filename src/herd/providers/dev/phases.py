"""A simulated machine's life, in order: the VM powers on, it boots from its bootstrap data, the kubelet starts,
on control plane machines etcd and the API server come up, and the kubelet registers the Node.

Each phase reads the scope, may talk to the simulated world, and records what it saw as a `Stage`; waiting for a
startup timer asks for a requeue at the moment it runs out. Every moment is decided once and kept in the
`herd.dev/ready-at` annotation, so a restarted controller carries on where the previous one was.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from herd.providersdk import BootstrapDataError as BootstrapDataUnreadable
from herd.runtime import ClientError, NotFound, Object, Unauthorized

from .boot import create_node, join_node, node_object, publish_init_objects
from .cloudinit import BootstrapDataError
from .kinds import KUBECONFIG_SECRET_SUFFIX, MACHINE_ADDRESS, provider_id
from .kubelet import KubeletMode, KubeletSpec
from .scope import MachineScope, Services, cluster_faults
from .staticpods import StaticPodSet
from .status import API_SERVER_DOWN_REASON, VM_GONE_REASON, Stage, set_machine_provisioned
from .timing import ready_at, startup_delay
from .workload import KubeconfigError, WorkloadPKI

log = logging.getLogger("herd.providers.dev")

Phase = Callable[[MachineScope, Services], Awaitable[None]]
# faults that make static pods report not Ready (the etcd member also stops answering)
POD_FAULTS: dict[str, tuple[str, ...]] = {"etcd-member-down": ("etcd",), "apiserver-pod-down": ("kube-apiserver",)}
BOOTSTRAP_FAILED_REASON = "BootstrapFailed"
RETRY_SECONDS = 5.0  # waiting on something no watch tells about (a Secret, a server coming back)


async def run_phases(scope: MachineScope, services: Services) -> None:
    """Run every phase in order; each decides from the scope whether it has anything to do."""
    for phase in (reconcile_vm, reconcile_kubelet_start, reconcile_control_plane, reconcile_node):
        await phase(scope, services)
    scope.save_timeline()


async def reconcile_vm(scope: MachineScope, services: Services) -> None:
    """The VM powers on `vm.provisioning` after it was created; `vm-gone` makes it vanish."""
    if scope.waiting_for is not None:
        return
    try:
        delay = startup_delay(scope.backend.vm.provisioning if scope.backend.vm else None, services.rng)
    except ValueError as exc:
        scope.vm = Stage("failed", f"spec.backend.inMemory.vm.provisioning: {exc}")
        return
    vm_up = ready_at(scope.timeline, "vm", scope.now, delay)
    if scope.fault == "vm-gone":
        scope.vm = Stage("failed", "The VM is gone (fault injected with the herd.dev/fail=vm-gone annotation)",
                         VM_GONE_REASON)
        services.kubelets.set_mode(scope.cluster_key, scope.node_name, "gone")
        if "etcd" in scope.timeline and scope.timeline["etcd"] <= scope.now and scope.control_plane:
            await _set_etcd_member(scope, services, running=False)  # its etcd vanished with it
        return
    if scope.now < vm_up:
        scope.vm = Stage("starting")
        scope.requeue_at(vm_up)
        return
    scope.vm = Stage("done")
    set_machine_provisioned(scope.devmachine, provider_id(scope.namespace, scope.node_name), scope.node_name,
                            MACHINE_ADDRESS)


async def reconcile_kubelet_start(scope: MachineScope, services: Services) -> None:
    """The kubelet starts `node.provisioning` after the VM is up, reading what the bootstrap data wrote."""
    if not scope.vm.done:
        return
    try:
        delay = startup_delay(scope.backend.node.provisioning if scope.backend.node else None, services.rng)
    except ValueError as exc:
        scope.node = Stage("failed", f"spec.backend.inMemory.node.provisioning: {exc}")
        return
    kubelet_up = ready_at(scope.timeline, "node", scope.timeline["vm"], delay)
    if scope.now < kubelet_up:
        scope.node = Stage("starting")
        scope.requeue_at(kubelet_up)
        return
    if "registered" in scope.timeline and services.kubelets.running(scope.cluster_key, scope.node_name) and \
            not (scope.control_plane and not services.servers.is_running(scope.cluster_key)):
        scope.kubelet_started = True  # booted before, and all is still running: no need to read the data again
        return
    try:
        await scope.load_plan(services)
    except BootstrapDataUnreadable as exc:
        if not exc.missing:
            scope.node = Stage("failed", f"Cannot boot from the bootstrap data: {exc}", BOOTSTRAP_FAILED_REASON)
            return
        scope.node = Stage("failed", "The bootstrap data Secret does not exist", BOOTSTRAP_FAILED_REASON)
        scope.requeue_after(RETRY_SECONDS)
        return
    except BootstrapDataError as exc:
        scope.node = Stage("failed", f"Cannot boot from the bootstrap data: {exc}", BOOTSTRAP_FAILED_REASON)
        return
    scope.kubelet_started = True


async def reconcile_control_plane(scope: MachineScope, services: Services) -> None:
    """etcd and the API server (static pods) start after the kubelet; then the cluster's API server serves."""
    if not scope.control_plane:
        return
    if not scope.kubelet_started:
        if scope.node.state == "failed":
            scope.etcd = scope.api_server = Stage("failed", "The machine could not boot", BOOTSTRAP_FAILED_REASON)
        return
    backend = scope.backend
    try:
        etcd_delay = startup_delay(backend.etcd.provisioning if backend.etcd else None, services.rng)
        api_delay = startup_delay(backend.api_server.provisioning if backend.api_server else None, services.rng)
    except ValueError as exc:
        scope.etcd = scope.api_server = Stage("failed", f"spec.backend.inMemory provisioning: {exc}")
        return
    etcd_up = ready_at(scope.timeline, "etcd", scope.timeline["node"], etcd_delay)
    api_up = ready_at(scope.timeline, "apiServer", scope.timeline["node"], api_delay)
    scope.etcd = Stage("done") if scope.now >= etcd_up else Stage("starting")
    if scope.etcd.done:
        await _set_etcd_member(scope, services, running=scope.fault != "etcd-member-down")
    else:
        scope.requeue_at(etcd_up)
    if scope.now < api_up or not scope.etcd.done:
        scope.api_server = Stage("starting", "" if scope.now < api_up else "Waiting for etcd")
        scope.requeue_at(max(api_up, etcd_up))
        return
    if scope.fault == "apiserver-down" or "apiserver-down" in cluster_faults(services.cache, scope.namespace,
                                                                           scope.cluster_name):
        await services.servers.stop(scope.cluster_key, keep_data=True)
        scope.api_server = Stage("failed", "The cluster's API server is stopped (fault injected with the "
                                 "herd.dev/fail=apiserver-down annotation)", API_SERVER_DOWN_REASON)
        return
    await _serve(scope, services)


async def _set_etcd_member(scope: MachineScope, services: Services, *, running: bool) -> None:
    """The machine's etcd member (named after its Node) joins the cluster's etcd, answering or not."""
    try:
        await services.servers.set_etcd_member(scope.cluster_key, scope.node_name, running=running)
    except (OSError, ValueError) as exc:
        log.info("%s: cannot set etcd member %s: %s", scope.cluster_key, scope.node_name, exc)
        scope.requeue_after(RETRY_SECONDS)


async def _serve(scope: MachineScope, services: Services) -> None:
    plan, endpoint = scope.plan, scope.endpoint
    if services.servers.is_running(scope.cluster_key):
        scope.api_server = Stage("done")
        return
    if plan is None or not plan.serves_api or plan.ca_cert is None or plan.ca_key is None:
        scope.api_server = Stage("failed", "The bootstrap data holds no cluster CA certificate and key "
                                 "(/etc/kubernetes/pki/ca.crt, ca.key) to serve the API with", BOOTSTRAP_FAILED_REASON)
        return
    if endpoint is None:
        scope.api_server = Stage("starting", "Waiting for the DevCluster's control plane endpoint")
        scope.requeue_after(RETRY_SECONDS)
        return
    try:
        await services.servers.start(scope.cluster_key, endpoint[0], endpoint[1], WorkloadPKI(
            plan.ca_cert, plan.ca_key, plan.sa_key, plan.sa_pub, plan.etcd_ca_cert, plan.etcd_ca_key))
    except (OSError, ValueError) as exc:  # the port is taken, or the CA is unusable
        scope.api_server = Stage("failed", f"The API server cannot start: {exc}")
        scope.requeue_after(RETRY_SECONDS)
        return
    log.info("workload API server of %s serving on %s:%d", scope.cluster_key, *endpoint)
    scope.api_server = Stage("done")
    if "registered" in scope.timeline:
        await _republish(scope, services, f"https://{endpoint[0]}:{endpoint[1]}")


async def _republish(scope: MachineScope, services: Services, server: str) -> None:
    """A server that comes back empty (this process restarted) gets kubeadm's objects again; best effort."""
    assert scope.plan is not None
    try:
        client = await services.clients.get(scope.namespace, scope.cluster_name)
        await publish_init_objects(client, server, scope.plan, scope.version)
    except (ClientError, KubeconfigError) as exc:
        log.info("%s: cannot publish cluster-info after restarting the API server: %s", scope.cluster_key, exc)


async def reconcile_node(scope: MachineScope, services: Services) -> None:
    """The kubelet registers the Node (with admin credentials after init, the bootstrap token after join) and
    keeps it Ready from then on."""
    if not scope.kubelet_started:
        return
    mode: KubeletMode = "not-ready" if scope.fault == "node-not-ready" else "healthy"
    if "registered" in scope.timeline:
        if not services.kubelets.set_mode(scope.cluster_key, scope.node_name, mode,
                                          unready_pods=_unready_pods(scope)):
            services.kubelets.ensure(_kubelet_spec(scope, mode))  # e.g. after a controller restart
        scope.node = Stage("done")
        return
    if scope.control_plane and not scope.api_server.done:
        scope.node = Stage("waiting")
        return
    try:
        registered = await _register(scope, services)
    except NotFound:
        scope.node = Stage("waiting", f"Waiting for the {scope.cluster_name}{KUBECONFIG_SECRET_SUFFIX} Secret")
        scope.requeue_after(RETRY_SECONDS)
        return
    except (BootstrapDataError, KubeconfigError) as exc:
        scope.node = Stage("failed", f"The kubelet cannot register the Node: {exc}", BOOTSTRAP_FAILED_REASON)
        scope.requeue_after(RETRY_SECONDS * 6)
        return
    except Unauthorized:
        scope.node = Stage("waiting", "The API server refused the kubelet's credentials (bootstrap token or "
                           "admin kubeconfig); retrying")
        await services.clients.invalidate(scope.namespace, scope.cluster_name)
        scope.requeue_after(RETRY_SECONDS)
        return
    except ClientError as exc:
        scope.node = Stage("waiting", f"The kubelet cannot reach the API server: {exc}")
        scope.requeue_after(RETRY_SECONDS)
        return
    scope.timeline["registered"] = scope.now
    scope.node = Stage("done")
    services.kubelets.ensure(_kubelet_spec(scope, mode), registered=registered)


async def _register(scope: MachineScope, services: Services) -> Object | None:
    """Register the Node as kubeadm init or join does; returns it (None when it existed already)."""
    plan = scope.plan
    assert plan is not None  # loaded when the kubelet started
    node = _kubelet_spec(scope, "healthy").node
    endpoint = scope.endpoint
    if plan.action == "init":
        if endpoint is None:
            raise BootstrapDataError("the DevCluster has no control plane endpoint")
        client = await services.clients.get(scope.namespace, scope.cluster_name)
        await publish_init_objects(client, f"https://{endpoint[0]}:{endpoint[1]}", plan, scope.version)
        return await create_node(client, node)
    server = plan.api_server_endpoint or (f"{endpoint[0]}:{endpoint[1]}" if endpoint else None)
    if server is None:
        raise BootstrapDataError("the JoinConfiguration names no API server endpoint")
    return await join_node(server if server.startswith("https://") else f"https://{server}", plan, node,
                           pool=services.clients.joins)


def _unready_pods(scope: MachineScope) -> frozenset[str]:
    """The static pods a fault makes report not Ready."""
    return frozenset(POD_FAULTS.get(scope.fault or "", ()))


def _kubelet_spec(scope: MachineScope, mode: KubeletMode) -> KubeletSpec:
    node = node_object(scope.node_name, provider_id(scope.namespace, scope.node_name),
                       control_plane=scope.control_plane, plan=scope.plan, version=scope.version,
                       now=datetime.now(UTC))
    pods = StaticPodSet(scope.version or "", scope.plan.cluster_configuration if scope.plan else None,
                        _unready_pods(scope)) if scope.control_plane else None
    return KubeletSpec(scope.namespace, scope.cluster_name, node, mode, pods)
