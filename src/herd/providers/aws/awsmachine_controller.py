"""AWSMachine reconcile and delete: one EC2 instance per machine, found by ID or tags before one is launched; its
bootstrap data in Secrets Manager or SSM chunks (deleted once the Machine has a Node, and on delete); control plane
instances behind the API server load balancer."""

from __future__ import annotations

import asyncio
from typing import Any

from herd.api.conditions import READY_REASON
from herd.api.objects import nested
from herd.providersdk import MachineAddress, MachineContext, MachineProvisioned, PermanentError, Waiting

from .api.awsmachine import (
    ELB_ATTACH_FAILED_REASON,
    ELB_ATTACHED,
    INSTANCE_NOT_READY_REASON,
    INSTANCE_PROVISION_FAILED_REASON,
    INSTANCE_READY,
    INSTANCE_TERMINATED_REASON,
    SECURITY_GROUPS_FAILED_REASON,
    SECURITY_GROUPS_READY,
    AWSMachineSpec,
    AWSMachineStatus,
)
from .awscluster_controller import RESYNC
from .credentials import credentials_for
from .environment import environment_of
from .failures import retryable
from .launch import chunk_prefix, launch_instance, security_groups, stored_data_of_spec
from .services import loadbalancer, userdata
from .services.instances import Instance, find_instance, terminate
from .services.scope import AWSScope

Context = MachineContext[AWSMachineSpec, AWSMachineStatus]
PENDING_RETRY = 2.0  # seconds between looks while an instance starts or stops


async def scope_of(ctx: Context) -> AWSScope:
    """The machine's cluster's view of AWS (region and additional tags from the AWSCluster)."""
    cluster_spec = nested(ctx.infra_cluster, "spec") or {}
    credentials = await credentials_for(ctx.client, ctx.namespace, cluster_spec)
    clients = await environment_of(ctx.services).clients_async(cluster_spec.get("region"), credentials)
    tags = {**(cluster_spec.get("additionalTags") or {}), **(ctx.spec.additional_tags or {})}
    return AWSScope(clients, ctx.cluster_name, tags)


async def reconcile_machine(ctx: Context) -> MachineProvisioned | Waiting:
    aws = await scope_of(ctx)
    try:
        instance = await asyncio.to_thread(find_instance, aws, ctx.name, ctx.spec.instance_id)
    except Exception as exc:
        raise _failed(ctx, exc) from exc
    if (instance is not None and instance.state == "terminated") or (instance is None and ctx.provider_id):
        ctx.status.instance_state = "terminated"
        gone = ctx.spec.instance_id or (instance.id if instance else "")
        message = f"instance {gone} is gone; the Machine needs replacing"
        ctx.set_condition(INSTANCE_READY, False, INSTANCE_TERMINATED_REASON, message)
        raise PermanentError(message, reason=INSTANCE_TERMINATED_REASON)
    if instance is None:
        if await ctx.bootstrap_format() != "cloud-config":
            raise PermanentError("only cloud-config bootstrap data is supported", reason="UnsupportedBootstrapFormat")
        try:
            instance = await launch_instance(ctx, aws)
        except PermanentError as exc:
            ctx.set_condition(INSTANCE_READY, False, INSTANCE_PROVISION_FAILED_REASON, exc.message)
            raise
        except Exception as exc:
            raise _failed(ctx, exc) from exc
    ctx.object["spec"]["instanceID"] = instance.id
    ctx.status.instance_state = instance.state  # type: ignore[assignment]
    await _ensure_security_groups(ctx, aws, instance)
    if instance.state != "running":
        ctx.set_condition(INSTANCE_READY, False, INSTANCE_NOT_READY_REASON, f"the instance is {instance.state}")
        return Waiting(INSTANCE_NOT_READY_REASON, f"instance {instance.id} is {instance.state}", PENDING_RETRY)
    ctx.set_condition(INSTANCE_READY, True, READY_REASON)
    if ctx.control_plane:
        await _attach(ctx, aws, instance)
    if nested(ctx.machine, "status", "nodeRef"):
        await _forget_bootstrap_data(ctx, aws)
    return MachineProvisioned(provider_id=instance.provider_id,
                              addresses=[MachineAddress.model_validate(address) for address in instance.addresses()],
                              recheck_after=RESYNC)


