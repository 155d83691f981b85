"""The life of a KubeadmConfig, in order: wait for the Cluster, then write the bootstrap data for the machine
that initializes the control plane (`kubeadm init`, behind the init lock) or for a machine that joins
(`kubeadm join` with a fresh bootstrap token), then keep that token alive until the machine's Node exists.

Every phase reads what `Scope` carries and changes `scope.config` in place; the controller patches it once.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from herd.api.cluster.labels import NODE_UNINITIALIZED_TAINT_EFFECT, NODE_UNINITIALIZED_TAINT_KEY
from herd.contract import certificates as certs
from herd.contract.kubeconfig import (
    WorkloadClients,
    discovery_kubeconfig_file,
    endpoint_string,
    ensure_kubeconfig_secret,
    server_url,
)
from herd.contract.objects import is_control_plane_machine
from herd.runtime import Client, NotFound, Object, Result, TerminalError

from . import kinds, kubeadmtypes, status
from .cloudinit import UserData, certificate_files, render_init, render_join
from .data import resolve_files, resolve_users, store_bootstrap_data
from .locking import InitLock
from .tokens import create_token, refresh_interval, refresh_token

log = logging.getLogger("herd.bootstrap.kubeadm")

WAIT_FOR_CONTROL_PLANE = 30.0  # seconds between looks while another machine initializes the control plane
IGNITION_UNSUPPORTED = "Ignition bootstrap data is not supported yet; use format cloud-config"
TOKEN_FAILED = "Failed to create a bootstrap token in the workload cluster; please check controller logs"


@dataclass
class Scope:
    """Everything one reconcile works with, fetched once."""

    client: Client
    config: Object  # changed in place, patched by the controller
    machine: Object
    cluster: Object
    init_lock: InitLock
    workload_clients: WorkloadClients
    token_ttl: float
    token_checks: dict[str, float] = field(default_factory=dict)  # token → monotonic time of its last look

    @property
    def spec(self) -> dict[str, Any]:
        """The config's spec, read-only by convention (may be an empty dict that is not part of the object)."""
        spec: dict[str, Any] = self.config.get("spec") or {}
        return spec

    @property
    def cluster_configuration(self) -> dict[str, Any]:
        configuration: dict[str, Any] = self.spec.get("clusterConfiguration") or {}
        return configuration

    @property
    def name(self) -> str:
        return f"{self.config['metadata']['namespace']}/{self.config['metadata']['name']}"


async def reconcile_bootstrap(scope: Scope) -> Result:
    """Make the bootstrap data exist for the config's machine, or say what it waits for."""
    config, cluster, machine = scope.config, scope.cluster, scope.machine
    if not kinds.infrastructure_provisioned(cluster):
        status.mark_data_secret_not_available(config, status.WAITING_FOR_INFRASTRUCTURE)
        return Result()
    machine_secret = ((machine.get("spec") or {}).get("bootstrap") or {}).get("dataSecretName")
    if machine_secret and not (status.data_secret_created(config) and (config.get("status") or {}).get(
            "dataSecretName")):
        # the Machine has its data but this status does not say so: a move or a restore lost the status
        status.set_data_secret_created(config, machine_secret)
        status.mark_certificates_available(config)
        return Result()
    if status.data_secret_created(config):
        return await reconcile_existing_data(scope)
    if kinds.control_plane_endpoint(cluster) is None:
        status.mark_data_secret_not_available(config, status.WAITING_FOR_ENDPOINT)
        return Result()
    if not (machine.get("spec") or {}).get("version"):
        status.mark_data_secret_not_available(config, status.WAITING_FOR_VERSION)
        return Result()
    if scope.spec.get("format") == "ignition":
        status.mark_data_secret_not_available(config, IGNITION_UNSUPPORTED)
        return Result()
    if not kinds.control_plane_initialized(cluster):
        return await reconcile_init(scope)
    await scope.init_lock.unlock(cluster)  # init has happened: nobody needs the lock any more
    return await reconcile_join(scope, control_plane=is_control_plane_machine(machine))


