"""An example infrastructure provider on herd's SDK: machines are processes on this host.

A ProcessCluster gets a free port on 127.0.0.1 as its control plane endpoint. A control plane ProcessMachine
"boots" by reading its cloud-init bootstrap data for the cluster CA (what `kubeadm init` would use) and starting an
API server with it — `herd serve` in a process of its own, on the endpoint's port — then registers its Node there,
as a kubelet would. Workers only register their Node. Deleting a machine stops its process.

    herd up --provider herd.providers.example:provider
    kubectl apply -f examples/providers/process-cluster.yaml

docs/providers.md walks through this file.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from pydantic import Field

from herd.providersdk import (
    APIEndpoint,
    ClusterContext,
    ClusterKind,
    ClusterProvisioned,
    ClusterSpec,
    ClusterStatus,
    InfrastructureProvider,
    MachineAddress,
    MachineContext,
    MachineKind,
    MachineProvisioned,
    MachineSpec,
    MachineStatus,
    PermanentError,
    RetryableError,
    Waiting,
    find_or_create,
)
from herd.runtime import NODE, AlreadyExists, ClientError
from herd.runtime.clustercache import ClusterNotConnected

HOST = "127.0.0.1"
CA_FILES = {"/etc/kubernetes/pki/ca.crt": "ca.crt", "/etc/kubernetes/pki/ca.key": "ca.key"}


class ProcessClusterSpec(ClusterSpec):
    """A cluster whose machines are processes on the management host."""


class ProcessMachineSpec(MachineSpec):
    """A machine that is a process on the management host."""

    work_dir: str | None = Field(default=None, description="Where the machine keeps its files; a directory under "
                                 "the system's temporary directory when unset.")


class ProcessMachineStatus(MachineStatus):
    """What the provider knows of the machine's process."""

    pid: int | None = Field(default=None, description="The process serving the cluster's API, on control plane "
                            "machines.")


ClusterCtx = ClusterContext[ProcessClusterSpec, ClusterStatus]
MachineCtx = MachineContext[ProcessMachineSpec, ProcessMachineStatus]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def reconcile_cluster(ctx: ClusterCtx) -> ClusterProvisioned:
    endpoint = ctx.spec.control_plane_endpoint  # chosen once: the SDK keeps the first endpoint written
    if endpoint is None or not endpoint.port:
        endpoint = APIEndpoint(host=HOST, port=free_port())
    return ClusterProvisioned(endpoint=endpoint)


async def delete_cluster(ctx: ClusterCtx) -> Waiting | None:
    if ctx.machines():  # a machine's deletion brings the cluster back
        return Waiting("WaitingForMachines", f"{len(ctx.machines())} ProcessMachines are still being deleted")
    return None


def work_dir(ctx: MachineCtx) -> Path:
    base = Path(tempfile.gettempdir()) / "herd-process-machines" / ctx.namespace / ctx.name
    return Path(ctx.spec.work_dir) if ctx.spec.work_dir else base


def running(pid: int | None) -> int | None:
    """`pid`, while that process lives."""
    try:
        return pid if pid and os.waitpid(pid, os.WNOHANG) == (0, 0) else None
    except ChildProcessError:  # not our child (a restarted manager): ask the kernel
        return pid if pid and Path(f"/proc/{pid}").exists() else None


def alive_or_gone(pid_file: Path) -> int | None:
    """The machine's process if it runs; None if it never started; an error (retried with backoff) if it died."""
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    if running(pid) is None:
        pid_file.unlink()
        raise RetryableError(f"process {pid} exited; see {pid_file.parent / 'serve.log'}", reason="ProcessExited")
    return pid


def write_ca(bootstrap: bytes, directory: Path) -> None:
    """The cluster CA from the cloud-init `write_files`, where `herd serve` looks for its CA."""
    files = {f.get("path"): f for f in (yaml.safe_load(bootstrap) or {}).get("write_files") or []}
    pki = directory / "pki"
    pki.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, name in CA_FILES.items():
        if path not in files:
            raise PermanentError(f"the bootstrap data writes no {path}", reason="NoClusterCA")
        content = str(files[path].get("content") or "")
        data = base64.b64decode(content) if files[path].get("encoding") in ("b64", "base64") else content.encode()
        fd = os.open(pki / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)


async def start_api_server(ctx: MachineCtx, directory: Path, port: int) -> int:
    write_ca(await ctx.bootstrap_data(), directory)
    with open(directory / "serve.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "herd.cli.main", "serve", "--data-dir", str(directory), "--port", str(port),
             "--storage", "memory"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (directory / "pid").write_text(str(process.pid))
    await ctx.event("ProcessStarted", f"API server process {process.pid} started on port {port}")
    return process.pid


def serving(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


async def register_node(ctx: MachineCtx, provider_id: str) -> None:
    try:
        client = await ctx.workload_client()
        await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": ctx.name},
                             "spec": {"providerID": provider_id}}, kind=NODE)
    except AlreadyExists:
        pass
    except (ClusterNotConnected, ClientError) as exc:
        raise RetryableError(f"cannot register the Node: {exc}", reason="NodeNotRegistered") from None


async def reconcile_machine(ctx: MachineCtx) -> MachineProvisioned | Waiting:
    endpoint = (ctx.infra_cluster or {}).get("spec", {}).get("controlPlaneEndpoint") or {}
    port = int(endpoint.get("port") or 0)
    directory = work_dir(ctx)
    if ctx.control_plane:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        pid_file = directory / "pid"
        pid, _ = await find_or_create(  # a restarted manager finds the process it started before
            find=lambda: alive_or_gone(pid_file), create=lambda: start_api_server(ctx, directory, port))
        ctx.status.pid = pid
        if not serving(port):
            return Waiting("APIServerStarting", f"waiting for process {pid} to serve on port {port}", retry_after=0.5)
    provider_id = f"process://{ctx.namespace}/{ctx.name}"
    await register_node(ctx, provider_id)
    return MachineProvisioned(provider_id, [MachineAddress(type="InternalIP", address=HOST),
                                            MachineAddress(type="Hostname", address=ctx.name)])


async def delete_machine(ctx: MachineCtx) -> None:
    directory = work_dir(ctx)
    pid = running(int((directory / "pid").read_text())) if (directory / "pid").exists() else None
    if pid is not None:
        os.killpg(pid, signal.SIGTERM)
        await ctx.event("ProcessStopped", f"API server process {pid} stopped")
    shutil.rmtree(directory, ignore_errors=True)


provider = InfrastructureProvider(
    name="process",
    cluster=ClusterKind("ProcessCluster", ProcessClusterSpec, ClusterStatus, reconcile=reconcile_cluster,
                        delete=delete_cluster, description="A cluster whose machines are processes on this host."),
    machine=MachineKind("ProcessMachine", ProcessMachineSpec, ProcessMachineStatus, reconcile=reconcile_machine,
                        delete=delete_machine, description="A machine that is a process on this host."),
)
