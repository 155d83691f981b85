"""Fixtures the integration tests share: an in-process admin API server (memory storage) and a session to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from support.inprocess import admin_session, running_server

from herd.apiserver.server import APIServer


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    async with running_server() as srv:
        yield srv


@pytest.fixture
async def http(server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with admin_session(server) as session:
        yield session
