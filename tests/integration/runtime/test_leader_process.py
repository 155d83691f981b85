"""Leader election across processes: kill -9 the leading manager and the other one takes over."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from support.plane import ServedPlane
from support.waiting import eventually

from herd.runtime import CONFIGMAP, LEASE, Client, NotFound

SCRIPT = Path(__file__).with_name("manager_process.py")
LEASE_DURATION = 2.0


@contextlib.asynccontextmanager
async def manager_process(plane: ServedPlane, identity: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), str(plane.kubeconfig), identity,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            assert (await process.stdout.readline()).strip() == b"synced"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def holder_is(client: Client, identity: str) -> bool:
    with contextlib.suppress(NotFound):
        return bool((await client.get(LEASE, "process-test", "default"))["spec"].get("holderIdentity") == identity)
    return False


async def stamps(client: Client) -> dict[str, str]:
    return {cm["metadata"]["name"]: (cm["metadata"].get("annotations") or {}).get("reconciled-by", "")
            for cm in (await client.list(CONFIGMAP, namespace="default")).items}


async def test_killing_the_leading_process_hands_reconciling_to_the_other(plane: ServedPlane, client: Client) -> None:
    names = [f"cm-{i}" for i in range(5)]
    async with manager_process(plane, "first") as first:
        await eventually(lambda: holder_is(client, "first"), what="first leads")
        async with manager_process(plane, "second"):
            for name in names:
                await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": name, "namespace": "default"}})
            await eventually(lambda: _all_stamped(client, names, "first"), what="first reconciles")
            assert set((await stamps(client)).values()) == {"first"}, "the candidate reconciled nothing"

            first.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await eventually(lambda: holder_is(client, "second"), timeout=LEASE_DURATION * 3,
                             poll=0.05, what="second takes over")
            takeover = time.monotonic() - killed_at
            assert takeover <= LEASE_DURATION + 2.0, f"takeover took {takeover:.2f}s"
            await eventually(lambda: _all_stamped(client, names, "second"), what="second reconciles")
            await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": "late", "namespace": "default"}})
            await eventually(lambda: _all_stamped(client, ["late"], "second"))


async def _all_stamped(client: Client, names: list[str], identity: str) -> bool:
    current = await stamps(client)
    return all(current.get(name) == identity for name in names)
