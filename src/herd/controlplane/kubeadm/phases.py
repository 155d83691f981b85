"""A KubeadmControlPlane's reconcile, in upstream's order: wait for the infrastructure and the endpoint; the
cluster certificates and admin kubeconfig; adopt and keep the Machines in shape; look at the workload cluster
and write each Machine's health; let deleting Machines go (etcd first); remediate; then roll out or scale.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
from typing import Any

import yaml

from herd.api.bootstrap import KUBEADM_CONFIG
from herd.api.cluster import MACHINE
from herd.api.cluster.labels import (
    CLUSTER_NAME_LABEL,
    MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION,
    MACHINE_CONTROL_PLANE_LABEL,
    MACHINE_CONTROL_PLANE_NAME_LABEL,
)
from herd.api.controlplane.kubeadmcontrolplane import PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION
from herd.api.objects import nested, parse_time, rfc3339
from herd.api.webhookutil import format_label_value
from herd.contract import certificates as certs
from herd.contract import conditions as cond
from herd.contract.indexes import orphans
from herd.contract.kubeconfig import (
    KUBECONFIG_KEY,
    KUBECONFIG_PURPOSE,
    admin_kubeconfig,
    ensure_kubeconfig_secret,
    server_url,
)
from herd.contract.references import fetch_reference, valid_endpoint
from herd.runtime import SECRET, ClientError, Kind, NotFound, Object, ObjectKey, owner_reference
from herd.runtime.conditions import Condition, get_condition

from . import health, machines
from .etcd import EtcdError
from .membership import leave_etcd
from .scope import ControlPlaneScope
from .workload import Workload, WorkloadView

log = logging.getLogger("herd.controlplane.kubeadm")

WAITING_FOR_MACHINE_DELETION = "WaitingForPreTerminateHook"


async def reconcile_certificates(scope: ControlPlaneScope) -> None:
    """The cluster CAs and service account keys, owned by the KubeadmControlPlane (made once, before init); and
    the admin kubeconfig, renewed when its certificate has less than half of its life left."""
    assert scope.cluster is not None
    io = scope.io
    validity = nested(scope.kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "caCertificateValidityPeriodDays")
    algorithm = nested(scope.kcp, "spec", "kubeadmConfigSpec", "clusterConfiguration", "encryptionAlgorithm")
    try:
        pairs = await certs.lookup_or_generate(io.client, scope.cluster, owner=scope.kcp,
                                               validity_days=int(validity) if validity else None,
                                               algorithm=str(algorithm) if algorithm else None)
        certs.ensure_all_exist(pairs, certs.CONTROL_PLANE_PURPOSES, need_keys=True)
    except certs.CertificatesError as exc:
        scope.certificates_error = str(exc)
        return
    await _adopt_secrets(scope, [certs.secret_name(scope.cluster_name, p) for p in certs.CONTROL_PLANE_PURPOSES])
    scope.certificates_error = ""
    scope.certificates = pairs
    await ensure_kubeconfig_secret(io.client, scope.cluster, pairs[certs.CLUSTER_CA], owner=scope.kcp,
                                   algorithm=str(algorithm) if algorithm else None)
    await _renew_kubeconfig(scope, pairs[certs.CLUSTER_CA], str(algorithm) if algorithm else None)
    await _adopt_secrets(scope, [certs.secret_name(scope.cluster_name, KUBECONFIG_PURPOSE)])


async def _adopt_secrets(scope: ControlPlaneScope, names: list[str]) -> None:
    """Secrets made by someone else (the user, the bootstrap provider) without a controller become ours."""
    for name in names:
        try:
            secret = await scope.io.client.get(SECRET, name, scope.namespace)
        except NotFound:
            continue
        owners: list[dict[str, Any]] = secret["metadata"].get("ownerReferences") or []
        if any(o.get("controller") for o in owners):
            continue
        kept = [o for o in owners if o.get("kind") != "Cluster"]
        await scope.io.client.patch(SECRET, name, {"metadata": {
            "ownerReferences": [*kept, owner_reference(scope.kcp)],
            "resourceVersion": secret["metadata"]["resourceVersion"]}}, namespace=scope.namespace)


async def _renew_kubeconfig(scope: ControlPlaneScope, ca: certs.KeyPair, algorithm: str | None) -> None:
    assert scope.cluster is not None
    name = certs.secret_name(scope.cluster_name, KUBECONFIG_PURPOSE)
    try:
        secret = await scope.io.client.get(SECRET, name, scope.namespace)
    except NotFound:
        return
    try:
        config = yaml.safe_load(certs.secret_data(secret, KUBECONFIG_KEY) or b"") or {}
        user = (config.get("users") or [{}])[0].get("user") or {}
        cert = certs.load_cert(base64.b64decode(user["client-certificate-data"]))
    except (KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError):
        return  # a kubeconfig someone else wrote (e.g. a token): not ours to renew
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    if cert.not_valid_after_utc - scope.now > life / 2:
        return
    endpoint = nested(scope.cluster, "spec", "controlPlaneEndpoint") or {}
    kubeconfig = admin_kubeconfig(scope.cluster_name, server_url(endpoint["host"], endpoint.get("port")), ca,
                                  algorithm=algorithm)
    await scope.io.client.patch(SECRET, name, {"data": {KUBECONFIG_KEY: certs.b64(kubeconfig)}},
                                namespace=scope.namespace)
    log.info("kubeadmcontrolplane %s: renewed the admin kubeconfig of cluster %s", scope.key, scope.cluster_name)


def infrastructure_waiting(scope: ControlPlaneScope) -> str:
    """Why Machines cannot be made yet ("" when they can)."""
    cluster = scope.cluster
    assert cluster is not None
    if not nested(cluster, "status", "initialization", "infrastructureProvisioned"):
        return "Waiting for the Cluster's infrastructure to be provisioned"
    if not valid_endpoint(nested(cluster, "spec", "controlPlaneEndpoint")):
        return "Waiting for the Cluster's spec.controlPlaneEndpoint"
    return ""


async def adopt_machines(scope: ControlPlaneScope) -> None:
    """Control plane Machines of the Cluster that nobody controls become the KubeadmControlPlane's."""
    for machine in orphans(scope.io.cache, MACHINE, scope.namespace):
        labels = machine["metadata"].get("labels") or {}
        if labels.get(CLUSTER_NAME_LABEL) != scope.cluster_name or MACHINE_CONTROL_PLANE_LABEL not in labels:
            continue
        if machine["metadata"].get("deletionTimestamp"):
            continue
        owners = [*(machine["metadata"].get("ownerReferences") or []), owner_reference(scope.kcp)]
        adopted = await scope.io.client.patch(MACHINE, machine["metadata"]["name"], {"metadata": {
            "ownerReferences": owners, "resourceVersion": machine["metadata"]["resourceVersion"]}},
            namespace=scope.namespace)
        scope.machines.append(adopted)
        log.info("kubeadmcontrolplane %s: adopted Machine %s", scope.key, machine["metadata"]["name"])


