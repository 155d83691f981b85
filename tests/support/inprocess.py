"""An in-process API server over plain HTTP for the server's integration tests: one admin token, a session that
sends it, and waiting on the store's own watch instead of polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

ADMIN_TOKEN = "in-process-admin-token"


def admin_server(store: Store, admission: Any = None) -> APIServer:
    """A server over `store` (no TLS) where ADMIN_TOKEN authenticates as a system:masters admin."""
    tokens = TokenFile({ADMIN_TOKEN: UserInfo("admin", "", ("system:masters",))})
    return APIServer(store, ssl_context=None, authenticator=Authenticator(tokens), admission=admission)


@asynccontextmanager
async def running_server(store: Store | None = None, admission: Any = None) -> AsyncIterator[APIServer]:
    """An admin server started over `store` (a fresh memory store by default), stopped on exit."""
    server = admin_server(store or Store(MemoryBackend()), admission)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def admin_session(server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as session:
        yield session


async def until(store: Store, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for `predicate` to hold, re-checking after every stored change (no polling interval to tune)."""
    watch = store.watch("/registry/", store.revision)  # registered before the check: no change is missed
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await anext(watch)
    finally:
        watch.close()


async def until_served(http: aiohttp.ClientSession, path: str, timeout: float = 10.0) -> None:
    """Wait until a GET of `path` (a new CRD's resource) answers 200: a CRD is served once it is Established."""
    async with asyncio.timeout(timeout):
        while True:
            async with http.get(path) as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.02)
