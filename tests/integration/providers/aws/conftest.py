"""The AWS provider's integration tests run against one moto server per session on 127.0.0.1."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.aws_moto import REGION, MotoServer, moto_server

from herd.providers.aws.services.clients import AWSClients, make_clients
from herd.providers.aws.services.scope import AWSScope

_names = itertools.count()


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(Path(tmp_path_factory.mktemp("moto"))) as server:
        yield server


@pytest.fixture(scope="session")
def clients(moto: MotoServer) -> AWSClients:
    return make_clients(REGION, endpoint_url=moto.url, max_attempts=1,
                        credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"})


@pytest.fixture
def aws(clients: AWSClients) -> AWSScope:
    """A cluster of its own per test (the server is shared; tags keep the clusters apart)."""
    return AWSScope(clients, f"c{next(_names)}", {"team": "herd"})
