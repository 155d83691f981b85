"""The AWS provider's controllers against an API server and a moto server: what a user sees on an AWSCluster and its
AWSMachines (CAPA's conditions, endpoint, failure domains, providerID, instance state), what lands in AWS (the
instance's CAPA-shaped user data, chunks that reassemble to the bootstrap data, load balancer registration), errors
injected with botocore hooks as conditions that clear, and deletion that leaves nothing behind.

Only the provider's two controllers run: the test plays the Cluster and Machine controllers' part by hand."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from support.aws_moto import REGION, MotoServer
from support.manager import ensure_namespace, install_crds, running
from support.plane import ServedPlane
from support.waiting import eventually

from herd.api.cluster import CLUSTER, MACHINE
from herd.providers.aws.environment import AWSEnvironment
from herd.providers.aws.provider import provider as aws_provider
from herd.providers.aws.services import loadbalancer, userdata
from herd.providers.aws.services.clients import AWSClients, make_clients
from herd.providers.aws.services.instances import user_data_of
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.scope import AWSScope
from herd.providersdk import Backoff
from herd.runtime import SECRET, Client, Manager, NotFound, Object

PROVIDER = dataclasses.replace(aws_provider, backoff=Backoff(initial=0.3, factor=2.0, maximum=5.0))
NAMES = (f"aws{i}" for i in itertools.count())


@dataclasses.dataclass
class Faults:
    """Errors the next calls of an operation meet (botocore before-call hooks), and when RunInstances was called."""

    pending: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # operation → error codes, in order
    attempts: list[float] = dataclasses.field(default_factory=list)

    def install(self, clients: AWSClients) -> None:
        clients.register("before-call.*.*", self._before_call)

    def _before_call(self, model: Any = None, **_: Any) -> None:
        if model.name == "RunInstances":
            self.attempts.append(time.monotonic())
        codes = self.pending.get(model.name)
        if codes:
            raise ClientError({"Error": {"Code": codes.pop(0), "Message": "injected"}}, model.name)


@dataclasses.dataclass
class World:
    client: Client
    env: AWSEnvironment
    faults: Faults
    namespace: str = ""
    cluster: Object = dataclasses.field(default_factory=dict)

    async def get(self, kind: Any, name: str) -> Object:
        return await self.client.get(kind, name, self.namespace)

    async def conditions(self, kind: Any, name: str) -> dict[str, tuple[str, str, str]]:
        obj = await self.get(kind, name)
        return {c["type"]: (c["status"], c["reason"], c.get("message", ""))
                for c in (obj.get("status") or {}).get("conditions") or []}

    def aws(self) -> AWSScope:
        return AWSScope(self.env.clients(REGION), self.namespace)


@pytest.fixture
async def world(shared_plane: ServedPlane, moto: MotoServer) -> AsyncIterator[World]:
    management = Client.from_kubeconfig(shared_plane.kubeconfig)
    await install_crds(management, PROVIDER.crds())
    faults = Faults()
    env = AWSEnvironment(endpoint_url=moto.url, max_attempts=1, on_new_clients=[faults.install],
                         credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"})
    manager = Manager(management, health_port=None)
    PROVIDER.add_to(manager, services=env)
    async with running(manager):
        yield World(management, env, faults)
    await management.close()


def _owner(obj: Object) -> list[dict[str, Any]]:
    return [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
             "uid": obj["metadata"]["uid"]}]


async def _new_cluster(world: World, spec: dict[str, Any]) -> None:
    """A Cluster named after its namespace (AWS tags carry the cluster's name) and its AWSCluster."""
    world.namespace = f"{next(NAMES)}-{int(time.time() * 1000) % 100000}"
    name = world.namespace
    await ensure_namespace(world.client, world.namespace)
    world.cluster = await world.client.create({
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
        "metadata": {"name": name, "namespace": world.namespace},
        "spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSCluster",
                                       "name": name}}}, kind=CLUSTER)
    await world.client.create({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
        "metadata": {"name": name, "namespace": world.namespace, "ownerReferences": _owner(world.cluster),
                     "labels": {"cluster.x-k8s.io/cluster-name": name}},
        "spec": {"region": REGION, **spec}}, kind=PROVIDER.cluster_kind)


