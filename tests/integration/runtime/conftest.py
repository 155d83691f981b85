"""Fixtures for herd.runtime against a real `herd serve` subprocess (the `plane` fixture is tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.plane import ServedPlane

from herd.runtime import Client


@pytest.fixture
async def client(plane: ServedPlane) -> AsyncIterator[Client]:
    runtime_client = Client.from_kubeconfig(plane.kubeconfig)
    yield runtime_client
    await runtime_client.close()
