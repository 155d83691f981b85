"""An informer keeps an exact copy of the server's objects through churn, kill -9 and compaction."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from support.plane import start_plane
from support.waiting import eventually

from herd.runtime import CONFIGMAP, AlreadyExists, Client, FuncHandler, Informer, NotFound, ObjectKey, Unreachable
from herd.runtime.informer import Backoff

NAMESPACE = "default"


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE},
            "data": data}


async def retrying(operation: Callable[[], Awaitable[object]]) -> None:
    """Run a write until the server answers; an answer lost in a crash shows up as AlreadyExists/NotFound."""
    for _ in range(600):
        try:
            await operation()
            return
        except (AlreadyExists, NotFound):
            return
        except Unreachable:
            await asyncio.sleep(0.05)
    raise AssertionError("the server never came back")


async def run_all(operations: list[Callable[[], Awaitable[object]]], concurrency: int = 32) -> None:
    pending = iter(operations)

    async def worker() -> None:
        for operation in pending:
            await retrying(operation)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def is_exact_copy(client: Client, informer: Informer) -> bool:
    """Whether the informer's store equals a fresh list, object for object."""
    listed = await client.list(CONFIGMAP)
    expected = {ObjectKey.of(obj): obj for obj in listed.items}
    if len(expected) != len(informer.store):
        return False
    return all(informer.store.get(key) == obj for key, obj in expected.items())


@pytest.mark.timeout(400)
async def test_an_informer_keeps_an_exact_copy_of_5000_objects_across_a_kill_9_of_the_server(tmp_path: Path) -> None:
    plane = start_plane(tmp_path / "data", tmp_path / "kubectl-cache")
    writer = Client.from_kubeconfig(plane.kubeconfig)
    reader = Client.from_kubeconfig(plane.kubeconfig)
    informer = Informer(reader, CONFIGMAP, backoff=Backoff(initial=0.2, maximum=2.0))
    deletions: list[str] = []
    informer.add_handler(FuncHandler(delete=lambda obj: deletions.append(obj["metadata"]["name"])))
    try:
        informer.start()
        assert await informer.wait_for_sync(30)
        await run_all([lambda i=i: writer.create(configmap(f"cm-{i:05d}", n=str(i))) for i in range(2500)])

        # churn: 2500 more creates, 1000 updates, 500 deletes; the server is killed -9 in the middle of it
        churn = [lambda i=i: writer.create(configmap(f"cm-{i:05d}", n=str(i))) for i in range(2500, 5000)]
        churn += [lambda i=i: writer.patch(CONFIGMAP, f"cm-{i:05d}", {"data": {"updated": "yes"}},
                                           namespace=NAMESPACE) for i in range(0, 2000, 2)]
        churn += [lambda i=i: writer.delete(CONFIGMAP, f"cm-{i:05d}", NAMESPACE) for i in range(1, 1000, 2)]
        churn.sort(key=lambda op: hash(op) % 7)  # interleave creates, updates and deletes
        writes = asyncio.create_task(run_all(churn))
        await eventually(lambda: len(informer.store) >= 3500, timeout=120, what="churn under way")
        await asyncio.to_thread(plane.restart, signal.SIGKILL)
        await writes

        await eventually(lambda: is_exact_copy(writer, informer), timeout=60, what="exact copy")
        assert len(informer.store) == 4500
        assert informer.stats.errors >= 1, "the watch saw the server go away"
        assert informer.stats.lists == 1, "it resumed from its last resourceVersion instead of listing again"
        assert len(set(deletions)) == 500
        updated = informer.store.get(ObjectKey(NAMESPACE, "cm-00000"))
        assert updated is not None and updated["data"] == {"n": "0", "updated": "yes"}
    finally:
        await informer.stop()
        await writer.close()
        await reader.close()
        plane.stop()


@pytest.mark.timeout(300)
async def test_an_informer_that_fell_behind_the_compaction_window_relists_and_converges(tmp_path: Path) -> None:
    plane = start_plane(tmp_path / "data", tmp_path / "kubectl-cache", "--compaction-window", "50")
    writer = Client.from_kubeconfig(plane.kubeconfig)
    reader = Client.from_kubeconfig(plane.kubeconfig)
    informer = Informer(reader, CONFIGMAP, backoff=Backoff(initial=0.05, maximum=1.0))
    seen: list[tuple[str, str]] = []
    informer.add_handler(FuncHandler(add=lambda o: seen.append(("add", o["metadata"]["name"])),
                                     update=lambda old, new: seen.append(("update", new["metadata"]["name"])),
                                     delete=lambda o: seen.append(("delete", o["metadata"]["name"]))))
    try:
        await run_all([lambda i=i: writer.create(configmap(f"cm-{i:03d}", n=str(i))) for i in range(200)])
        informer.start()
        assert await informer.wait_for_sync(30)
        await eventually(lambda: is_exact_copy(writer, informer), what="initial copy")
        await informer.stop()  # the informer's watch is gone while 100 revisions are written
        seen.clear()
        await run_all([lambda i=i: writer.patch(CONFIGMAP, f"cm-{i:03d}", {"data": {"n": "changed"}},
                                                namespace=NAMESPACE) for i in range(60)])
        await run_all([lambda i=i: writer.delete(CONFIGMAP, f"cm-{i:03d}", NAMESPACE) for i in range(180, 200)])
        await run_all([lambda i=i: writer.create(configmap(f"new-{i:03d}")) for i in range(20)])

        informer.start()  # resumes from a resourceVersion the server compacted: 410, list again
        await eventually(lambda: is_exact_copy(writer, informer), timeout=60, what="exact copy after relist")
        assert informer.stats.expired >= 1 and informer.stats.lists == 2
        assert sorted(name for kind, name in seen if kind == "update") == [f"cm-{i:03d}" for i in range(60)]
        assert sorted(name for kind, name in seen if kind == "delete") == [f"cm-{i:03d}" for i in range(180, 200)]
        assert sorted(name for kind, name in seen if kind == "add") == [f"new-{i:03d}" for i in range(20)]
    finally:
        await informer.stop()
        await writer.close()
        await reader.close()
        plane.stop()