ORPHAN_GRACE = dt.timedelta(seconds=30)  # a clone younger than this may still be getting its Machine


async def remove_orphan_clones(scope: ControlPlaneScope) -> None:
    """KubeadmConfigs and infrastructure machines made for a Machine that was never created (the process
    stopped between the creates) are deleted: nothing else would ever clean them up."""
    io = scope.io
    selector = {MACHINE_CONTROL_PLANE_NAME_LABEL: format_label_value(scope.name)}
    names = {m["metadata"]["name"] for m in scope.machines}
    kinds: list[Kind] = [KUBEADM_CONFIG]
    ref = nested(scope.kcp, "spec", "machineTemplate", "spec", "infrastructureRef")
    if ref:
        provider_kind, _ = await fetch_reference(io.resolver, io.tracker, ref, scope.namespace)
        if provider_kind is not None:
            kinds.append(provider_kind.kind)
    for kind in kinds:
        if not io.cache.informer(kind).has_synced:
            continue
        for obj in io.cache.list(kind, namespace=scope.namespace, label_selector=selector, copy=False):
            meta = obj["metadata"]
            created = parse_time(meta.get("creationTimestamp"))
            owned = any(o.get("uid") == scope.meta.get("uid") for o in meta.get("ownerReferences") or [])
            if meta["name"] in names or not owned or meta.get("deletionTimestamp") or created is None or \
                    scope.now - created < ORPHAN_GRACE or io.cache.get(MACHINE, scope.namespace, meta["name"]):
                continue
            with contextlib.suppress(NotFound):
                await io.client.delete(kind, meta["name"], scope.namespace)
                log.info("kubeadmcontrolplane %s: deleted %s %s, made for a Machine that was never created",
                         scope.key, kind.kind, meta["name"])


