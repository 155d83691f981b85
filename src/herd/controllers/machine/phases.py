"""The Machine's life, in order: bootstrap data, infrastructure, then the Node in the workload cluster."""

from __future__ import annotations

import logging

from herd.api.cluster.labels import MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION
from herd.api.objects import nested, parse_time, rfc3339
from herd.contract.references import ensure_owned, is_data_secret_created, is_provisioned
from herd.runtime import ClientError, ObjectKey, Result, Unreachable, recorder_for

from .deletion import EVENT_SOURCE
from .node import node_info, node_patch
from .scope import CONNECTION_DOWN, INTERNAL_ERROR, MachineScope

log = logging.getLogger("herd.controllers.machine")


def _record_failure(scope: MachineScope, reason: str, message: str) -> None:
    """v1beta1's failureReason/failureMessage, kept under status.deprecated.v1beta1 (they make the phase Failed)."""
    v1beta1 = scope.status.setdefault("deprecated", {}).setdefault("v1beta1", {})
    v1beta1["failureReason"] = reason
    v1beta1["failureMessage"] = message


def _copy_failures(scope: MachineScope, obj: dict[str, object]) -> None:
    reason, message = nested(obj, "status", "failureReason"), nested(obj, "status", "failureMessage")
    if reason or message:
        meta = obj.get("metadata") or {}
        name = meta.get("name") if isinstance(meta, dict) else ""
        _record_failure(scope, str(reason or ""), f"Failure detected from referenced resource "
                        f"{obj.get('kind')} with name {name!r}: {message or ''}")


async def reconcile_bootstrap(scope: MachineScope) -> Result | None:
    """Own the bootstrap config and, once it has created the data Secret, take its name."""
    bootstrap = scope.spec.get("bootstrap") or {}
    if bootstrap.get("dataSecretName"):
        scope.initialization["bootstrapDataSecretCreated"] = True  # data given directly, or taken before
    ref = bootstrap.get("configRef")
    if not ref:
        return None
    if scope.bootstrap_config is None or scope.bootstrap_kind is None:
        if scope.deleting:
            return None
        log.info("machine %s: waiting for %s %s to exist", ObjectKey.of(scope.machine), ref.get("kind"),
                 ref.get("name"))
        return Result(requeue_after=scope.io.external_ready_wait)
    config = scope.bootstrap_config = await ensure_owned(scope.io.client, scope.bootstrap_kind.kind,
                                                         scope.bootstrap_config, scope.machine,
                                                         str(scope.spec.get("clusterName", "")))
    _copy_failures(scope, config)
    if bootstrap.get("dataSecretName") or nested(config, "metadata", "deletionTimestamp"):
        return None
    if not is_data_secret_created(config, scope.bootstrap_kind.contract):
        return None  # the provider's next status update wakes us through the tracker
    secret_name = nested(config, "status", "dataSecretName")
    if not secret_name:
        raise RuntimeError(f"{ref.get('kind')} {ref.get('name')} reports its data Secret created but no "
                           "status.dataSecretName")
    scope.spec.setdefault("bootstrap", {})["dataSecretName"] = str(secret_name)
    scope.initialization["bootstrapDataSecretCreated"] = True
    log.info("machine %s: bootstrap data in Secret %s", ObjectKey.of(scope.machine), secret_name)
    return None


