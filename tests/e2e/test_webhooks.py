"""Admission webhooks through the real kubectl against `herd serve`.

The webhooks are served by the test itself: an aiohttp server on 127.0.0.1 with a certificate from its own
CA, running in a thread with its own event loop (kubectl calls block the test's thread).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from support.plane import ServedPlane
from support.tls import serving_certificate

MANIFESTS = Path(__file__).parent / "manifests"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class WebhookThread:
    """An HTTPS webhook server on 127.0.0.1 in its own thread; `handlers` maps a URL path to a review handler."""

    def __init__(self, directory: Path) -> None:
        serving = serving_certificate(directory, "e2e-webhook")
        self.ca = serving.ca
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(serving.cert, serving.key)
        self.handlers: dict[str, Handler] = {}
        self._reviews: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.port = 0

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca.cert_pem).decode()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def requests(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [review["request"] for p, review in self._reviews if p == path]

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the webhook server did not start"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._context).start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        review = await request.json()
        with self._lock:
            self._reviews.append((request.path, review))
        handler = self.handlers.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return web.json_response(handler(review))


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[WebhookThread]:
    server = WebhookThread(tmp_path)
    server.start()
    yield server
    server.stop()


def respond(review: dict[str, Any], allowed: bool = True, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": allowed, **fields}}


def json_patch(ops: list[dict[str, Any]]) -> dict[str, str]:
    return {"patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(ops).encode()).decode()}


def configuration(kind: str, name: str, webhook_name: str, url: str, ca_bundle: str, *, group: str,
                  resources: list[str], operations: list[str], **extra: Any) -> str:
    client: dict[str, Any] = {"url": url}
    if ca_bundle:
        client["caBundle"] = ca_bundle
    hook = {"name": webhook_name, "clientConfig": client, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5, "rules": [{"operations": operations, "apiGroups": [group], "apiVersions": ["v1"],
                                            "resources": resources}], **extra}
    return yaml.safe_dump({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                           "metadata": {"name": name}, "webhooks": [hook]}, sort_keys=False)


def widget(name: str, **spec: Any) -> str:
    return yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget",
                           "metadata": {"name": name, "namespace": "default"}, "spec": {"size": "small", **spec}})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mutating_webhook_patches_on_create_and_validating_webhook_denies_update(
        plane: ServedPlane, webhook: WebhookThread) -> None:
    plane.kubectl("apply", "-f", str(MANIFESTS / "widgets-crd.yaml"))

    def mutate(review: dict[str, Any]) -> dict[str, Any]:
        obj = review["request"]["object"]
        ops: list[dict[str, Any]] = []
        if "labels" not in obj["metadata"]:
            ops.append({"op": "add", "path": "/metadata/labels", "value": {}})
        ops.append({"op": "add", "path": "/metadata/labels/admitted-by", "value": "e2e-webhook"})
        if "color" not in obj["spec"]:
            ops.append({"op": "add", "path": "/spec/color", "value": "green"})
        return respond(review, **json_patch(ops))

    def validate(review: dict[str, Any]) -> dict[str, Any]:
        new, old = review["request"]["object"], review["request"]["oldObject"]
        if new["spec"]["size"] == "large":
            return respond(review, False, status={
                "code": 403, "reason": "Forbidden",
                "message": f"widgets may not grow to large (was {old['spec']['size']})"})
        return respond(review)

    webhook.handlers.update({"/mutate": mutate, "/validate": validate})
    plane.kubectl("apply", "-f", "-", input=configuration(
        "MutatingWebhookConfiguration", "widget-defaults", "defaults.widgets.example.com", webhook.url("/mutate"),
        webhook.ca_bundle, group="example.com", resources=["widgets"], operations=["CREATE"]))
    plane.kubectl("apply", "-f", "-", input=configuration(
        "ValidatingWebhookConfiguration", "widget-sizes", "sizes.widgets.example.com", webhook.url("/validate"),
        webhook.ca_bundle, group="example.com", resources=["widgets"], operations=["UPDATE"]))

    created = plane.kubectl("create", "-f", "-", input=widget("patched"))
    assert created.stdout.strip() == "widget.example.com/patched created"
    stored = json.loads(plane.kubectl("get", "widget", "patched", "-o", "json").stdout)
    assert stored["metadata"]["labels"] == {"admitted-by": "e2e-webhook"}
    assert stored["spec"] == {"size": "small", "color": "green", "replicas": 1}  # replicas: the schema default

    request = webhook.requests("/mutate")[0]
    assert request["operation"] == "CREATE" and request["dryRun"] is False
    assert request["kind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert request["resource"] == {"group": "example.com", "version": "v1", "resource": "widgets"}
    assert (request["namespace"], request["name"]) == ("default", "patched")
    assert request["userInfo"]["username"] == "admin"

    # a server-side dry run calls the (side-effect free) webhooks with dryRun set, and stores nothing
    dry = plane.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", input=widget("dry"))
    assert json.loads(dry.stdout)["spec"]["color"] == "green"
    assert webhook.requests("/mutate")[-1]["dryRun"] is True
    assert plane.kubectl("get", "widget", "dry", check=False).returncode != 0

    allowed = plane.kubectl("patch", "widget", "patched", "--type=merge", "-p", '{"spec": {"size": "medium"}}')
    assert allowed.stdout.strip() == "widget.example.com/patched patched"

    denied = plane.kubectl("patch", "widget", "patched", "--type=merge", "-p", '{"spec": {"size": "large"}}',
                           check=False)
    assert denied.returncode == 1
    assert ('Error from server (Forbidden): admission webhook "sizes.widgets.example.com" denied the request: '
            "widgets may not grow to large (was medium)") in denied.stderr
    assert json.loads(plane.kubectl("get", "widget", "patched", "-o", "json").stdout)["spec"]["size"] == "medium"
    update = webhook.requests("/validate")[-1]
    assert update["operation"] == "UPDATE" and update["oldObject"]["spec"]["size"] == "medium"


def test_webhook_down_refuses_writes_under_fail_and_lets_them_pass_under_ignore(
        plane: ServedPlane, webhook: WebhookThread) -> None:
    port = closed_port()
    url = f"https://127.0.0.1:{port}/validate"
    plane.kubectl("apply", "-f", "-", input=configuration(
        "ValidatingWebhookConfiguration", "guard", "guard.configmaps.example.com", url, webhook.ca_bundle,
        group="", resources=["configmaps"], operations=["CREATE", "UPDATE"]))
    stored = json.loads(plane.kubectl("get", "validatingwebhookconfiguration", "guard", "-o", "json").stdout)
    assert stored["webhooks"][0]["failurePolicy"] == "Fail"  # kube's default, filled in on create

    refused = plane.kubectl("create", "configmap", "refused", "--from-literal=a=b", check=False)
    assert refused.returncode == 1
    assert (f'Internal error occurred: failed calling webhook "guard.configmaps.example.com": failed to call '
            f'webhook: Post "{url}?timeout=5s": dial tcp 127.0.0.1:{port}: connect: connection refused'
            ) in refused.stderr
    assert plane.kubectl("get", "configmap", "refused", check=False).returncode != 0

    # webhooks are never called for webhook configurations, so the broken one can still be changed
    plane.kubectl("patch", "validatingwebhookconfiguration", "guard", "--type=json",
                  "-p", '[{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}]')

    passed = plane.kubectl("create", "configmap", "passed", "--from-literal=a=b")
    assert passed.stdout.strip() == "configmap/passed created"


def test_invalid_webhook_configuration_is_refused_with_its_causes(plane: ServedPlane) -> None:
    bad = yaml.safe_dump({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "bad"},
        "webhooks": [{"name": "bad-name", "clientConfig": {"url": "http://127.0.0.1:1/"},
                      "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                 "resources": ["configmaps"]}]}]})

    result = plane.kubectl("apply", "-f", "-", input=bad, check=False)

    assert result.returncode == 1
    assert result.stderr.startswith('The ValidatingWebhookConfiguration "bad" is invalid: \n')
    assert ('webhooks[0].name: Invalid value: "bad-name": should be a domain with at least three segments '
            "separated by dots") in result.stderr
    assert "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun" in result.stderr
    assert "webhooks[0].admissionReviewVersions: Required value" in result.stderr
    assert "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme" in (
        result.stderr)