async def reconcile_existing_data(scope: Scope) -> Result:
    """The data exists: report it, and keep a join token valid until the machine's Node has joined."""
    status.mark_data_secret_available(scope.config)
    status.mark_certificates_available(scope.config)  # the data could not have been written without them
    if is_control_plane_machine(scope.machine) and kinds.control_plane_initialized(scope.cluster):
        await scope.init_lock.unlock(scope.cluster)  # also when no machine joins after init
    discovery = ((scope.spec.get("joinConfiguration") or {}).get("discovery") or {}).get("bootstrapToken") or {}
    token = discovery.get("token")
    if not token or kinds.has_node_ref(scope.machine):
        if token:
            scope.token_checks.pop(token, None)
        return Result()
    last_look = scope.token_checks.get(token)
    # a token needs extending once 1/6 of its TTL has passed: until then, Machine events cost no request
    if last_look is None or time.monotonic() - last_look >= scope.token_ttl / 6:
        workload = await scope.workload_clients(scope.cluster)
        try:
            await refresh_token(workload, token, ttl=scope.token_ttl)
        except NotFound:
            # the workload cluster lost the token (it expired, or its API server came back empty): as upstream,
            # a new token and bootstrap data that carries it, so the machine can still join
            log.info("%s: the bootstrap token is gone from the workload cluster; creating a new one and writing "
                     "the bootstrap data again", scope.name)
            scope.token_checks.pop(token, None)
            discovery.pop("token", None)
            return await reconcile_join(scope, control_plane=is_control_plane_machine(scope.machine))
        scope.token_checks[token] = time.monotonic()
    return Result(requeue_after=refresh_interval(scope.token_ttl))


async def reconcile_init(scope: Scope) -> Result:
    """Before the control plane exists: the first control plane machine (the lock holder) gets `kubeadm init`."""
    config, cluster = scope.config, scope.cluster
    status.mark_data_secret_not_available(config, status.WAITING_FOR_CONTROL_PLANE)
    if not is_control_plane_machine(scope.machine):
        return Result(requeue_after=WAIT_FOR_CONTROL_PLANE)
    if not scope.spec.get("initConfiguration") and not scope.spec.get("clusterConfiguration"):
        return Result(requeue_after=WAIT_FOR_CONTROL_PLANE)  # a joining control plane machine: wait to join
    if not await scope.init_lock.lock(cluster, scope.machine):
        log.info("%s: another machine is initializing the control plane of cluster %s, waiting", scope.name,
                 cluster["metadata"]["name"])
        return Result(requeue_after=WAIT_FOR_CONTROL_PLANE)
    try:
        await _write_init_data(scope)
    except BaseException:
        await scope.init_lock.unlock(cluster)  # let the next attempt (or another machine) start over
        raise
    return Result()


async def _write_init_data(scope: Scope) -> None:
    log.info("%s: creating bootstrap data for the first control plane machine", scope.name)
    pairs = await _control_plane_certificates(scope, generate=True)
    host, port = kinds.control_plane_endpoint(scope.cluster) or ("", 0)
    cluster_configuration = kubeadmtypes.cluster_configuration(
        scope.cluster_configuration, cluster_name=scope.cluster["metadata"]["name"],
        control_plane_endpoint=endpoint_string(host, port),
        kubernetes_version=scope.machine["spec"]["version"],
        cluster_network=(scope.cluster.get("spec") or {}).get("clusterNetwork"))
    init_configuration = kubeadmtypes.init_configuration(scope.spec.get("initConfiguration"))
    data = await _user_data(scope)
    text = render_init(data, certificates=certificate_files(pairs, scope.cluster_configuration.get("certificatesDir")),
                       cluster_configuration=cluster_configuration, init_configuration=init_configuration)
    await store_bootstrap_data(scope.client, scope.config, scope.cluster, text)


async def _control_plane_certificates(scope: Scope, *, generate: bool) -> dict[certs.Purpose, certs.KeyPair]:
    """All cluster certificates with their keys (created first when `generate`), and the admin kubeconfig."""
    settings = scope.cluster_configuration
    algorithm = settings.get("encryptionAlgorithm")
    try:
        if generate:
            pairs = await certs.lookup_or_generate(scope.client, scope.cluster, algorithm=algorithm,
                                                   validity_days=settings.get("caCertificateValidityPeriodDays"))
        else:
            pairs = await certs.lookup(scope.client, scope.cluster, certs.CONTROL_PLANE_PURPOSES)
        certs.ensure_all_exist(pairs, certs.CONTROL_PLANE_PURPOSES, need_keys=True)
        await ensure_kubeconfig_secret(scope.client, scope.cluster, pairs[certs.CLUSTER_CA], algorithm=algorithm)
    except Exception:
        status.mark_certificates_internal_error(scope.config)
        raise
    status.mark_certificates_available(scope.config)
    return pairs