async def _provisioned(world: World, kind: Any, name: str) -> Object:
    async def probe() -> Object | bool:
        obj = await world.get(kind, name)
        return obj if (obj.get("status") or {}).get("initialization", {}).get("provisioned") else False
    try:
        return await eventually(probe, f"{kind.kind} {name} provisioned", timeout=60)
    except AssertionError as exc:
        obj = await world.get(kind, name)
        raise AssertionError(f"{exc}: {(obj.get('status') or {}).get('conditions')}") from None


async def _new_machine(world: World, name: str, *, control_plane: bool, zone: str, spec: dict[str, Any]) -> None:
    data = f"#cloud-config\n# {name}\n" + "runcmd: [kubeadm join]\n" * 900  # several chunks' worth once gzipped?
    await world.client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": f"{name}-data", "namespace": world.namespace}, "data": {
        "value": base64.b64encode(data.encode()).decode()}}, kind=SECRET)
    labels = {"cluster.x-k8s.io/cluster-name": world.namespace}
    if control_plane:
        labels["cluster.x-k8s.io/control-plane"] = ""
    machine = await world.client.create({
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
        "metadata": {"name": name, "namespace": world.namespace, "labels": labels},
        "spec": {"clusterName": world.namespace, "version": "v1.33.1", "failureDomain": zone,
                 "bootstrap": {"dataSecretName": f"{name}-data"},
                 "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSMachine",
                                       "name": name}}}, kind=MACHINE)
    await world.client.create({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachine",
        "metadata": {"name": name, "namespace": world.namespace, "ownerReferences": _owner(machine),
                     "labels": labels},
        "spec": {"instanceType": "t3.large", **spec}}, kind=PROVIDER.machine_kind)


async def _cluster_initialized(world: World) -> None:
    await world.client.patch_status(CLUSTER, world.namespace, {"status": {"initialization": {
        "infrastructureProvisioned": True, "controlPlaneInitialized": True}}}, namespace=world.namespace)


