"""Write bodies that once made the API server answer 500: each now gets a Kubernetes Status with a 4xx code."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def send(http: aiohttp.ClientSession, method: str, path: str, body: bytes, content_type: str
               ) -> tuple[int, dict[str, Any]]:
    async with http.request(method, path, data=body, headers={"Content-Type": content_type}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(("method", "path", "content_type"), [
    ("POST", CONFIGMAPS, "application/yaml"),
    ("PATCH", f"{CONFIGMAPS}/cm?fieldManager=me", "application/apply-patch+yaml"),
])
async def test_a_yaml_integer_of_thousands_of_digits_is_400(
        http: aiohttp.ClientSession, method: str, path: str, content_type: str) -> None:
    code, status = await send(http, method, path, b"data:\n  k: " + b"9" * 5000 + b"\n", content_type)
    assert (code, status["kind"], status["reason"]) == (400, "Status", "BadRequest"), status
    assert status["message"] == "yaml: cannot unmarshal number into Go value of type int64"


async def test_an_apply_whose_metadata_is_null_is_refused_not_an_internal_error(
        http: aiohttp.ClientSession) -> None:
    body = b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": null, "data": {"k": "v"}}'
    code, status = await send(http, "PATCH", f"{CONFIGMAPS}/cm?fieldManager=me", body,
                              "application/apply-patch+yaml")
    assert (code, status["kind"], status["reason"]) == (400, "Status", "BadRequest"), status
    async with http.get(f"{CONFIGMAPS}/cm") as response:
        assert response.status == 404


@pytest.mark.parametrize(("method", "path"), [
    ("POST", CONFIGMAPS),
    ("PUT", f"{CONFIGMAPS}/cm"),
    ("DELETE", f"{CONFIGMAPS}/cm"),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
])
async def test_a_body_that_is_not_in_its_content_encoding_is_400(
        http: aiohttp.ClientSession, method: str, path: str) -> None:
    async with http.request(method, path, data=b'{"metadata": {"name": "cm"}}',
                            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}) as response:
        status = await response.json()
    assert (response.status, status["kind"], status["reason"]) == (400, "Status", "BadRequest"), status
    assert status["message"] == "the request body could not be read: Can not decode content-encoding: gzip"
