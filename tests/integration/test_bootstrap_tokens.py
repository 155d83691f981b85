"""Bootstrap token authentication in-process: a token backed by a valid `bootstrap-token-<id>` Secret acts as
`system:bootstrap:<id>` over HTTP; expired, mismatched, unusable or malformed ones are 401; revoking the Secret
takes effect at the next request, even on the same connection; the token never reaches the log."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from herd.apiserver.admission.base import AdmissionAttributes, NoAdmission
from herd.apiserver.auth import Authenticator, UserInfo
from herd.apiserver.bootstrap_tokens import authenticate
from herd.apiserver.builtins import NODES, SECRETS
from herd.apiserver.deletion import delete_object
from herd.apiserver.objects import WriteOptions
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"
TOKEN = f"{TOKEN_ID}.{TOKEN_SECRET}"
KUBEADM_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"


class RecordingAdmission(NoAdmission):
    """Admits everything, remembering who created what."""

    def __init__(self) -> None:
        self.creators: dict[str, UserInfo | None] = {}

    async def validate(self, attrs: AdmissionAttributes) -> None:
        if attrs.operation == "CREATE":
            self.creators[attrs.name] = attrs.user


@pytest.fixture
async def admission() -> RecordingAdmission:
    return RecordingAdmission()


@pytest.fixture
async def server(admission: RecordingAdmission) -> AsyncIterator[APIServer]:
    srv = APIServer(Store(MemoryBackend()), ssl_context=None, authenticator=Authenticator(), admission=admission)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def http(server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(server.url) as session:
        yield session


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def store_token(server: APIServer, token_id: str = TOKEN_ID, secret_type: str = "bootstrap.kubernetes.io/token",
                      **data: str) -> None:
    """Store the Secret of a bootstrap token; `data` overrides (or, with "", drops) its keys."""
    fields = {"token-id": token_id, "token-secret": TOKEN_SECRET, "usage-bootstrap-authentication": "true",
              "expiration": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "auth-extra-groups": KUBEADM_TOKEN_GROUP}  # the group RBAC lets register Nodes
    fields.update({k.replace("_", "-"): v for k, v in data.items()})
    body: dict[str, Any] = {"metadata": {"name": f"bootstrap-token-{token_id}"}, "type": secret_type,
                            "data": {k: b64(v) for k, v in fields.items() if v}}
    await server.objects.create(SECRETS, "kube-system", body, WriteOptions())


async def create_node(http: aiohttp.ClientSession, name: str, token: str = TOKEN) -> int:
    async with http.post("/api/v1/nodes", json={"metadata": {"name": name}},
                         headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def test_a_valid_token_acts_as_its_bootstrap_user(server: APIServer, http: aiohttp.ClientSession,
                                                        admission: RecordingAdmission) -> None:
    await store_token(server)
    assert await create_node(http, "n1") == 201
    assert server.store.get(NODES.key("", "n1")) is not None
    user = admission.creators["n1"]
    assert user is not None
    assert user.name == "system:bootstrap:abcdef"
    assert user.groups == ("system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
                           "system:authenticated")


async def test_a_token_without_expiration_does_not_expire(server: APIServer, http: aiohttp.ClientSession) -> None:
    await store_token(server, expiration="")
    assert await create_node(http, "n1") == 201


@pytest.mark.parametrize("override", [
    {"expiration": "2020-01-01T00:00:00Z"},
    {"expiration": "next tuesday"},
    {"token_secret": "fedcba9876543210"},
    {"token_id": "zzzzzz"},
    {"usage_bootstrap_authentication": ""},
    {"usage_bootstrap_authentication": "false"},
    {"auth_extra_groups": "system:masters"},
    {"auth_extra_groups": "system:bootstrappers:ok,evil"},
])
async def test_invalid_tokens_are_401(server: APIServer, http: aiohttp.ClientSession,
                                      override: dict[str, str]) -> None:
    await store_token(server, **override)
    assert await create_node(http, "n1") == 401
    assert server.store.get(NODES.key("", "n1")) is None


async def test_secrets_of_another_type_or_place_are_not_tokens(server: APIServer,
                                                               http: aiohttp.ClientSession) -> None:
    await store_token(server, secret_type="Opaque")
    assert await create_node(http, "n1") == 401
    body = {"metadata": {"name": "bootstrap-token-bbbbbb"}, "type": "bootstrap.kubernetes.io/token",
            "data": {"token-id": b64("bbbbbb"), "token-secret": b64(TOKEN_SECRET),
                     "usage-bootstrap-authentication": b64("true")}}
    await server.objects.create(SECRETS, "default", body, WriteOptions())
    assert await create_node(http, "n1", f"bbbbbb.{TOKEN_SECRET}") == 401


@pytest.mark.parametrize("token", [
    f"ABCDEF.{TOKEN_SECRET}", f"{TOKEN_ID}.{TOKEN_SECRET}0", f"{TOKEN_ID}:{TOKEN_SECRET}", TOKEN_SECRET])
async def test_tokens_not_of_the_bootstrap_form_are_401(server: APIServer, http: aiohttp.ClientSession,
                                                        token: str) -> None:
    await store_token(server)
    assert await create_node(http, "n1", token) == 401


async def test_deleting_the_secret_revokes_the_token_at_the_next_request(server: APIServer,
                                                                          http: aiohttp.ClientSession) -> None:
    await store_token(server)
    connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection for every request
    async with aiohttp.ClientSession(server.url, connector=connector) as session:
        assert await create_node(session, "n1") == 201
        await delete_object(server.objects, SECRETS, "kube-system", f"bootstrap-token-{TOKEN_ID}", {}, WriteOptions())
        assert await create_node(session, "n2") == 401


async def test_the_token_never_reaches_the_log(server: APIServer, http: aiohttp.ClientSession,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await store_token(server, token_secret="ffffffffffffffff")
    assert await create_node(http, "n1") == 401
    await delete_object(server.objects, SECRETS, "kube-system", f"bootstrap-token-{TOKEN_ID}", {}, WriteOptions())
    await store_token(server, expiration="2020-01-01T00:00:00Z")
    assert await create_node(http, "n1") == 401
    assert "bootstrap token abcdef" in caplog.text  # the reasons are logged, by the public id
    assert TOKEN_SECRET not in caplog.text


async def test_expiry_is_checked_against_the_time_of_the_request() -> None:
    store = Store(MemoryBackend())
    await store.start()
    try:
        expiry = datetime(2030, 1, 1, tzinfo=UTC)
        await store.create(SECRETS.key("kube-system", "bootstrap-token-abcdef"), {
            "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {"token-id": b64(TOKEN_ID), "token-secret": b64(TOKEN_SECRET),
                     "usage-bootstrap-authentication": b64("true"), "expiration": b64("2030-01-01T01:00:00+01:00")}})
        assert authenticate(store, TOKEN, expiry - timedelta(seconds=1)) is not None
        assert authenticate(store, TOKEN, expiry + timedelta(seconds=1)) is None
    finally:
        await store.close()
