"""`herd up`'s API server as a child process (`herd serve`): the API server and the controllers each get a core.

The child is tied to its parent: if `herd up` dies, even by SIGKILL, the kernel kills the API server too
(PR_SET_PDEATHSIG), so a restart finds the port and the data dir free. It runs in a session of its own, so a
Ctrl-C reaches only `herd up`, which stops its controllers before the API server. The two lines `herd serve`
prints once it listens are read to learn the URL and the kubeconfig it wrote. It logs where `herd up` told it
to through the environment (herd.runtime.logsetup.LogTarget); anything else it prints (its logs when they are
echoed, or the last words of a crash) is relayed: to stderr when `herd up` echoes its logs, else into
`herd up`'s log.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .serve import CLIError, ServeOptions

log = logging.getLogger("herd.cli.apiserver")

READY_TIMEOUT = 60.0  # seconds for the API server to listen
STOP_TIMEOUT = 10.0  # seconds for it to stop after SIGTERM before it is killed
PR_SET_PDEATHSIG = 1
_LISTENING = re.compile(r"herd API server listening on (\S+) \(port (\d+)\)")
_KUBECONFIG = re.compile(r"export KUBECONFIG=(\S+)")


def serve_arguments(options: ServeOptions) -> list[str]:
    """The `herd serve` command line for these options."""
    argv = [sys.executable, "-m", "herd.cli.serve", "--data-dir", str(options.data_dir),
            "--port", str(options.port), "--bind", options.bind, "--storage", options.storage,
            "--compaction-window", str(options.compaction_window), "--event-ttl", str(options.event_ttl),
            "--authorization-mode", options.authorization_mode]
    if options.token_auth_file is not None:
        argv += ["--token-auth-file", str(options.token_auth_file)]
    if options.kubeconfig is not None:
        argv += ["--kubeconfig", str(options.kubeconfig)]
    return argv


def die_with_parent(parent: int) -> None:
    """In the child, before exec: be killed when the parent dies (Linux; elsewhere the child outlives it)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def relay(line: str, echo: bool) -> None:
    """A line the API server printed: as it is to stderr, or into this process's log."""
    if echo:
        print(line, file=sys.stderr, flush=True)
    elif line:
        log.warning("API server: %s", line)


@dataclass
class APIServerProcess:
    """A running `herd serve` child."""

    process: asyncio.subprocess.Process
    url: str
    port: int
    kubeconfig: Path
    echo: bool = True  # relay its output to stderr (else into this process's log)
    _output: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    async def start(cls, options: ServeOptions, *, echo: bool = True) -> APIServerProcess:
        """Start the API server and return once it listens; raises CLIError with its reason when it cannot."""
        parent = os.getpid()
        process = await asyncio.create_subprocess_exec(
            *serve_arguments(options), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, preexec_fn=lambda: die_with_parent(parent),
            start_new_session=True)  # a Ctrl-C is for `herd up`: it stops its controllers, then the API server
        assert process.stdout is not None
        url, port, kubeconfig, last = "", 0, None, ""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                while kubeconfig is None:
                    raw = await process.stdout.readline()
                    if not raw:
                        break  # it exited
                    line = raw.decode(errors="replace").rstrip("\n")
                    if listening := _LISTENING.search(line):
                        url, port = listening.group(1), int(listening.group(2))
                    elif exported := _KUBECONFIG.search(line):
                        kubeconfig = Path(exported.group(1))
                    elif line:
                        last = line
                        relay(line, echo)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise CLIError(f"the API server did not start within {READY_TIMEOUT:.0f}s") from None
        if kubeconfig is None:
            await process.wait()
            raise CLIError(last.removeprefix("herd: ") or f"the API server exited with code {process.returncode}")
        server = cls(process, url, port, kubeconfig, echo)
        server._output = asyncio.ensure_future(server._pass_output())
        return server

    async def _pass_output(self) -> None:
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            relay(raw.decode(errors="replace").rstrip("\n"), self.echo)

    async def wait(self) -> int:
        """Until the API server exits; its exit code."""
        return await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within STOP_TIMEOUT."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._output is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._output, 1.0)