async def test_a_cluster_and_its_machines_are_built_in_aws_and_leave_nothing_behind(world: World) -> None:
    await _new_cluster(world, {"controlPlaneLoadBalancer": {"loadBalancerType": "nlb", "dnsResolutionCheck": "None"}})
    cluster = await _provisioned(world, PROVIDER.cluster_kind, world.namespace)

    elb = cluster["status"]["networkStatus"]["apiServerElb"]
    assert cluster["spec"]["controlPlaneEndpoint"] == {"host": elb["dnsName"], "port": 6443}
    assert [fd["name"] for fd in cluster["status"]["failureDomains"]] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert cluster["spec"]["network"]["vpc"]["id"].startswith("vpc-")
    assert len(cluster["spec"]["network"]["subnets"]) == 6
    conditions = await world.conditions(PROVIDER.cluster_kind, world.namespace)
    for condition in ("VpcReady", "SubnetsReady", "InternetGatewayReady", "NatGatewaysReady", "RouteTablesReady",
                      "ClusterSecurityGroupsReady", "LoadBalancerReady", "Ready"):
        assert conditions[condition][0] == "True", (condition, conditions[condition])

    await _cluster_initialized(world)
    await _new_machine(world, "cp-0", control_plane=True, zone="us-east-1b", spec={})
    await _new_machine(world, "md-0", control_plane=False, zone="us-east-1a",
                       spec={"cloudInit": {"secureSecretsBackend": "ssm"}})
    older = world.aws().clients.ec2.describe_images(Filters=[{"Name": "name", "Values": [
        "capa-ami-flatcar-stable-v1.32.5-*"]}])["Images"][0]["ImageId"]
    await _new_machine(world, "md-1", control_plane=False, zone="us-east-1c",
                       spec={"ami": {"id": older}, "uncompressedUserData": True,
                             "cloudInit": {"insecureSkipSecretsManager": True}})
    cp = await _provisioned(world, PROVIDER.machine_kind, "cp-0")
    worker = await _provisioned(world, PROVIDER.machine_kind, "md-0")
    plain = await _provisioned(world, PROVIDER.machine_kind, "md-1")

    assert cp["spec"]["providerID"] == f"aws:///us-east-1b/{cp['spec']['instanceID']}"
    assert worker["spec"]["providerID"].startswith("aws:///us-east-1a/i-")
    assert cp["status"]["instanceState"] == "running"
    assert {a["type"] for a in cp["status"]["addresses"]} >= {"InternalIP", "InternalDNS"}
    machine_conditions = await world.conditions(PROVIDER.machine_kind, "cp-0")
    assert [machine_conditions[c][0] for c in ("InstanceReady", "SecurityGroupsReady", "ELBAttached")] == ["True"] * 3

    aws = world.aws()
    for name, backend in (("cp-0", "secrets-manager"), ("md-0", "ssm")):
        obj = await world.get(PROVIDER.machine_kind, name)
        raw = user_data_of(aws, obj["spec"]["instanceID"])
        assert raw.startswith(b"Content-Type: multipart/mixed") and b"text/cloud-boothook" in raw
        stored = userdata.stored_data_of(raw)
        assert stored is not None and stored.backend == backend and stored.count >= 1
        secret = await world.client.get(SECRET, f"{name}-data", world.namespace)
        assert userdata.unpack(userdata.fetch(aws, stored)) == base64.b64decode(secret["data"]["value"])
    # insecureSkipSecretsManager: the data itself is the user data (uncompressed as asked), the AMI the one named
    md1_data = await world.client.get(SECRET, "md-1-data", world.namespace)
    assert user_data_of(aws, plain["spec"]["instanceID"]) == base64.b64decode(md1_data["data"]["value"])
    described = aws.clients.ec2.describe_instances(InstanceIds=[plain["spec"]["instanceID"]])
    assert described["Reservations"][0]["Instances"][0]["ImageId"] == older
    assert "secretPrefix" not in (plain["spec"].get("cloudInit") or {})
    chunks = owned_resources(aws)
    assert all(name.startswith(cp["spec"]["cloudInit"]["secretPrefix"]) for name in chunks["secrets"])
    assert all(name.startswith(worker["spec"]["cloudInit"]["secretPrefix"]) for name in chunks["parameters"])
    lb = loadbalancer.LoadBalancer(name=elb["name"], type="nlb", dns_name="", scheme="", ready=True,
                                   target_group_arn=elb["targetGroupArn"])
    assert loadbalancer.registered(aws, lb) == [cp["spec"]["instanceID"]]
    image = aws.clients.ec2.describe_instances(InstanceIds=[cp["spec"]["instanceID"]])["Reservations"][0][
        "Instances"][0]["ImageId"]
    assert aws.clients.ec2.describe_images(ImageIds=[image])["Images"][0]["CreationDate"].startswith("2026-06")

    # A group taken off the instance behind the provider's back is attached again on the next reconcile.
    node_group = cluster["status"]["networkStatus"]["securityGroups"]["node"]["id"]
    aws.clients.ec2.modify_instance_attribute(InstanceId=cp["spec"]["instanceID"], Groups=[node_group])
    await world.client.patch(PROVIDER.machine_kind, "cp-0", {"metadata": {"annotations": {"poke": "1"}}},
                             namespace=world.namespace)

    def groups_back() -> bool:
        described = aws.clients.ec2.describe_instances(InstanceIds=[cp["spec"]["instanceID"]])
        attached = {g["GroupId"] for g in described["Reservations"][0]["Instances"][0]["SecurityGroups"]}
        return len(attached) == 3  # node, lb and controlplane
    await eventually(groups_back, "the control plane instance's security groups attached again")

    # A Node joined: the chunks have done their job.
    await world.client.patch_status(MACHINE, "cp-0", {"status": {"nodeRef": {"name": "cp-0"}}},
                                    namespace=world.namespace)
    await eventually(lambda: not owned_resources(aws)["secrets"], "the joined machine's secrets deleted")

    await world.client.delete(PROVIDER.cluster_kind, world.namespace, world.namespace)
    await eventually(lambda: _condition_reason(world, PROVIDER.cluster_kind, world.namespace, "Deleting"),
                     "the AWSCluster waiting for its machines")
    for name in ("cp-0", "md-0", "md-1"):
        await world.client.delete(PROVIDER.machine_kind, name, world.namespace)
    await eventually(lambda: _gone(world, PROVIDER.cluster_kind, world.namespace), "the AWSCluster gone", timeout=60)
    assert all(not ids for ids in owned_resources(aws).values()), owned_resources(aws)