async def load_infrastructure(scope: ControlPlaneScope) -> None:
    """Each Machine's infrastructure machine (read only), and why each Machine is out of date."""
    io = scope.io
    for machine in scope.machines:
        ref = nested(machine, "spec", "infrastructureRef")
        infra = None
        if ref:
            _, infra = await fetch_reference(io.resolver, io.tracker, ref, scope.namespace)
        scope.infra[machine["metadata"]["name"]] = infra
        reasons = machines.outdated_reasons(scope.kcp, machine, infra, scope.now)
        if reasons:
            scope.outdated[machine["metadata"]["name"]] = reasons


async def sync_machines(scope: ControlPlaneScope) -> None:
    """Carry the machine template's labels, annotations and in-place fields (readiness gates, deletion
    timeouts, taints) to existing Machines, without a rollout."""
    labels = machines.machine_labels(scope.kcp, scope.cluster_name)
    annotations = machines.machine_annotations(scope.kcp)
    in_place = machines.in_place_spec(scope.kcp)
    for index, machine in enumerate(scope.machines):
        meta = machine["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        patch: dict[str, Any] = {}
        if any((meta.get("labels") or {}).get(k) != v for k, v in labels.items()):
            patch.setdefault("metadata", {})["labels"] = labels
        if any((meta.get("annotations") or {}).get(k) != v for k, v in annotations.items()):
            patch.setdefault("metadata", {})["annotations"] = annotations
        changed = machines.in_place_changes(machine, in_place)
        if changed:
            patch["spec"] = changed
        if patch:
            patch.setdefault("metadata", {})["resourceVersion"] = meta["resourceVersion"]
            scope.machines[index] = await scope.io.client.patch(MACHINE, meta["name"], patch,
                                                                namespace=scope.namespace)
        config = scope.io.cache.get(KUBEADM_CONFIG, scope.namespace, meta["name"], copy=False) \
            if scope.io.cache.informer(KUBEADM_CONFIG).has_synced else None
        for obj in (scope.infra.get(meta["name"]), config):
            if obj is not None:
                await _sync_metadata(scope, obj, labels, annotations)


async def _sync_metadata(scope: ControlPlaneScope, obj: Object, labels: dict[str, str],
                         annotations: dict[str, str]) -> None:
    """The machine template's labels and annotations on a Machine's infrastructure machine or KubeadmConfig."""
    meta = obj["metadata"]
    wanted: dict[str, Any] = {}
    if any((meta.get("labels") or {}).get(k) != v for k, v in labels.items()):
        wanted["labels"] = labels
    if any((meta.get("annotations") or {}).get(k) != v for k, v in annotations.items()):
        wanted["annotations"] = annotations
    if not wanted or meta.get("deletionTimestamp"):
        return
    kind = await scope.io.client.kind_of(obj)
    with contextlib.suppress(NotFound):
        await scope.io.client.patch(kind, meta["name"], {"metadata": wanted}, namespace=scope.namespace)


async def inspect_workload(scope: ControlPlaneScope) -> None:
    """Look at the workload cluster (once it is initialized) and write each Machine's health conditions."""
    io = scope.io
    assert scope.cluster is not None
    if scope.machines:  # before init too: the first Machine's API server answering is what initializes
        try:
            client = await io.cluster_cache.get_client(ObjectKey(scope.namespace, scope.cluster_name))
            scope.workload = Workload(client, scope.certificates.get(certs.ETCD_CA), timeout=io.etcd_timeout)
            nodes = [n for m in scope.machines if (n := scope.node_name(m))]
            scope.view = await scope.workload.inspect(nodes)
        except (ClientError, OSError) as exc:
            scope.view = WorkloadView(error=f"the workload cluster cannot be reached: {exc}")
    for index, machine in enumerate(scope.machines):
        wanted = health.machine_conditions(machine, scope.view, external_etcd=scope.external_etcd)
        up_to_date = _up_to_date_condition(scope, machine)
        wanted.append(up_to_date)
        name = machine["metadata"]["name"]
        scope.machine_conditions[name] = wanted
        scope.machines[index] = await write_conditions(scope, machine, wanted)


async def write_conditions(scope: ControlPlaneScope, machine: Object, wanted: list[Condition]) -> Object:
    """Write the conditions of a Machine that differ from `wanted` (others' conditions stay); returns it."""
    return await cond.write_conditions(scope.io.client, MACHINE, machine, wanted, now=rfc3339(scope.now))


def _up_to_date_condition(scope: ControlPlaneScope, machine: Object) -> dict[str, Any]:
    reasons = scope.outdated.get(machine["metadata"]["name"])
    if reasons:
        return cond.condition("UpToDate", "False", "NotUpToDate", "\n".join(f"* {r}" for r in reasons))
    return cond.condition("UpToDate", "True", "UpToDate")


async def mark_initialized(scope: ControlPlaneScope) -> None:
    """The control plane is initialized once its API server answers and kubeadm's configuration is there."""
    if scope.initialized:
        return
    if scope.view is not None and scope.view.reachable and scope.view.kubeadm_config is not None:
        scope.initialization["controlPlaneInitialized"] = True
        scope.initialized_now = True
        log.info("kubeadmcontrolplane %s: control plane initialized", scope.key)


async def record_certificate_expiries(scope: ControlPlaneScope) -> None:
    """Each Machine's API server serving certificate expiry, in its KubeadmConfig's annotation (read once)."""
    ca = scope.certificates.get(certs.CLUSTER_CA)
    if scope.workload is None or scope.view is None or not scope.view.reachable or ca is None:
        return
    for index, machine in enumerate(scope.machines):
        node = scope.node_name(machine)
        annotations = machine["metadata"].get("annotations") or {}
        if not node or machine["metadata"].get("deletionTimestamp") or \
                MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION in annotations:
            continue
        if health.POD_CONDITIONS["kube-apiserver"] not in {
                c["type"] for c in scope.machine_conditions.get(machine["metadata"]["name"], [])
                if c.get("status") == "True"}:
            continue
        try:
            expiry = await scope.workload.serving_certificate_expiry(node, ca.cert)
        except (ClientError, EtcdError, OSError, TimeoutError, ValueError) as exc:
            log.info("kubeadmcontrolplane %s: cannot read the API server certificate of %s: %s", scope.key, node, exc)
            continue
        scope.machines[index] = await scope.io.client.patch(MACHINE, machine["metadata"]["name"], {"metadata": {
            "annotations": {MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION: rfc3339(expiry)}}},
            namespace=scope.namespace)


async def reconcile_pre_terminate_hooks(scope: ControlPlaneScope) -> None:
    """A deleting Machine that has drained gives up its etcd member (leadership moved off it first), then its
    pre-terminate hook is removed so its infrastructure can go. Never the last member; and no etcd work when
    the whole control plane is being deleted."""
    for machine in scope.deleting_machines:
        annotations = machine["metadata"].get("annotations") or {}
        if PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION not in annotations:
            continue
        deleting = get_condition(machine, "Deleting")
        if (deleting or {}).get("reason") != WAITING_FOR_MACHINE_DELETION and not scope.deleting:
            continue
        node = scope.node_name(machine)
        others = [m for m in scope.machines if m is not machine and scope.node_name(m)]
        if not scope.deleting and node and others:
            await leave_etcd(scope, node)
        await scope.io.client.patch(MACHINE, machine["metadata"]["name"], {"metadata": {
            "annotations": {PRE_TERMINATE_HOOK_CLEANUP_ANNOTATION: None}}}, namespace=scope.namespace)
        log.info("kubeadmcontrolplane %s: Machine %s may go (pre-terminate hook removed)", scope.key,
                 machine["metadata"]["name"])


async def remove_stray_etcd_members(scope: ControlPlaneScope) -> None:
    """etcd members whose Machine is gone are removed, once every Machine has its Node and etcd is healthy
    enough to lose them."""
    view = scope.view
    if scope.workload is None or view is None or view.etcd is None or view.etcd.disagreement:
        return
    nodes = {n for m in scope.machines if (n := scope.node_name(m))}
    if len(nodes) != len(scope.machines) or not nodes:
        return
    etcd = view.etcd
    stray = [m for m in etcd.members if m.name not in nodes and m.name]
    healthy = [n for n in nodes if etcd.healthy(n)]
    for member in stray:
        if len(healthy) < len(etcd.members) // 2 + 1:
            return
        await scope.workload.remove_member(etcd, member.name, via=healthy)
        log.info("kubeadmcontrolplane %s: removed etcd member %s, which has no Machine", scope.key, member.name)