async def reconcile_infrastructure(scope: MachineScope) -> Result | None:
    """Own the infrastructure machine; once provisioned, take its providerID, addresses and failure domain."""
    ref = scope.spec.get("infrastructureRef") or {}
    if scope.infra_machine is None or scope.infra_kind is None:
        if scope.deleting:
            return None
        if scope.infrastructure_provisioned:
            message = (f"Machine infrastructure resource {ref.get('kind')} {ref.get('name')} has been deleted "
                       "after provisioning was completed")
            _record_failure(scope, "InvalidConfiguration", message)
            raise RuntimeError(message)
        log.info("machine %s: waiting for %s %s to exist", ObjectKey.of(scope.machine), ref.get("kind"),
                 ref.get("name"))
        return Result(requeue_after=scope.io.external_ready_wait)
    infra = scope.infra_machine = await ensure_owned(scope.io.client, scope.infra_kind.kind, scope.infra_machine,
                                                     scope.machine, str(scope.spec.get("clusterName", "")))
    _copy_failures(scope, infra)
    if nested(infra, "metadata", "deletionTimestamp"):
        return None
    provisioned = is_provisioned(infra, scope.infra_kind.contract)
    if not provisioned and not scope.infrastructure_provisioned:
        return None
    provider_id = nested(infra, "spec", "providerID")
    if not provider_id:
        raise RuntimeError(f"{ref.get('kind')} {ref.get('name')} is provisioned but has no spec.providerID")
    addresses = nested(infra, "status", "addresses")
    if isinstance(addresses, list):
        scope.status["addresses"] = addresses
    # where the provider says the machine runs; else where its owner placed it (spec.failureDomain)
    failure_domain = (nested(infra, "status", "failureDomain") or nested(infra, "spec", "failureDomain")
                      or scope.spec.get("failureDomain"))
    if failure_domain:
        scope.status["failureDomain"] = str(failure_domain)
    if not scope.infrastructure_provisioned:
        log.info("machine %s: infrastructure provisioned as %s", ObjectKey.of(scope.machine), provider_id)
    scope.spec["providerID"] = str(provider_id)
    scope.initialization["infrastructureProvisioned"] = True
    return None


async def reconcile_node(scope: MachineScope) -> Result | None:
    """Find the Node with the Machine's providerID, record it, and keep its labels, annotations and taints."""
    if not scope.provider_id:
        return None
    io, key = scope.io, scope.cluster_key
    try:
        node = await io.cluster_cache.get_node_by_provider_id(key, scope.provider_id)
    except Unreachable as exc:  # includes ClusterNotConnected: no kubeconfig yet, or the server is away
        log.info("machine %s: workload cluster %s not reachable: %s", ObjectKey.of(scope.machine), key, exc)
        scope.node_error = CONNECTION_DOWN
        return Result(requeue_after=io.node_wait)
    except ClientError:
        scope.node_error = INTERNAL_ERROR
        raise
    if node is None:
        return Result(requeue_after=io.node_wait)  # the Node's creation also wakes us (cluster cache listener)
    scope.node = node
    name = str(node["metadata"]["name"])
    if scope.node_ref_name != name:
        log.info("machine %s: Node %s", ObjectKey.of(scope.machine), name)
        await recorder_for(io.client, EVENT_SOURCE).normal(scope.machine, "SuccessfulSetNodeRef", name)
    scope.status["nodeRef"] = {"name": name}
    info = node_info(node)
    if info is not None:
        scope.status["nodeInfo"] = info
    patch = node_patch(scope.machine, node, interruptible=nested(scope.infra_machine, "status", "interruptible")
                       is True)
    if patch is not None:
        scope.node = await io.cluster_cache.patch_node(key, name, patch)
    return None


async def reconcile_certificate_expiry(scope: MachineScope) -> Result | None:
    """A control plane Machine reports when its certificates expire: its own annotation, else its config's."""
    if not scope.is_control_plane:
        return None
    key = MACHINE_CERTIFICATES_EXPIRY_DATE_ANNOTATION
    value = (scope.meta.get("annotations") or {}).get(key) or \
        (nested(scope.bootstrap_config, "metadata", "annotations") or {}).get(key)
    if not value:
        scope.status.pop("certificatesExpiryDate", None)
        return None
    expiry = parse_time(value)
    if expiry is None:
        raise ValueError(f"{key} is not an RFC 3339 time: {value!r}")
    scope.status["certificatesExpiryDate"] = rfc3339(expiry)
    return None


PHASES = (reconcile_bootstrap, reconcile_infrastructure, reconcile_node, reconcile_certificate_expiry)
