"""The AWS provider against a moto server: seconds and AWS API calls to build and to tear down the aws flavor's
infrastructure (an AWSCluster with a 3-zone VPC, NAT gateways and an NLB; 3 control plane and 2 worker AWSMachines).

    .venv/bin/python bench/aws.py [--control-planes 3] [--workers 2] [--timeout 300]
    .venv/bin/python bench/aws.py --flavor [--control-planes 3] [--workers 2] [--timeout 300]

Runs `herd serve` (the management plane) and moto in child processes, and the AWS provider's controllers in this
process, counting every AWS call its clients make. The test plays the Cluster and Machine controllers' part (owner
references, initialization, bootstrap data Secrets), so the figures are the provider's own. Prints one figure per
line, then the leak check: resources still tagged for the cluster after delete (must be 0).

With --flavor, end to end instead: moto and `herd up --provider herd.providers.aws.provider:provider` (every
controller, and the boot simulator that boots moto's instances) in child processes, `herd generate cluster --flavor
aws` applied; seconds to the Cluster Available (every Machine with its Node), then from its deletion to zero AWS
resources, and the AWS calls moto received (its request recording) per phase, the boot simulator's apart.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fleet import start_herd

from herd.api.cluster import CLUSTER, MACHINE
from herd.cli.aws_moto import REGION, moto_server
from herd.cli.management import install_crds
from herd.providers.aws.environment import AWSEnvironment
from herd.providers.aws.provider import provider
from herd.providers.aws.services.clients import make_clients
from herd.providers.aws.services.inventory import owned_resources
from herd.providers.aws.services.scope import AWSScope
from herd.runtime import SECRET, Client, Manager, NotFound

NAMESPACE, NAME = "default", "bench"
LABEL = "cluster.x-k8s.io/cluster-name"


def start_plane(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen([sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(data_dir),
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if re.search(r"\(port (\d+)\)", line):
            kubeconfig = data_dir / "management.kubeconfig"
            while not kubeconfig.exists():
                time.sleep(0.05)
            return process, kubeconfig
    raise SystemExit("herd serve did not start")


async def wait_for(what: str, probe: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def owner(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
             "uid": obj["metadata"]["uid"]}]


async def create_machine(client: Client, name: str, control_plane: bool, zone: str) -> None:
    labels = {LABEL: NAME, **({"cluster.x-k8s.io/control-plane": ""} if control_plane else {})}
    data = base64.b64encode(f"#cloud-config\n# {name}\n".encode() + b"runcmd: [kubeadm join]\n" * 400).decode()
    await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-data",
                         "namespace": NAMESPACE}, "data": {"value": data}}, kind=SECRET)
    machine = await client.create({
        "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {"clusterName": NAME, "version": "v1.33.1", "failureDomain": zone,
                 "bootstrap": {"dataSecretName": f"{name}-data"},
                 "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSMachine",
                                       "name": name}}}, kind=MACHINE)
    await client.create({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachine",
        "metadata": {"name": name, "namespace": NAMESPACE, "ownerReferences": owner(machine), "labels": labels},
        "spec": {"instanceType": "t3.large"}}, kind=provider.machine_kind)


async def provisioned(client: Client, kind: Any, names: list[str]) -> bool:
    listed = await client.list(kind, namespace=NAMESPACE)
    done = {o["metadata"]["name"] for o in listed.items if (o.get("status") or {}).get("initialization", {}).get(
        "provisioned")}
    return set(names) <= done


async def gone(client: Client, kind: Any) -> bool:
    return not (await client.list(kind, namespace=NAMESPACE)).items


async def run(control_planes: int, workers: int, timeout: float, breakdown: bool = False) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-aws-"))
    figures: dict[str, float] = {}
    with moto_server(base) as moto:
        process, kubeconfig = start_plane(base / "data")
        client = Client.from_kubeconfig(kubeconfig)
        env = AWSEnvironment(endpoint_url=moto.url, credentials={"AccessKeyID": "bench", "SecretAccessKey": "bench"})
        manager = Manager(client, health_port=None)
        provider.add_to(manager, services=env)
        task = asyncio.create_task(manager.run())
        try:
            await install_crds(client, [provider])
            assert await manager.wait_leading(timeout=60)
            await asyncio.to_thread(env.clients, REGION)  # botocore's models load before the clock starts
            cluster = await client.create({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": NAME, "namespace": NAMESPACE},
                "spec": {"infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSCluster",
                                               "name": NAME}}}, kind=CLUSTER)
            started, calls = time.perf_counter(), env.api_calls()
            await client.create({
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSCluster",
                "metadata": {"name": NAME, "namespace": NAMESPACE, "ownerReferences": owner(cluster),
                             "labels": {LABEL: NAME}},
                "spec": {"region": REGION, "controlPlaneLoadBalancer": {"loadBalancerType": "nlb",
                                                                        "dnsResolutionCheck": "None"}}},
                kind=provider.cluster_kind)
            await wait_for("the AWSCluster", lambda: provisioned(client, provider.cluster_kind, [NAME]), timeout)
            figures["cluster_provisioned_seconds"] = time.perf_counter() - started
            figures["cluster_api_calls"] = env.api_calls() - calls
            await client.patch_status(CLUSTER, NAME, {"status": {"initialization": {
                "infrastructureProvisioned": True, "controlPlaneInitialized": True}}}, namespace=NAMESPACE)

            zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
            names = [f"cp-{i}" for i in range(control_planes)] + [f"md-{i}" for i in range(workers)]
            started, calls = time.perf_counter(), env.api_calls()
            for i, name in enumerate(names):
                await create_machine(client, name, name.startswith("cp-"), zones[i % 3])
            await wait_for("the AWSMachines", lambda: provisioned(client, provider.machine_kind, names), timeout)
            figures["machines_provisioned_seconds"] = time.perf_counter() - started
            figures["api_calls_per_machine_create"] = (env.api_calls() - calls) / len(names)
            if breakdown:
                print(dict(env.clients(REGION).counter.calls.most_common()), file=sys.stderr)

            started, calls = time.perf_counter(), env.api_calls()
            for name in names:
                await client.delete(provider.machine_kind, name, NAMESPACE)
            await wait_for("the AWSMachines deleted", lambda: gone(client, provider.machine_kind), timeout)
            figures["machines_deleted_seconds"] = time.perf_counter() - started
            figures["api_calls_per_machine_delete"] = (env.api_calls() - calls) / len(names)
            started, calls = time.perf_counter(), env.api_calls()
            await client.delete(provider.cluster_kind, NAME, NAMESPACE)
            await wait_for("the AWSCluster deleted", lambda: gone(client, provider.cluster_kind), timeout)
            figures["cluster_deleted_seconds"] = time.perf_counter() - started
            figures["cluster_delete_api_calls"] = env.api_calls() - calls
            leftover = await asyncio.to_thread(owned_resources, AWSScope(env.clients(REGION), NAME))
            figures["resources_left"] = sum(len(ids) for ids in leftover.values())
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, NotFound):
                await task
            await client.close()
            process.terminate()
            process.wait(timeout=20)
    return figures


# --- --flavor: the aws flavor end to end under `herd up` ---------------------------------------------------------

FLAVOR_PROVIDER = "herd.providers.aws.provider:provider"


def recorded_operation(entry: dict[str, Any]) -> str:
    """The AWS operation of one request in moto's recording: JSON protocols (Secrets Manager, SSM) name it in the
    X-Amz-Target header, query protocols (EC2, ELB, IAM) in the form body's Action."""
    headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
    if "x-amz-target" in headers:
        return str(headers["x-amz-target"]).rsplit(".", 1)[-1]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    action = parse_qs(body).get("Action", [""])[0]
    if action == "DescribeInstances" and "instance-state-name" in body:
        return "DescribeInstances(running)"  # the boot simulator's poll, once a second per region
    return action or f"{entry.get('method')} {entry.get('url')}"


