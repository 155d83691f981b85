"""`herd up --provider herd.providers.aws.provider:provider` against a moto server: killed with SIGKILL twice while a
cluster's AWS infrastructure is being built and restarted each time, it ends with exactly one VPC, one load balancer
and one instance per Machine (everything is found by its tags before anything is created); deleting the Cluster
then leaves nothing tagged for it in AWS.

The Machines are control plane Machines with plain bootstrap data Secrets (no control plane provider), so only
the core controllers and the AWS provider take part."""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.aws_moto import REGION, MotoServer, moto_server
from support.herd_up import HerdUp
from support.waiting import eventually_sync

from herd.providers.aws.services.clients import make_clients
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.scope import AWSScope

CLUSTER, NAMESPACE, MACHINES = "crash", "default", ("cp-0", "cp-1", "cp-2")
PROVIDER_FLAG = ("--provider", "herd.providers.aws.provider:provider")


def manifest() -> str:
    objects: list[dict[str, object]] = [
        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
         "metadata": {"name": CLUSTER, "namespace": NAMESPACE},
         "spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSCluster",
                                        "name": CLUSTER}}},
        {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
         "metadata": {"name": CLUSTER, "namespace": NAMESPACE},
         "spec": {"region": REGION, "network": {"vpc": {"availabilityZoneUsageLimit": 3}},
                  "controlPlaneLoadBalancer": {"loadBalancerType": "nlb", "dnsResolutionCheck": "None"}}},
    ]
    for index, name in enumerate(MACHINES):
        data = base64.b64encode(f"#cloud-config\n# {name}\n".encode()).decode()
        objects += [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-data", "namespace": NAMESPACE},
             "data": {"value": data}},
            {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
             "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"cluster.x-k8s.io/control-plane": ""}},
             "spec": {"clusterName": CLUSTER, "version": "v1.33.1", "failureDomain": f"us-east-1{'abc'[index]}",
                      "bootstrap": {"dataSecretName": f"{name}-data"},
                      "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSMachine",
                                            "name": name}}},
            {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachine",
             "metadata": {"name": name, "namespace": NAMESPACE}, "spec": {"instanceType": "t3.large"}},
        ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(Path(tmp_path_factory.mktemp("moto"))) as server:
        yield server


def _inventory(moto: MotoServer) -> dict[str, list[str]]:
    clients = make_clients(REGION, endpoint_url=moto.url, max_attempts=1,
                           credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"})
    return owned_resources(AWSScope(clients, CLUSTER))


def _provisioned(herd: HerdUp) -> int:
    return sum(1 for m in herd.items("awsmachines", NAMESPACE)
               if (m.get("status") or {}).get("initialization", {}).get("provisioned"))


def test_killed_twice_while_building_it_makes_each_resource_once_and_deletes_them_all(
        tmp_path: Path, moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in moto.env().items():
        monkeypatch.setenv(key, value)
    clients = make_clients(REGION, endpoint_url=moto.url, max_attempts=1,
                           credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"})
    ec2 = clients.ec2
    data, cache = tmp_path / "data", tmp_path / "kubectl-cache"

    herd = HerdUp.start(data, cache, *PROVIDER_FLAG)
    try:
        herd.kubectl("apply", "-f", "-", input=manifest())
        # first kill: the VPC exists, the rest of the network does not (yet)
        eventually_sync(lambda: ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{CLUSTER}-vpc"]}])[
            "Vpcs"], "the VPC created", timeout=60, poll=0.02)
        herd.process.stop(signal.SIGKILL)
        herd = HerdUp.start(data, cache, *PROVIDER_FLAG)
        # second kill: the first instance runs, its status may not be written
        eventually_sync(lambda: _inventory(moto)["instances"], "an instance launched", timeout=90, poll=0.05)
        herd.process.stop(signal.SIGKILL)
        herd = HerdUp.start(data, cache, *PROVIDER_FLAG)

        eventually_sync(lambda: _provisioned(herd) == len(MACHINES), "every AWSMachine provisioned", timeout=120)
        found = _inventory(moto)
        assert (len(found["vpcs"]), len(found["load-balancers"]), len(found["instances"])) == (1, 1, len(MACHINES))
        assert (len(found["subnets"]), len(found["nat-gateways"]), len(found["security-groups"])) == (6, 3, 4)
        instances = sorted(m["spec"]["providerID"].rsplit("/", 1)[1] for m in herd.items("machines", NAMESPACE))
        assert instances == sorted(found["instances"])

        explained = herd.kubectl("explain", "awsmachine.spec.cloudInit").stdout
        assert "secureSecretsBackend" in explained and "insecureSkipSecretsManager" in explained
        listed = herd.kubectl("get", "awsmachines", "-n", NAMESPACE).stdout
        assert all(f"aws:///us-east-1{zone}/i-" in listed for zone in "abc"), listed

        herd.kubectl("delete", "cluster", CLUSTER, "-n", NAMESPACE, "--wait=false")
        eventually_sync(lambda: not herd.items("awsclusters", NAMESPACE), "the AWSCluster deleted", timeout=120)
        assert all(not ids for ids in _inventory(moto).values()), _inventory(moto)
    finally:
        herd.process.stop()