async def _condition_reason(world: World, kind: Any, name: str, reason: str) -> bool:
    found = await world.conditions(kind, name)
    return any(entry[1] == reason for entry in found.values())


async def _gone(world: World, kind: Any, name: str) -> bool:
    try:
        await world.get(kind, name)
    except NotFound:
        return True
    return False


async def test_throttling_and_capacity_errors_are_conditions_retried_with_growing_delays(world: World) -> None:
    world.faults.pending["CreateNatGateway"] = ["RequestLimitExceeded"] * 2
    await _new_cluster(world, {"network": {"vpc": {"availabilityZoneUsageLimit": 1}},
                               "controlPlaneLoadBalancer": {"dnsResolutionCheck": "None"}})

    async def throttled() -> tuple[str, str, str] | bool:
        found = (await world.conditions(PROVIDER.cluster_kind, world.namespace)).get("NatGatewaysReady", ("",) * 3)
        return found if "RequestLimitExceeded" in found[2] else False

    assert (await eventually(throttled, "NatGatewaysReady naming the throttling"))[:2] == (
        "False", "NatGatewaysReconciliationFailed")
    await _provisioned(world, PROVIDER.cluster_kind, world.namespace)
    made = owned_resources(world.aws())
    assert len(made["nat-gateways"]) == len(made["elastic-ips"]) == 1  # the failed attempts' address is reused
    await _cluster_initialized(world)
    world.faults.pending["RunInstances"] = ["InsufficientInstanceCapacity"] * 3
    await _new_machine(world, "md-0", control_plane=False, zone="us-east-1a", spec={})

    async def failing() -> tuple[str, str, str] | bool:
        found = await world.conditions(PROVIDER.machine_kind, "md-0")
        return found["InstanceReady"] if "InsufficientInstanceCapacity" in found.get("InstanceReady", ("",) * 3)[2] \
            else False

    status, reason, _ = await eventually(failing, "InstanceReady naming the capacity error")
    assert (status, reason) == ("False", "InstanceProvisionFailed")
    provisioned = (await world.conditions(PROVIDER.machine_kind, "md-0"))["Provisioned"]
    assert provisioned[1] == "InsufficientInstanceCapacity"
    await _provisioned(world, PROVIDER.machine_kind, "md-0")
    gaps = [b - a for a, b in itertools.pairwise(world.faults.attempts[:4])]
    # the backoff doubles (0.3 s, 0.6 s, 1.2 s) on top of each reconcile's own time
    assert len(gaps) == 3 and gaps[0] < gaps[1] < gaps[2] and gaps[2] - gaps[0] > 0.6, gaps
    assert len(owned_resources(world.aws())["instances"]) == 1

    await world.client.delete(PROVIDER.machine_kind, "md-0", world.namespace)
    await world.client.delete(PROVIDER.cluster_kind, world.namespace, world.namespace)
    await eventually(lambda: _gone(world, PROVIDER.cluster_kind, world.namespace), "the AWSCluster gone", timeout=60)
    assert all(not ids for ids in owned_resources(world.aws()).values())


