"""A controller manager running in-process against a plane, with the Cluster API CRDs installed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from herd.api.registry import all_crds
from herd.runtime import CRD, AlreadyExists, Cache, Client, Controller, Manager, NotFound
from herd.runtime.clustercache import ClusterCache
from herd.runtime.objects import NAMESPACE

from .waiting import eventually

# How the core controllers are made: new_controller(client, cluster_cache, cache, **settings).
ControllerFactory = Callable[[Client, ClusterCache, Cache], Controller]


async def install_crds(client: Client, extra: Iterable[dict[str, Any]] = ()) -> None:
    """Every herd CRD and the `extra` ones (e.g. a provider's) created (those the plane has already are kept)
    and, before returning, served."""
    crds = [*all_crds(), *extra]
    for crd in crds:
        with contextlib.suppress(AlreadyExists):
            await client.create(crd, kind=CRD)
    await eventually(lambda: _served(client, crds), "the Cluster API CRDs served")


async def _served(client: Client, crds: list[dict[str, Any]]) -> bool:
    try:
        for crd in crds:
            spec = crd["spec"]
            version = next(v["name"] for v in spec["versions"] if v["storage"])
            await client.mapper.kind_for(f"{spec['group']}/{version}", spec["names"]["kind"])
    except NotFound:
        return False
    return True


async def ensure_namespace(client: Client, name: str) -> None:
    with contextlib.suppress(AlreadyExists):
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, kind=NAMESPACE)


@contextlib.asynccontextmanager
async def running(manager: Manager, *, timeout: float = 60) -> AsyncIterator[Manager]:
    """`manager.run()` in a task while the block runs, entered once it leads (within `timeout` seconds)."""
    task = asyncio.create_task(manager.run())
    try:
        assert await manager.wait_leading(timeout=timeout)
        yield manager
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def running_manager(client: Client, *controllers: ControllerFactory,
                          **cluster_cache_settings: float) -> AsyncIterator[Manager]:
    """A manager (no health server) running `controllers`, each made with `client`, a ClusterCache of its own
    (`cluster_cache_settings` are passed to it) and the manager's cache."""
    manager = Manager(client, health_port=None)
    cluster_cache = ClusterCache(client, **cluster_cache_settings)
    for new_controller in controllers:
        manager.add(new_controller(client, cluster_cache, manager.cache))
    try:
        async with running(manager):
            yield manager
    finally:
        await cluster_cache.close()


@contextlib.asynccontextmanager
async def management_client(kubeconfig: Path, namespace: str) -> AsyncIterator[Client]:
    """A client of the plane behind `kubeconfig`, with the CRDs installed and `namespace` made; closed after."""
    client = Client.from_kubeconfig(kubeconfig)
    try:
        await install_crds(client)
        await ensure_namespace(client, namespace)
        yield client
    finally:
        await client.close()
