"""The AWS provider's pure parts: CAPA's field names in the CRDs, tags and filters, the subnet layout, AMI names,
load balancer names, and AWS error codes as condition reasons."""

from __future__ import annotations

from typing import Any

import pytest

from herd.providers.aws.api import AWSClusterSpec, AWSMachineSpec
from herd.providers.aws.awscluster_controller import desired_of
from herd.providers.aws.failures import condition_reason
from herd.providers.aws.provider import provider
from herd.providers.aws.services import tags as tagging
from herd.providers.aws.services.images import image_name
from herd.providers.aws.services.loadbalancer import default_name
from herd.providers.aws.services.subnets import layout


def _properties(crd: dict[str, Any], *path: str) -> set[str]:
    node = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for step in path:
        node = node["properties"][step]
    return set(node["properties"])


def test_the_crds_carry_capas_field_names() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in provider.crds()}
    assert set(crds) == {"AWSCluster", "AWSClusterTemplate", "AWSMachine", "AWSMachineTemplate"}
    assert {"region", "network", "controlPlaneLoadBalancer", "additionalTags", "controlPlaneEndpoint",
            "imageLookupBaseOS"} <= _properties(crds["AWSCluster"], "spec")
    assert {"id", "cidrBlock", "availabilityZoneUsageLimit", "availabilityZoneSelection"} <= _properties(
        crds["AWSCluster"], "spec", "network", "vpc")
    assert {"loadBalancerType", "scheme", "dnsResolutionCheck", "healthCheckProtocol"} <= _properties(
        crds["AWSCluster"], "spec", "controlPlaneLoadBalancer")
    assert {"ami", "instanceType", "iamInstanceProfile", "sshKeyName", "rootVolume", "additionalSecurityGroups",
            "cloudInit", "providerID", "instanceID"} <= _properties(crds["AWSMachine"], "spec")
    assert {"insecureSkipSecretsManager", "secureSecretsBackend", "secretPrefix", "secretCount"} <= _properties(
        crds["AWSMachine"], "spec", "cloudInit")
    assert {"instanceState", "addresses", "conditions", "initialization"} <= _properties(crds["AWSMachine"], "status")
    assert crds["AWSMachine"]["metadata"]["labels"] == {"cluster.x-k8s.io/v1beta2": "v1beta2"}


def test_a_capa_manifest_parses_and_defaults_as_capa_does() -> None:
    spec = AWSClusterSpec.model_validate({"region": "us-west-2", "network": {"vpc": {"cidrBlock": "10.1.0.0/16"}},
                                          "controlPlaneLoadBalancer": {"loadBalancerType": "nlb"}})
    desired = desired_of(spec, "prod")
    assert (desired.cidr_block, desired.zone_limit, desired.zone_selection) == ("10.1.0.0/16", 3, "Ordered")
    assert (desired.load_balancer_type, desired.scheme, desired.load_balancer_name) == (
        "nlb", "internet-facing", "prod-apiserver")
    machine = AWSMachineSpec.model_validate({"instanceType": "m5.large", "rootVolume": {"size": 50, "type": "gp3"},
                                             "cloudInit": {"secureSecretsBackend": "ssm"}})
    assert machine.root_volume is not None and machine.root_volume.size == 50
    with pytest.raises(ValueError, match="greater than or equal to 8"):
        AWSMachineSpec.model_validate({"instanceType": "m5.large", "rootVolume": {"size": 4}})


def test_owned_resources_are_tagged_and_found_by_capas_keys() -> None:
    tags = tagging.build("prod", "common", "prod-vpc", {"team": "a"})
    assert tags == {"team": "a", "sigs.k8s.io/cluster-api-provider-aws/cluster/prod": "owned",
                    "sigs.k8s.io/cluster-api-provider-aws/role": "common", "Name": "prod-vpc"}
    assert tagging.filters("prod", "node", vpc_id=["vpc-1"]) == [
        {"Name": "tag:sigs.k8s.io/cluster-api-provider-aws/cluster/prod", "Values": ["owned"]},
        {"Name": "tag:sigs.k8s.io/cluster-api-provider-aws/role", "Values": ["node"]},
        {"Name": "vpc-id", "Values": ["vpc-1"]}]
    assert tagging.is_owned(tags, "prod") and not tagging.is_owned(tags, "other")


def test_subnets_split_the_vpc_public_ones_first() -> None:
    assert layout("10.0.0.0/16", ["a", "b", "c"]) == [
        ("a", True, "10.0.0.0/19"), ("b", True, "10.0.32.0/19"), ("c", True, "10.0.64.0/19"),
        ("a", False, "10.0.96.0/19"), ("b", False, "10.0.128.0/19"), ("c", False, "10.0.160.0/19")]
    assert layout("10.0.0.0/16", ["a"]) == [("a", True, "10.0.0.0/17"), ("a", False, "10.0.128.0/17")]


@pytest.mark.parametrize(("fmt", "base_os", "version", "expected"), [
    (None, None, "v1.33.1", "capa-ami-ubuntu-24.04-?1.33.1-*"),
    (None, "flatcar-stable", "1.32.0", "capa-ami-flatcar-stable-?1.32.0-*"),
    ("my-{{.BaseOS}}-k8s-{{.K8sVersion}}", "rhel-9", "v1.34.0", "my-rhel-9-k8s-1.34.0"),
])
def test_ami_names_are_looked_up_by_capas_pattern(fmt: str | None, base_os: str | None, version: str,
                                                  expected: str) -> None:
    assert image_name(fmt, base_os, version) == expected


def test_load_balancer_names_fit_in_32_characters() -> None:
    assert default_name("prod") == "prod-apiserver"
    long_name = default_name("a-very-long-cluster-name-for-a-team")
    assert len(long_name) <= 32 and long_name != default_name("a-very-long-cluster-name-for-a-team2")


@pytest.mark.parametrize(("code", "reason"), [
    ("InsufficientInstanceCapacity", "InsufficientInstanceCapacity"),
    ("InvalidVpcID.NotFound", "InvalidVpcIDNotFound"),
    ("", "Fallback"),
])
def test_aws_error_codes_become_condition_reasons(code: str, reason: str) -> None:
    assert condition_reason(code, "Fallback") == reason
