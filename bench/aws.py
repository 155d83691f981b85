"""The AWS provider against a moto server: seconds and AWS API calls to build and to tear down the aws flavor's
infrastructure (an AWSCluster with a 3-zone VPC, NAT gateways and an NLB; 3 control plane and 2 worker AWSMachines).

    .venv/bin/python bench/aws.py [--control-planes 3] [--workers 2] [--timeout 300]

Runs `herd serve` (the management plane) and moto in child processes, and the AWS provider's controllers in this
process, counting every AWS call its clients make. The test plays the Cluster and Machine controllers' part (owner
references, initialization, bootstrap data Secrets), so the figures are the provider's own. Prints one figure per
line, then the leak check: resources still tagged for the cluster after delete (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from herd.api.cluster import CLUSTER, MACHINE
from herd.cli.aws_moto import REGION, moto_server
from herd.cli.management import install_crds
from herd.providers.aws.environment import AWSEnvironment
from herd.providers.aws.provider import provider
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control-planes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--breakdown", action="store_true", help="print the calls per AWS operation on stderr")
    args = parser.parse_args()
    for name, value in asyncio.run(run(args.control_planes, args.workers, args.timeout, args.breakdown)).items():
        print(f"{name} {value:.2f}" if isinstance(value, float) and not value.is_integer() else f"{name} {value:g}")


if __name__ == "__main__":
    main()
