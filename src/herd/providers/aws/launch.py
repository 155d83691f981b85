"""What a new instance is made of: the AMI, the subnet of the Machine's failure domain, the security groups of its
role, and user data that carries (or fetches) the bootstrap data."""

from __future__ import annotations

import asyncio
from typing import Any

from herd.api.objects import nested
from herd.providersdk import MachineContext, PermanentError

from .api.awsmachine import AWSMachineSpec, AWSMachineStatus
from .services import images, userdata
from .services import tags as tagging
from .services.instances import Instance, LaunchSpec, launch
from .services.scope import AWSScope
from .services.securitygroups import CONTROL_PLANE, LB, NODE

Context = MachineContext[AWSMachineSpec, AWSMachineStatus]
_architectures: dict[str, str] = {}  # instance type → CPU architecture, which never changes


def stored_data_of_spec(spec: AWSMachineSpec) -> userdata.StoredData | None:
    """Where the spec says the bootstrap data chunks are (None with insecureSkipSecretsManager or before launch)."""
    cloud_init = spec.cloud_init
    if cloud_init is None or cloud_init.insecure_skip_secrets_manager or not cloud_init.secret_prefix:
        return None
    return userdata.StoredData(cloud_init.secure_secrets_backend or userdata.SECRETS_MANAGER,
                               cloud_init.secret_prefix, cloud_init.secret_count or 0)


def chunk_prefix(ctx: Context) -> tuple[str, str]:
    """The backend and name prefix of the machine's bootstrap data chunks ("" with insecureSkipSecretsManager):
    the recorded prefix, else the one fixed by the AWSMachine's uid."""
    cloud_init = ctx.spec.cloud_init
    backend = (cloud_init.secure_secrets_backend if cloud_init else None) or userdata.SECRETS_MANAGER
    if cloud_init is not None and cloud_init.insecure_skip_secrets_manager:
        return backend, ""
    uid = str(nested(ctx.object, "metadata", "uid") or ctx.name)
    return backend, (cloud_init.secret_prefix if cloud_init else None) or userdata.secret_prefix(backend, uid)


async def launch_instance(ctx: Context, aws: AWSScope) -> Instance:
    """Find the AMI, store the bootstrap data, and start the instance; the chunks' prefix and count are recorded
    in the spec first, so a delete finds them even if the launch fails."""
    spec = ctx.spec
    cluster_spec: dict[str, Any] = nested(ctx.infra_cluster, "spec") or {}
    role = tagging.ROLE_CONTROL_PLANE if ctx.control_plane else tagging.ROLE_NODE
    if not spec.instance_type:
        raise PermanentError("spec.instanceType is required", reason="InvalidSpec")
    subnet_id = _subnet(ctx, cluster_spec)
    groups = security_groups(ctx)
    architecture = await asyncio.to_thread(images.architecture_of, aws, spec.instance_type, _architectures)
    image = await asyncio.to_thread(
        images.find_image, aws, spec.ami.id if spec.ami else None,
        spec.image_lookup_format or cluster_spec.get("imageLookupFormat"),
        spec.image_lookup_org or cluster_spec.get("imageLookupOrg"),
        spec.image_lookup_base_os or cluster_spec.get("imageLookupBaseOS"), ctx.version, architecture)
    data = userdata.compress(await ctx.bootstrap_data(), bool(spec.uncompressed_user_data))
    cloud_init = spec.cloud_init
    if cloud_init is not None and cloud_init.insecure_skip_secrets_manager:
        user_data = data
    else:
        backend, prefix = chunk_prefix(ctx)
        stored = await asyncio.to_thread(userdata.store, aws, backend, prefix, data, ctx.name, role)
        recorded: dict[str, Any] = ctx.object["spec"].setdefault("cloudInit", {})
        recorded.update(secretPrefix=stored.prefix, secretCount=stored.count)
        user_data = userdata.boot_user_data(stored, aws.clients.region, aws.clients.endpoint_url)
    root = spec.root_volume.to_dict() if spec.root_volume else None
    launch_spec = LaunchSpec(
        machine=ctx.name, role=role, image_id=image.id, root_device_name=image.root_device_name,
        instance_type=spec.instance_type, subnet_id=subnet_id, security_group_ids=groups, user_data=user_data,
        iam_instance_profile=spec.iam_instance_profile, ssh_key_name=spec.ssh_key_name or cluster_spec.get(
            "sshKeyName"), root_volume=root, additional_tags=aws.additional_tags, public_ip=bool(spec.public_ip))
    instance = await asyncio.to_thread(launch, aws, launch_spec)
    await ctx.event("InstanceCreated",
                    f"created instance {instance.id} from {image.id} in {instance.availability_zone}")
    return instance


def _subnet(ctx: Context, cluster_spec: dict[str, Any]) -> str:
    """`spec.subnet.id`, else the (private, or public with publicIP) subnet of the Machine's failure domain."""
    if ctx.spec.subnet and ctx.spec.subnet.id:
        return ctx.spec.subnet.id
    public = bool(ctx.spec.public_ip)
    subnets = [s for s in nested(cluster_spec, "network", "subnets") or [] if bool(s.get("isPublic")) == public]
    zone = ctx.failure_domain
    if zone:
        subnets = [s for s in subnets if s.get("availabilityZone") == zone]
    if not subnets:
        where = f" in failure domain {zone}" if zone else ""
        raise PermanentError(f"the AWSCluster has no {'public' if public else 'private'} subnet{where}",
                             reason="SubnetNotFound")
    return str(subnets[0].get("resourceID") or subnets[0]["id"])


def security_groups(ctx: Context) -> list[str]:
    """The groups of the machine's roles (node and lb; controlplane too for control plane machines), overridden
    per role by the machine's then the cluster's overrides, plus the additional groups named by ID."""
    known = nested(ctx.infra_cluster, "status", "networkStatus", "securityGroups") or {}
    cluster_overrides = nested(ctx.infra_cluster, "spec", "network", "securityGroupOverrides") or {}
    overrides = {**cluster_overrides, **(ctx.spec.security_group_overrides or {})}
    roles = [NODE, LB, *([CONTROL_PLANE] if ctx.control_plane else [])]
    groups = []
    for role in roles:
        group = overrides.get(role) or (known.get(role) or {}).get("id")
        if not group:
            raise PermanentError(f"the cluster has no {role} security group yet", reason="SecurityGroupNotFound")
        groups.append(str(group))
    groups += [ref.id for ref in ctx.spec.additional_security_groups or [] if ref.id]
    return groups