async def test_without_a_load_balancer_the_users_endpoint_is_kept_and_alb_is_refused(world: World) -> None:
    await _new_cluster(world, {"controlPlaneLoadBalancer": {"loadBalancerType": "alb"}})

    async def refused() -> bool:
        found = await world.conditions(PROVIDER.cluster_kind, world.namespace)
        return found.get("Provisioned", ("", "", ""))[1] == "InvalidSpec"
    await eventually(refused, "alb refused as an invalid spec")
    assert not owned_resources(world.aws())["vpcs"], "nothing is built for a spec that cannot work"

    await _new_cluster(world, {"network": {"vpc": {"availabilityZoneUsageLimit": 1}},
                               "controlPlaneEndpoint": {"host": "api.example.test", "port": 443},
                               "controlPlaneLoadBalancer": {"loadBalancerType": "disabled"}})
    cluster = await _provisioned(world, PROVIDER.cluster_kind, world.namespace)
    assert cluster["spec"]["controlPlaneEndpoint"] == {"host": "api.example.test", "port": 443}
    made = owned_resources(world.aws())
    assert made["load-balancers"] == [] and len(made["vpcs"]) == 1
    await world.client.delete(PROVIDER.cluster_kind, world.namespace, world.namespace)
    await eventually(lambda: _gone(world, PROVIDER.cluster_kind, world.namespace), "the AWSCluster gone", timeout=60)
    assert all(not ids for ids in owned_resources(world.aws()).values())


def _access_key_in_another_account(moto: MotoServer, account: str) -> dict[str, str]:
    """An IAM user's access key in `account` of the moto server (moto answers a key's calls in its account)."""
    iam = make_clients(REGION, endpoint_url=moto.url, credentials={"AccessKeyID": "testing",
                                                                   "SecretAccessKey": "testing"}).session.client(
        "iam", endpoint_url=moto.url, region_name=REGION)

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account
    iam.meta.events.register("before-sign.iam.*", in_account)
    iam.create_user(UserName="capa")
    key = iam.create_access_key(UserName="capa")["AccessKey"]
    return {"AccessKeyID": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


async def test_an_identity_secret_names_the_credentials_the_cluster_is_built_with(world: World,
                                                                                   moto: MotoServer) -> None:
    keys = _access_key_in_another_account(moto, "222222222222")
    await _new_cluster(world, {"network": {"vpc": {"availabilityZoneUsageLimit": 1}},
                               "identityRef": {"kind": "Secret", "name": "aws-identity"},
                               "controlPlaneLoadBalancer": {"dnsResolutionCheck": "None"}})

    async def waiting_for_the_secret() -> bool:
        found = await world.conditions(PROVIDER.cluster_kind, world.namespace)
        return found.get("Provisioned", ("", "", ""))[1] == "InvalidIdentity"
    await eventually(waiting_for_the_secret, "InvalidIdentity while the Secret is missing")
    await world.client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "aws-identity", "namespace": world.namespace}, "data": {
        key: base64.b64encode(value.encode()).decode() for key, value in keys.items()}}, kind=SECRET)
    cluster = await _provisioned(world, PROVIDER.cluster_kind, world.namespace)

    theirs = AWSScope(world.env.clients(REGION, keys), world.namespace)
    assert owned_resources(theirs)["vpcs"] == [cluster["spec"]["network"]["vpc"]["id"]]
    assert owned_resources(world.aws())["vpcs"] == [], "nothing in the controller's own account"
    await world.client.delete(PROVIDER.cluster_kind, world.namespace, world.namespace)
    await eventually(lambda: _gone(world, PROVIDER.cluster_kind, world.namespace), "the AWSCluster gone", timeout=60)
    assert all(not ids for ids in owned_resources(theirs).values())
