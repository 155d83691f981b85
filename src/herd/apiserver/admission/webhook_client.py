"""Calling one admission webhook: an `admission.k8s.io/v1` AdmissionReview POSTed over verified TLS.

Errors are `WebhookCallError`s worded like kube-apiserver's (`failed to call webhook: Post "<url>": <why>`,
`received invalid webhook response: ...`) so operators recognise them; the caller applies failurePolicy.
Nothing from the request, the response body or the CA bundle is put into an error or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import os
import ssl
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from .webhook_rules import Webhook

REVIEW_API_VERSION = "admission.k8s.io/v1"
REVIEW_KIND = "AdmissionReview"
JSON_PATCH = "JSONPatch"
_MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # a webhook cannot make the API server buffer without bound
_MAX_SSL_CONTEXTS = 64


class WebhookCallError(Exception):
    """The webhook could not be called or gave an unusable answer; its failurePolicy decides the outcome."""


@dataclass(frozen=True)
class ReviewResult:
    """The verified `response` of an AdmissionReview."""

    allowed: bool
    status: dict[str, Any] | None = None
    patch: bytes = b""  # decoded from base64
    patch_type: str = ""
    warnings: tuple[str, ...] = ()


class WebhookClient:
    """One HTTP client (connection pool) shared by every webhook, with TLS contexts cached per CA bundle."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._ssl_contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()

    async def review(self, hook: Webhook, review: dict[str, Any]) -> ReviewResult:
        """POST `review` to the webhook and return its verified response; raises WebhookCallError."""
        if "v1" not in hook.review_versions:
            # herd speaks only admission.k8s.io/v1 (kube-apiserver would also offer the long-removed v1beta1).
            raise WebhookCallError("webhook does not accept known AdmissionReview versions (v1)")
        try:
            context = self._ssl_context(hook.ca_bundle)
        except (ssl.SSLError, ValueError):
            raise WebhookCallError("could not get REST client: unable to load root certificates: "
                                   "unable to parse bytes as PEM block") from None
        # kube-apiserver tells the webhook its deadline in the query string; so does herd.
        url = f"{hook.url}?timeout={hook.timeout_seconds}s"
        failed = f'failed to call webhook: Post "{url}"'
        try:
            async with asyncio.timeout(hook.timeout_seconds):
                raw = await self._post(url, orjson.dumps(review), context)
        except TimeoutError:
            raise WebhookCallError(f"{failed}: context deadline exceeded") from None
        except aiohttp.ClientError as exc:
            raise WebhookCallError(f"{failed}: {_describe(exc)}") from None
        except OSError as exc:
            raise WebhookCallError(f"{failed}: {_os_error(exc)}") from None
        return verify_response(raw, str(review["request"]["uid"]), hook.mutating)

    async def _post(self, url: str, body: bytes, context: ssl.SSLContext) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        async with self._client().post(url, data=body, headers=headers, ssl=context,
                                       allow_redirects=False) as response:
            if not 200 <= response.status < 300:
                raise WebhookCallError(f"failed to call webhook: the server responded with the status code "
                                       f"{response.status} but did not return more information")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > _MAX_RESPONSE_BYTES:
                    raise WebhookCallError("received invalid webhook response: the response is larger than "
                                           f"{_MAX_RESPONSE_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env=False: proxy variables meant for the user's tools must not reroute admission traffic.
            self._session = aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    def _ssl_context(self, ca_bundle: str) -> ssl.SSLContext:
        """A verifying TLS context trusting only `ca_bundle` (or the system store when it is empty)."""
        context = self._ssl_contexts.get(ca_bundle)
        if context is not None:
            self._ssl_contexts.move_to_end(ca_bundle)
            return context
        if ca_bundle and "-----BEGIN CERTIFICATE-----" not in ca_bundle:
            raise ValueError("no PEM certificate in the CA bundle")
        context = ssl.create_default_context(cadata=ca_bundle) if ca_bundle else ssl.create_default_context()
        self._ssl_contexts[ca_bundle] = context
        while len(self._ssl_contexts) > _MAX_SSL_CONTEXTS:
            self._ssl_contexts.popitem(last=False)
        return context

    async def close(self) -> None:
        """Close pooled connections; a later call opens new ones."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def verify_response(raw: bytes, uid: str, mutating: bool) -> ReviewResult:
    """Check an AdmissionReview response as kube-apiserver does; raises WebhookCallError if unusable."""

    def invalid(why: str) -> WebhookCallError:
        return WebhookCallError(f"received invalid webhook response: {why}")

    try:
        review = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("the response body is not JSON") from None
    if not isinstance(review, dict):
        raise invalid("the response body is not a JSON object")
    api_version, kind = review.get("apiVersion"), review.get("kind")
    if api_version != REVIEW_API_VERSION or kind != REVIEW_KIND:
        raise invalid(f"expected webhook response of {REVIEW_API_VERSION}, Kind={REVIEW_KIND}, got "
                      f"{str(api_version or '')[:100]}, Kind={str(kind or '')[:100]}")
    response = review.get("response")
    if not isinstance(response, dict):
        raise invalid("webhook response was absent")
    if response.get("uid") != uid:
        raise invalid(f'expected response.uid="{uid}", got "{str(response.get("uid") or "")[:100]}"')
    allowed = response.get("allowed", False)
    status = response.get("status")
    warnings = response.get("warnings") or []
    if not isinstance(allowed, bool):
        raise invalid("response.allowed is not a boolean")
    if status is not None and not isinstance(status, dict):
        raise invalid("response.status is not an object")
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise invalid("response.warnings is not a list of strings")
    patch_b64, patch_type = response.get("patch"), response.get("patchType")
    try:
        patch = base64.b64decode(str(patch_b64), validate=True) if patch_b64 else b""
    except (binascii.Error, ValueError):
        raise invalid("response.patch is not base64") from None
    if mutating:
        if patch and patch_type is None:
            raise invalid("webhook returned response.patch but not response.patchType")
        if not patch and patch_type is not None:
            raise invalid("webhook returned response.patchType but not response.patch")
        if patch_type is not None and not patch_type:
            raise invalid('webhook returned invalid response.patchType of ""')
    elif patch:
        raise invalid("validating webhook may not return response.patch")
    elif patch_type is not None:
        raise invalid("validating webhook may not return response.patchType")
    return ReviewResult(allowed, status, patch, str(patch_type or ""), tuple(warnings))


def _describe(exc: aiohttp.ClientError) -> str:
    """A Go-like, secret-free description of a client error (kubectl users know these phrasings)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        reason = getattr(cert_error, "verify_message", "") or getattr(cert_error, "reason", "") or "unknown reason"
        return f"tls: failed to verify certificate: {reason}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dial tcp: lookup {exc.host}: no such host"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"tls: {getattr(exc.os_error, 'reason', None) or 'handshake failed'}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"dial tcp {exc.host}:{exc.port}: connect: {_os_error(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "unexpected EOF"
    return type(exc).__name__


def _os_error(exc: OSError) -> str:
    if exc.errno == errno.ECONNREFUSED:
        return "connection refused"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return type(exc).__name__