async def _ensure_security_groups(ctx: Context, aws: AWSScope, instance: Instance) -> None:
    """The instance keeps the groups of its role and its additional ones; one missing (someone took it off, or an
    additional group was added to the spec) is attached again, the others left as they are."""
    try:
        wanted = security_groups(ctx)
    except PermanentError as exc:
        ctx.set_condition(SECURITY_GROUPS_READY, False, SECURITY_GROUPS_FAILED_REASON, exc.message)
        return
    missing = [group for group in wanted if group not in instance.security_group_ids]
    if missing:
        try:
            await asyncio.to_thread(aws.clients.ec2.modify_instance_attribute, InstanceId=instance.id,
                                    Groups=[*instance.security_group_ids, *missing])
        except Exception as exc:
            error, retry = retryable(exc, SECURITY_GROUPS_FAILED_REASON)
            ctx.set_condition(SECURITY_GROUPS_READY, False, SECURITY_GROUPS_FAILED_REASON, str(error))
            raise retry from exc
    ctx.set_condition(SECURITY_GROUPS_READY, True, READY_REASON)


def _failed(ctx: Context, exc: BaseException) -> Exception:
    error, retry = retryable(exc, INSTANCE_PROVISION_FAILED_REASON)
    ctx.set_condition(INSTANCE_READY, False, INSTANCE_PROVISION_FAILED_REASON, str(error))
    return retry


def _load_balancer_of(ctx: Context) -> loadbalancer.LoadBalancer | None:
    elb = nested(ctx.infra_cluster, "status", "networkStatus", "apiServerElb") or {}
    if not elb.get("name"):
        return None
    return loadbalancer.LoadBalancer(name=elb["name"], type=elb.get("loadBalancerType") or "classic",
                                     dns_name=elb.get("dnsName") or "", scheme=elb.get("scheme") or "", ready=True,
                                     arn=elb.get("arn") or "", target_group_arn=elb.get("targetGroupArn") or "")


async def _attach(ctx: Context, aws: AWSScope, instance: Instance) -> None:
    lb = _load_balancer_of(ctx)
    if lb is None:
        ctx.set_condition(ELB_ATTACHED, False, ELB_ATTACH_FAILED_REASON, "the cluster has no load balancer yet")
        return
    try:
        await asyncio.to_thread(loadbalancer.register_instance, aws, lb, instance.id)
    except Exception as exc:
        error, retry = retryable(exc, ELB_ATTACH_FAILED_REASON)
        ctx.set_condition(ELB_ATTACHED, False, ELB_ATTACH_FAILED_REASON, str(error))
        raise retry from exc
    ctx.set_condition(ELB_ATTACHED, True, READY_REASON)


async def _forget_bootstrap_data(ctx: Context, aws: AWSScope) -> None:
    """The Node joined: the chunks have done their job (the boot script deletes them too, when it can)."""
    stored = stored_data_of_spec(ctx.spec)
    if stored is None or not stored.count:
        return
    try:
        await asyncio.to_thread(userdata.delete, aws, stored)
    except Exception as exc:
        raise retryable(exc, "SecretDeletionFailed")[1] from exc
    cloud_init: dict[str, Any] = ctx.object["spec"].setdefault("cloudInit", {})
    cloud_init["secretCount"] = 0


async def delete_machine(ctx: Context) -> Waiting | None:
    """Deregister from the load balancer, terminate the instance, delete the bootstrap data chunks."""
    aws = await scope_of(ctx)
    try:
        instance = await asyncio.to_thread(find_instance, aws, ctx.name, ctx.spec.instance_id)
        if instance is not None and instance.state != "terminated":
            lb = _load_balancer_of(ctx)
            if ctx.control_plane and lb is not None:
                await asyncio.to_thread(loadbalancer.deregister_instance, aws, lb, instance.id)
            if not await asyncio.to_thread(terminate, aws, instance.id):
                ctx.status.instance_state = "shutting-down"
                return Waiting("InstanceTerminating", f"instance {instance.id} is shutting down", PENDING_RETRY)
        backend, prefix = chunk_prefix(ctx)
        if prefix:
            await asyncio.to_thread(userdata.delete_all, aws, backend, prefix)
    except Exception as exc:
        raise retryable(exc, "DeletionFailed")[1] from exc
    ctx.status.instance_state = "terminated"
    return None
