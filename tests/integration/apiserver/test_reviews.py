"""SelfSubjectReview and SelfSubjectAccessReview over TLS: the answer names whoever the request authenticated as."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.pki import ServerPKI, ensure_server_pki, server_ssl_context
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

TOKEN = "reviews-test-token"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
CAN_I = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[APIServer, ServerPKI]]:
    pki = ensure_server_pki(tmp_path / "pki", ["127.0.0.1"])
    tokens = TokenFile({TOKEN: UserInfo("ci-robot", "42", ("robots", "builders"))})
    server = APIServer(Store(MemoryBackend()), ssl_context=server_ssl_context(pki),
                       authenticator=Authenticator(tokens))
    await server.start()
    try:
        yield server, pki
    finally:
        await server.stop()


def tls(pki: ServerPKI, *, client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    if client_cert:
        context.load_cert_chain(pki.admin_cert, pki.admin_key)
    return context


async def post(server: APIServer, context: ssl.SSLContext, path: str, body: Any,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(server.url, headers=headers) as http, \
            http.post(path, json=body, ssl=context) as response:
        return response.status, await response.json()


async def test_a_client_certificate_user_is_its_cn_with_its_organizations_as_groups(
        served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    status, body = await post(server, tls(pki, client_cert=True), WHOAMI, REVIEW)
    assert status == 201
    assert body["kind"] == "SelfSubjectReview"
    assert body["status"]["userInfo"] == {"username": "admin", "groups": ["system:masters", "system:authenticated"]}


async def test_a_token_user_has_the_uid_and_groups_of_the_token_file(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    status, body = await post(server, tls(pki, client_cert=False), WHOAMI, REVIEW,
                              {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201
    assert body["status"]["userInfo"] == {
        "username": "ci-robot", "uid": "42", "groups": ["robots", "builders", "system:authenticated"]}


async def test_no_credentials_are_refused_and_reviews_cannot_be_read(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    status, body = await post(server, tls(pki, client_cert=False), WHOAMI, REVIEW)
    assert (status, body["reason"]) == (401, "Unauthorized")
    async with aiohttp.ClientSession(server.url) as http, \
            http.get(WHOAMI, ssl=tls(pki, client_cert=True)) as response:
        assert response.status == 405


async def test_a_wrong_kind_is_a_bad_request(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    status, body = await post(server, tls(pki, client_cert=True), WHOAMI, {**REVIEW, "kind": "TokenReview"})
    assert (status, body["reason"]) == (400, "BadRequest")


async def test_an_access_review_answers_from_rbac(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "create", "group": "cluster.x-k8s.io", "resource": "machines"}}}
    status, body = await post(server, tls(pki, client_cert=False), CAN_I, review, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201
    assert body["status"] == {"allowed": False}  # nothing binds ci-robot or its groups
    assert body["spec"] == review["spec"]
    status, body = await post(server, tls(pki, client_cert=True), CAN_I, review)
    assert body["status"] == {"allowed": True, "reason": 'allowed: member of the "system:masters" group'}
    status, body = await post(server, tls(pki, client_cert=True), CAN_I, {**review, "spec": {}})
    assert (status, body["reason"]) == (422, "Invalid")


async def test_a_rules_review_lists_what_cluster_admin_grants(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "x"}}
    status, body = await post(server, tls(pki, client_cert=True),
                              "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", review)
    assert status == 201
    assert {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]} in body["status"]["resourceRules"]
    assert {"verbs": ["*"], "nonResourceURLs": ["*"]} in body["status"]["nonResourceRules"]
    assert body["status"]["incomplete"] is False


async def test_discovery_lists_the_reviews_as_create_only(served: tuple[APIServer, ServerPKI]) -> None:
    server, pki = served
    async with aiohttp.ClientSession(server.url) as http, \
            http.get("/apis/authentication.k8s.io/v1", ssl=tls(pki, client_cert=True)) as response:
        resources = (await response.json())["resources"]
    assert [(r["name"], r["kind"], r["verbs"]) for r in resources] == [
        ("selfsubjectreviews", "SelfSubjectReview", ["create"])]
    async with aiohttp.ClientSession(server.url) as http, \
            http.get("/openapi/v3/apis/authentication.k8s.io/v1", ssl=tls(pki, client_cert=True)) as response:
        paths = (await response.json())["paths"]
    assert list(paths[WHOAMI]) == ["post", "parameters"]
