"""The Dev provider's simulated workload API servers in a child process of their own.

    servers = WorkloadHostProcess()
    await servers.spawn()                      # optional: the first `start` spawns it anyway
    await servers.start("ns/demo", "127.0.0.1", 6443, pki)
    servers.is_running("ns/demo")
    await servers.set_etcd_member("ns/demo", "demo-cp-0", running=True)
    await servers.close()

The simulated machines' API servers (and their clusters' etcd) stand for servers outside the management plane:
serving their requests (the joins, the kubelets' heartbeats, the workload watches) in the manager's process would
take the CPU its controllers need; here they get a core of their own. `python -m herd.cli.workload_host` reads one
JSON request per line on stdin (`start`, `stop`, `etcd-member`) and answers each on stdout; it runs
`WorkloadServers` and exits when stdin closes. Like `herd up`'s API server child it dies with its parent
(PR_SET_PDEATHSIG). If it exits anyway, its clusters count as stopped, and the next `start` spawns a new one (the
Dev provider then publishes kubeadm's objects again, as after a restart of `herd up`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
from typing import Any

from herd.providers.dev import WorkloadPKI
from herd.runtime import setup_logging

from .apiserver_process import die_with_parent
from .workload_servers import WorkloadServers

log = logging.getLogger("herd.workload")

STOP_TIMEOUT = 10.0  # seconds for the child to stop its servers once stdin closed, before it is killed
_LINE_LIMIT = 1 << 20
_PKI_FIELDS = ("ca_cert", "ca_key", "sa_key", "sa_pub", "etcd_ca_cert", "etcd_ca_key")  # WorkloadPKI's, in order


class WorkloadHostProcess:
    """`herd.providers.dev.WorkloadAPIServers`, served by a child process."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._running: set[str] = set()
        self._members: dict[tuple[str, str], bool] = {}  # (cluster, member) → running, as last told to the child
        self._spawning = asyncio.Lock()

    def is_running(self, cluster_key: str) -> bool:
        return cluster_key in self._running

    async def start(self, cluster_key: str, host: str, port: int, pki: WorkloadPKI,
                    names: tuple[str, ...] = ()) -> None:
        """Serve the cluster's API at host:port (its certificate naming `names` too); OSError if the port is
        taken, ValueError for an unusable CA."""
        encoded = {name: _b64(getattr(pki, name)) for name in _PKI_FIELDS}
        await self._call({"op": "start", "cluster": cluster_key, "host": host, "port": port, "pki": encoded,
                          "names": list(names)})
        self._running.add(cluster_key)

    async def stop(self, cluster_key: str, *, keep_data: bool = False) -> None:
        """Stop the cluster's API server; without `keep_data` its objects (and etcd) are dropped too."""
        self._running.discard(cluster_key)
        if not keep_data:
            self._members = {k: v for k, v in self._members.items() if k[0] != cluster_key}
        if self._alive:
            await self._call({"op": "stop", "cluster": cluster_key, "keep_data": keep_data})

    async def set_etcd_member(self, cluster_key: str, member_name: str, *, running: bool) -> None:
        """Add the etcd member when unknown and start or stop it (asked of the child only when that changes)."""
        if self._alive and self._members.get((cluster_key, member_name)) == running:
            return
        await self._call({"op": "etcd-member", "cluster": cluster_key, "member": member_name, "running": running})
        self._members[(cluster_key, member_name)] = running

    async def spawn(self) -> None:
        """Start the child now rather than at the first `start`."""
        async with self._spawning:
            if self._alive:
                return
            parent = os.getpid()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "herd.cli.workload_host", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=_LINE_LIMIT, preexec_fn=lambda: die_with_parent(parent),
                start_new_session=True)  # out of reach of a Ctrl-C even while it starts: the parent stops it
            self._reader = asyncio.ensure_future(self._read_answers(self._process))

    async def close(self) -> None:
        """Stop every server (closing the child's stdin) and wait for the child to exit."""
        process, self._process = self._process, None
        self._running.clear()
        self._members.clear()
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 1.0)

    @property
    def _alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def _call(self, request: dict[str, Any]) -> None:
        await self.spawn()
        process = self._process
        assert process is not None and process.stdin is not None
        request_id = next(self._ids)
        answer = self._pending[request_id] = asyncio.get_running_loop().create_future()
        try:
            process.stdin.write(json.dumps({"id": request_id, **request}).encode() + b"\n")
            await process.stdin.drain()
            reply = await answer
        except (BrokenPipeError, ConnectionResetError):
            raise OSError("the workload API server process is not running") from None
        finally:
            self._pending.pop(request_id, None)
        error = reply.get("error")
        if error is not None:
            raise (ValueError if error == "ValueError" else OSError)(str(reply.get("message") or error))

    async def _read_answers(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while line := await process.stdout.readline():
                with contextlib.suppress(ValueError, TypeError):
                    reply = json.loads(line)
                    waiting = self._pending.get(int(reply.get("id")))
                    if waiting is not None and not waiting.done():
                        waiting.set_result(reply)
        finally:
            if self._process is process:  # it exited on its own: nothing it served runs any more
                self._running.clear()
                self._members.clear()
                log.warning("the workload API server process exited (code %s)", await process.wait())
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(OSError("the workload API server process exited"))


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _unb64(data: object) -> bytes | None:
    return base64.b64decode(str(data)) if data else None


# ----- the child -----

async def _answer(servers: WorkloadServers, request: dict[str, Any]) -> dict[str, Any]:
    op, cluster_key = request.get("op"), str(request.get("cluster") or "")
    try:
        if op == "start":
            pki = request.get("pki") or {}
            ca_cert, ca_key = _unb64(pki.get("ca_cert")), _unb64(pki.get("ca_key"))
            if ca_cert is None or ca_key is None:
                raise ValueError("no cluster CA certificate and key")
            await servers.start(cluster_key, str(request["host"]), int(request["port"]), WorkloadPKI(
                ca_cert, ca_key, *(_unb64(pki.get(name)) for name in _PKI_FIELDS[2:])),
                names=tuple(str(name) for name in request.get("names") or ()))
        elif op == "stop":
            await servers.stop(cluster_key, keep_data=bool(request.get("keep_data")))
        elif op == "etcd-member":
            await servers.set_etcd_member(cluster_key, str(request["member"]), running=bool(request["running"]))
        else:
            raise ValueError(f"unknown request {op!r}")
    except (OSError, ValueError, KeyError) as exc:
        kind = "ValueError" if isinstance(exc, ValueError | KeyError) else "OSError"
        return {"error": kind, "message": str(exc) if not isinstance(exc, KeyError) else f"missing {exc}"}
    return {}


async def serve_requests() -> None:
    """The child's loop: answer requests from stdin until it closes, then stop every server."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    servers = WorkloadServers()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(request: dict[str, Any]) -> None:
        reply = await _answer(servers, request)
        sys.stdout.write(json.dumps({"id": request.get("id"), **reply}) + "\n")
        sys.stdout.flush()

    try:
        while line := await reader.readline():
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if isinstance(request, dict):  # each on its own: one cluster's slow start holds up no other
                task = asyncio.ensure_future(answer(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in list(tasks):
            with contextlib.suppress(Exception):
                await task
        await servers.close()


def main() -> None:
    # the parent decides when the servers stop (it closes stdin; if it dies, PR_SET_PDEATHSIG ends this
    # process): a Ctrl-C or SIGTERM sent to the whole process group must not take them away first
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    setup_logging()
    from herd.apiserver.connections import raise_open_file_limit

    from .serve import install_uvloop, tune_garbage_collection

    install_uvloop()
    tune_garbage_collection()
    raise_open_file_limit()  # one listener and its clients' connections per workload cluster
    asyncio.run(serve_requests())


if __name__ == "__main__":
    main()
