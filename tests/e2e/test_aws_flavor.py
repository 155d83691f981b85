"""The aws flavor against a moto server: `herd generate cluster --flavor aws` (3 control plane machines and 2
workers over 3 zones) applied to `herd up --provider herd.providers.aws.provider:provider` becomes Available, as
herd up boots the moto instances from the user data it reads back from moto (herd.cli.aws_boot): every Machine's
Node has the instance's `aws:///` providerID, the control plane instances are registered with the load balancer.
Deleting the Cluster then leaves nothing tagged for it in AWS."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.aws_moto import REGION, moto_server
from support.herd_up import HerdUp, herd_up
from support.waiting import eventually_sync

from herd.providers.aws.services.clients import make_clients
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.scope import AWSScope
from herd.providers.aws.services.userdata import BOOT_SCRIPT_MARKER

CLUSTER, NAMESPACE = "flavor", "default"
CONTROL_PLANE, WORKERS = 3, 2


def _flavor(env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "herd.cli.main", "generate", "cluster", CLUSTER, "--flavor", "aws",
         "--kubernetes-version", "v1.33.1", "--control-plane-machine-count", str(CONTROL_PLANE),
         "--worker-machine-count", str(WORKERS)],
        env={**os.environ, **env, "AWS_DNS_RESOLUTION_CHECK": "None"}, capture_output=True, text=True,
        check=True).stdout


def _joined(herd: HerdUp) -> list[dict[str, Any]] | bool:
    """The Machines once all are there and each has its Node (False until then)."""
    machines = herd.items("machines", NAMESPACE)
    joined = len(machines) == CONTROL_PLANE + WORKERS and all(
        (m.get("status") or {}).get("nodeRef", {}).get("name") for m in machines)
    return machines if joined else False


def _condition(obj: dict[str, object], type_: str) -> str | None:
    conditions = (obj.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    return next((c.get("status") for c in conditions if c.get("type") == type_), None)


@pytest.mark.timeout(300)  # about 60 s on an idle machine (a 3-zone network, 5 instances, the teardown)
def test_the_aws_flavor_becomes_available_with_nodes_joined_and_leaves_nothing_when_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_server(tmp_path) as moto:
        for key, value in moto.env().items():
            monkeypatch.setenv(key, value)
        aws = AWSScope(make_clients(REGION, endpoint_url=moto.url, max_attempts=1,
                                    credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"}), CLUSTER)
        with herd_up(tmp_path, HerdUp, "--provider", "herd.providers.aws.provider:provider") as herd:
            herd.kubectl("apply", "-f", "-", input=_flavor(moto.env()))
            machines = eventually_sync(lambda: _joined(herd), "every Machine's Node joined", timeout=240, poll=1)
            assert isinstance(machines, list)
            assert _condition(herd.get("cluster", CLUSTER, NAMESPACE), "Available") == "True"
            provider_ids = {m["spec"]["providerID"] for m in machines}
            assert all(p.startswith(f"aws:///{REGION}") for p in provider_ids), provider_ids
            assert {p.split("/")[3] for p in provider_ids} == {f"{REGION}{zone}" for zone in "abc"}
            instances = {p.rsplit("/", 1)[1] for p in provider_ids}
            assert instances == set(owned_resources(aws)["instances"])
            user_data = aws.clients.ec2.describe_instance_attribute(
                InstanceId=sorted(instances)[0], Attribute="userData")["UserData"]["Value"]
            assert BOOT_SCRIPT_MARKER.encode() in base64.b64decode(user_data)  # CAPA's boot script

            control_plane = {m["spec"]["providerID"].rsplit("/", 1)[1] for m in machines
                             if "cluster.x-k8s.io/control-plane" in m["metadata"].get("labels", {})}
            assert len(control_plane) == CONTROL_PLANE
            elbv2 = aws.clients.elbv2
            group = elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]
            registered = {t["Target"]["Id"] for t in elbv2.describe_target_health(
                TargetGroupArn=group)["TargetHealthDescriptions"]}
            assert registered == control_plane

            herd.kubectl("delete", "cluster", CLUSTER, "-n", NAMESPACE, "--wait=false")
            eventually_sync(lambda: not herd.items("clusters", NAMESPACE), "the Cluster deleted", timeout=180,
                            poll=1)
            leaked = owned_resources(aws)
            assert all(not ids for ids in leaked.values()), leaked
