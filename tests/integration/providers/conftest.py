"""The providers' integration tests: a management client with the Cluster API CRDs, and the Dev provider running."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.devworld import running_provider
from support.manager import install_crds
from support.plane import ServedPlane

from herd.runtime import Client


@pytest.fixture
async def client(shared_plane: ServedPlane) -> AsyncIterator[Client]:
    management = Client.from_kubeconfig(shared_plane.kubeconfig)
    await install_crds(management)
    yield management
    await management.close()


@pytest.fixture
async def provider(client: Client) -> AsyncIterator[None]:
    async with running_provider(client):
        yield