async def _user_data(scope: Scope) -> UserData:
    try:
        files = await resolve_files(scope.client, scope.config)
    except Exception:
        status.mark_data_secret_not_available(scope.config, "Failed to read content from secrets for spec.files")
        raise
    try:
        users = await resolve_users(scope.client, scope.config)
    except Exception:
        status.mark_data_secret_not_available(scope.config, "Failed to read password from secrets for spec.users")
        raise
    return UserData.from_spec(scope.spec, files=files, users=users)


async def reconcile_join(scope: Scope, *, control_plane: bool) -> Result:
    """After init: `kubeadm join`, as a control plane instance (with the certificates) or as a worker."""
    log.info("%s: creating bootstrap data for a %s machine joining the cluster", scope.name,
             "control plane" if control_plane else "worker")
    join = copy.deepcopy(scope.spec.get("joinConfiguration") or {})
    if control_plane:
        pairs = await _control_plane_certificates(scope, generate=False)
        join["controlPlane"] = join.get("controlPlane") or {}
    else:
        if join.get("controlPlane") is not None:
            raise TerminalError("the Machine is a worker, but joinConfiguration.controlPlane is set in the "
                                "KubeadmConfig")
        try:
            pairs = await certs.lookup(scope.client, scope.cluster, (certs.CLUSTER_CA,))
            certs.ensure_all_exist(pairs, (certs.CLUSTER_CA,), need_keys=False)
        except Exception:
            status.mark_certificates_internal_error(scope.config)
            raise
        status.mark_certificates_available(scope.config)
    data = await _user_data(scope)
    data.extra_files.extend(await _reconcile_discovery(scope, join, pairs[certs.CLUSTER_CA]))
    # kubeadm needs the discovery settings we chose (and the token) again on a later render: keep them, as upstream
    scope.config.setdefault("spec", {})["joinConfiguration"] = join
    rendered = copy.deepcopy(join)
    if not control_plane:
        # until Cluster API has synced the Machine's labels to the Node, keep workloads off it (not stored in spec)
        registration = rendered.setdefault("nodeRegistration", {})
        taints = registration.setdefault("taints", [])
        if not any(t.get("key") == NODE_UNINITIALIZED_TAINT_KEY for t in taints):
            taints.append({"key": NODE_UNINITIALIZED_TAINT_KEY, "effect": NODE_UNINITIALIZED_TAINT_EFFECT})
    text = render_join(data, join_configuration=kubeadmtypes.join_configuration(rendered),
                       certificates=certificate_files(pairs, scope.cluster_configuration.get("certificatesDir"))
                       if control_plane else None)
    await store_bootstrap_data(scope.client, scope.config, scope.cluster, text)
    return Result(requeue_after=refresh_interval(scope.token_ttl))  # to keep the token alive until it is used


async def _reconcile_discovery(scope: Scope, join: dict[str, Any], ca: certs.KeyPair) -> list[dict[str, Any]]:
    """Fill in how the machine finds and trusts the cluster, respecting what the user set; returns files to write.

    File discovery with a kubeConfig gets that kubeconfig generated; otherwise bootstrap token discovery gets
    the CA pins, the API server endpoint and a new token in the workload cluster.
    """
    host, port = kinds.control_plane_endpoint(scope.cluster) or ("", 0)
    discovery = join.setdefault("discovery", {})
    file_discovery = discovery.get("file")
    if file_discovery is not None:
        kubeconfig = file_discovery.get("kubeConfig")
        if kubeconfig is None:
            return []
        cluster = kubeconfig.setdefault("cluster", {})
        cluster.setdefault("server", server_url(host, port))
        cluster.setdefault("certificateAuthorityData", certs.b64(ca.cert))
        return [discovery_kubeconfig_file(file_discovery)]
    token_discovery = discovery.setdefault("bootstrapToken", {})
    if not token_discovery.get("caCertHashes"):
        token_discovery["caCertHashes"] = certs.ca_cert_hashes(ca.cert)
    if not token_discovery.get("apiServerEndpoint"):
        token_discovery["apiServerEndpoint"] = endpoint_string(host, port)
    if not token_discovery.get("token"):
        try:
            workload = await scope.workload_clients(scope.cluster)
            token_discovery["token"] = await create_token(workload, ttl=scope.token_ttl)
            scope.token_checks[token_discovery["token"]] = time.monotonic()
        except Exception:
            status.mark_data_secret_not_available(scope.config, TOKEN_FAILED)
            raise
    if not token_discovery.get("caCertHashes"):
        token_discovery["unsafeSkipCAVerification"] = True
    return []