# What the boot simulator asks (as an instance's boot script and metadata reads would), not the provider: its poll,
# then per boot attempt the user data, the instance's name (a second DescribeInstances) and the Secrets Manager chunks.
BOOT_SIMULATOR = {"DescribeInstances(running)": 1, "DescribeInstanceAttribute": 2, "GetSecretValue": 1}
# What an AWSMachine's reconcile asks (its instance, image, chunks, load balancer registration); any other call is
# its AWSCluster's (the network and the load balancer, built, checked again when the Cluster changes, torn down).
MACHINE_OPERATIONS = frozenset({
    "DescribeInstances", "RunInstances", "TerminateInstances", "ModifyInstanceAttribute", "DescribeImages",
    "DescribeInstanceTypes", "DescribeTargetHealth", "RegisterTargets", "DeregisterTargets",
    "RegisterInstancesWithLoadBalancer", "DeregisterInstancesFromLoadBalancer", "CreateSecret", "DeleteSecret",
    "ListSecrets", "PutParameter", "DeleteParameter", "DescribeParameters"})


class Recording:
    """moto's request recording (MOTO_ENABLE_RECORDING), read from where it last stopped."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def take(self) -> Counter[str]:
        """The operations recorded since the last take."""
        if not self.path.exists():
            return Counter()
        with self.path.open() as file:
            file.seek(self.offset)
            lines = file.readlines()
            self.offset = file.tell()
        return Counter(recorded_operation(json.loads(line)) for line in lines if line.strip())


def split_calls(operations: Counter[str]) -> tuple[int, int, int]:
    """(the AWSMachines' calls, the AWSCluster's, the boot simulator's) of a phase's operations."""
    simulated = sum(operations[operation] * share for operation, share in BOOT_SIMULATOR.items())
    machines = sum(count for operation, count in operations.items() if operation in MACHINE_OPERATIONS) - operations[
        "DescribeInstanceAttribute"]  # the boot simulator's DescribeInstances after each user data read
    return machines, sum(operations.values()) - simulated - machines, simulated


def flavor_manifest(control_planes: int, workers: int, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "herd.cli.main", "generate", "cluster", NAME, "--flavor", "aws", "--kubernetes-version",
         "v1.33.1", "--control-plane-machine-count", str(control_planes), "--worker-machine-count", str(workers)],
        env={**env, "AWS_DNS_RESOLUTION_CHECK": "None"}, capture_output=True, text=True, check=True).stdout


async def available(client: Client, machines: int) -> bool:
    """Every Machine has its Node and the Cluster says Available."""
    listed = (await client.list(MACHINE, namespace=NAMESPACE)).items
    if len(listed) != machines or not all((m.get("status") or {}).get("nodeRef") for m in listed):
        return False
    cluster = await client.get(CLUSTER, NAME, NAMESPACE)
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (cluster.get("status") or {}).get("conditions") or [])


async def run_flavor(control_planes: int, workers: int, timeout: float, breakdown: bool) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="herd-bench-aws-flavor-"))
    recording = Recording(base / "moto-recording.jsonl")
    os.environ.update(MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(recording.path))  # moto's env
    machines, figures = control_planes + workers, {}
    phases: dict[str, Counter[str]] = {}
    with moto_server(base) as moto:
        env = {**os.environ, **moto.env()}
        process, kubeconfig = start_herd(base / "data", "--provider", FLAVOR_PROVIDER, env=env)
        client = Client.from_kubeconfig(kubeconfig)
        try:
            manifest = flavor_manifest(control_planes, workers, env)
            recording.take()  # the seeding and herd up's start are not the cluster's
            started = time.perf_counter()
            subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", "apply", "-f", "-"], input=manifest, text=True,
                           check=True, capture_output=True)
            await wait_for("the AWSCluster", lambda: provisioned(client, provider.cluster_kind, [NAME]), timeout)
            figures["cluster_provisioned_seconds"] = time.perf_counter() - started
            phases["cluster_create"] = recording.take()
            await wait_for("the Cluster Available", lambda: available(client, machines), timeout)
            figures["available_seconds"] = time.perf_counter() - started
            phases["machines_create"] = recording.take()

            started = time.perf_counter()
            await client.delete(CLUSTER, NAME, NAMESPACE)
            await wait_for("the AWSMachines deleted", lambda: gone(client, provider.machine_kind), timeout)
            figures["machines_deleted_seconds"] = time.perf_counter() - started
            phases["machines_delete"] = recording.take()
            await wait_for("the Cluster deleted", lambda: gone(client, CLUSTER), timeout)
            figures["cluster_deleted_seconds"] = time.perf_counter() - started
            phases["cluster_delete"] = recording.take()
            aws = AWSScope(make_clients(REGION, endpoint_url=moto.url, max_attempts=1,
                                        credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"}), NAME)
            leftover = await asyncio.to_thread(owned_resources, aws)
            figures["zero_resources_seconds"] = time.perf_counter() - started
            figures["resources_left"] = sum(len(ids) for ids in leftover.values())
        finally:
            await client.close()
            process.terminate()
            process.wait(timeout=30)
    for phase, operations in phases.items():
        machine_calls, cluster_calls, simulated = split_calls(operations)
        figures[f"{phase}_machine_calls_per_machine"] = machine_calls / machines
        figures[f"{phase}_cluster_calls"] = cluster_calls
        figures[f"{phase}_boot_simulator_calls"] = simulated
        if breakdown:
            print(phase, dict(operations.most_common()), file=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control-planes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--breakdown", action="store_true", help="print the calls per AWS operation on stderr")
    parser.add_argument("--flavor", action="store_true",
                        help="the aws flavor end to end under `herd up` (to Available, then deleted)")
    args = parser.parse_args()
    if args.flavor:
        measure = run_flavor(args.control_planes, args.workers, args.timeout, args.breakdown)
    else:
        measure = run(args.control_planes, args.workers, args.timeout, args.breakdown)
    for name, value in asyncio.run(measure).items():
        print(f"{name} {value:.2f}" if isinstance(value, float) and not value.is_integer() else f"{name} {value:g}")


if __name__ == "__main__":
    main()
