"""Fixtures for herd.runtime against a real `herd serve` subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from runtime_plane import Plane

from herd.runtime import Client


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    served = Plane(tmp_path / "data").start()
    yield served
    served.stop()


@pytest.fixture
async def client(plane: Plane) -> AsyncIterator[Client]:
    runtime_client = Client.from_kubeconfig(plane.kubeconfig)
    yield runtime_client
    await runtime_client.close()
