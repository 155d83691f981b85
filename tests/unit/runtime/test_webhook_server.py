"""The webhook server answers AdmissionReview v1 the way controller-runtime's webhook server does."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonpatch
import pytest
from support.tls import serving_certificate

from herd.runtime.webhook import (
    FieldError,
    WebhookDenied,
    WebhookServer,
    int_or_percent_problem,
    label_value_problems,
    qualified_name_problems,
    validate_annotations,
    validate_labels,
)

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    """A serving certificate for 127.0.0.1 and a client context that trusts only its CA."""
    serving = serving_certificate(tmp_path_factory.mktemp("tls"), "webhook")
    client = ssl.create_default_context(cadata=serving.ca.cert_pem.decode())
    return serving.cert, serving.key, client


def add_label(obj: Obj, request: Obj) -> Obj:
    obj.setdefault("metadata", {}).setdefault("labels", {})["defaulted"] = "true"
    return obj


def unchanged(obj: Obj, request: Obj) -> Obj:
    return obj


def warn(request: Obj) -> list[str]:
    return ["replicas is deprecated"] if request["operation"] == "CREATE" else []


def refuse_invalid(request: Obj) -> list[str]:
    raise WebhookDenied.invalid("cluster.x-k8s.io", "Machine", "m1", [
        FieldError.forbidden("spec.clusterName", "field is immutable"),
        FieldError.invalid("spec.version", "foo", "must be a valid semantic version")])


def refuse_forbidden(request: Obj) -> list[str]:
    raise WebhookDenied("not now", 403)


def crash(request: Obj) -> list[str]:
    raise KeyError("secret-internal-detail")


@pytest.fixture
async def server(tls: tuple[Path, Path, ssl.SSLContext]) -> AsyncIterator[WebhookServer]:
    cert, key, _ = tls
    webhooks = WebhookServer(cert, key, port=0)
    webhooks.register_defaulter("/mutate-label", add_label)
    webhooks.register_defaulter("/mutate-nothing", unchanged)
    webhooks.register_validator("/validate-warn", warn)
    webhooks.register_validator("/validate-invalid", refuse_invalid)
    webhooks.register_validator("/validate-forbidden", refuse_forbidden)
    webhooks.register_validator("/validate-crash", crash)
    async with webhooks:
        yield webhooks


def review(operation: str = "CREATE", obj: Obj | None = None, uid: str = "uid-1") -> Obj:
    request: Obj = {"uid": uid, "operation": operation, "object": obj, "oldObject": None, "dryRun": False,
                    "kind": {"group": "cluster.x-k8s.io", "version": "v1beta2", "kind": "Machine"}}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


async def post(server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext], path: str, body: Any,
               content_type: str = "application/json") -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(
            f"https://127.0.0.1:{server.port}{path}", data=data, ssl=tls[2],
            headers={"Content-Type": content_type}) as response:
        text = await response.text()
        return response.status, json.loads(text) if response.content_type == "application/json" else text


MACHINE = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "metadata": {"name": "m1"},
           "spec": {"clusterName": "c1"}}


async def test_a_defaulter_answers_with_a_json_patch_from_the_object_to_its_defaulted_form(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    status, answer = await post(server, tls, "/mutate-label", review(obj=MACHINE, uid="abc"))

    assert status == 200 and server.port > 0
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == "abc" and response["allowed"] is True and response["patchType"] == "JSONPatch"
    patched = jsonpatch.JsonPatch(json.loads(base64.b64decode(response["patch"]))).apply(MACHINE)
    assert patched["metadata"]["labels"] == {"defaulted": "true"}
    assert MACHINE["metadata"] == {"name": "m1"}  # the caller's object is not touched


@pytest.mark.parametrize(("path", "operation"), [("/mutate-nothing", "CREATE"), ("/mutate-label", "DELETE")])
async def test_a_defaulter_that_changes_nothing_or_a_delete_is_allowed_without_a_patch(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext], path: str, operation: str) -> None:
    _, answer = await post(server, tls, path, review(operation, MACHINE))

    assert answer["response"] == {"uid": "uid-1", "allowed": True}


async def test_a_validator_that_returns_warnings_allows_the_request_with_them(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    _, created = await post(server, tls, "/validate-warn", review("CREATE", MACHINE))
    _, updated = await post(server, tls, "/validate-warn", review("UPDATE", MACHINE))

    assert created["response"] == {"uid": "uid-1", "allowed": True, "warnings": ["replicas is deprecated"]}
    assert updated["response"] == {"uid": "uid-1", "allowed": True}


async def test_an_invalid_object_is_refused_with_a_422_status_naming_every_field(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    _, answer = await post(server, tls, "/validate-invalid", review("UPDATE", MACHINE, uid="u2"))

    response = answer["response"]
    assert response["uid"] == "u2" and response["allowed"] is False
    status = response["status"]
    assert (status["code"], status["reason"], status["status"]) == (422, "Invalid", "Failure")
    assert status["message"] == ('Machine.cluster.x-k8s.io "m1" is invalid: [spec.clusterName: Forbidden: field is '
                                 'immutable, spec.version: Invalid value: "foo": must be a valid semantic version]')
    assert status["details"] == {"name": "m1", "group": "cluster.x-k8s.io", "kind": "Machine", "causes": [
        {"reason": "FieldValueForbidden", "message": "Forbidden: field is immutable", "field": "spec.clusterName"},
        {"reason": "FieldValueInvalid", "message": 'Invalid value: "foo": must be a valid semantic version',
         "field": "spec.version"}]}


async def test_a_plain_refusal_is_forbidden(server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    _, answer = await post(server, tls, "/validate-forbidden", review())

    status = answer["response"]["status"]
    assert (status["code"], status["reason"], status["message"]) == (403, "Forbidden", "not now")


async def test_a_failing_webhook_is_a_500_that_leaks_nothing(server: WebhookServer,
                                                             tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    _, answer = await post(server, tls, "/validate-crash", review())

    status = answer["response"]["status"]
    assert (status["code"], status["reason"]) == (500, "InternalError")
    assert "secret-internal-detail" not in json.dumps(answer)


@pytest.mark.parametrize(("body", "content_type", "problem"), [
    (review(), "text/plain", "content type"),
    (b"{not json", "application/json", "not JSON"),
    ({**review(), "apiVersion": "admission.k8s.io/v1beta1"}, "application/json", "AdmissionReview"),
    ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "application/json", "AdmissionReview"),
])
async def test_a_malformed_review_is_answered_with_a_400_review(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext], body: Any, content_type: str,
        problem: str) -> None:
    status, answer = await post(server, tls, "/validate-warn", body, content_type)

    assert status == 200
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["code"] == 400 and problem in answer["response"]["status"]["message"]


async def test_unknown_paths_are_404_and_healthz_answers_ok(server: WebhookServer,
                                                            tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    status, _ = await post(server, tls, "/validate-nothing-here", review())
    async with aiohttp.ClientSession() as session, session.get(f"https://127.0.0.1:{server.port}/healthz",
                                                               ssl=tls[2]) as health:
        assert (health.status, await health.text()) == (200, "ok")

    assert status == 404


async def test_the_server_speaks_only_tls_that_verifies_against_the_callers_ca(
        server: WebhookServer, tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    untrusting = ssl.create_default_context()  # the system CAs: they never signed our certificate
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"https://127.0.0.1:{server.port}/healthz", ssl=untrusting)
        with pytest.raises(aiohttp.ClientError):
            await session.get(f"http://127.0.0.1:{server.port}/healthz")


async def test_stop_closes_the_port_and_can_be_called_twice(tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    webhooks = WebhookServer(tls[0], tls[1])
    await webhooks.start()
    port = webhooks.port
    await webhooks.stop()
    await webhooks.stop()

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(f"https://127.0.0.1:{port}/healthz", ssl=tls[2])


async def test_paths_are_registered_once_and_before_the_server_starts(server: WebhookServer,
                                                                      tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    fresh = WebhookServer(tls[0], tls[1])
    fresh.register_validator("/validate-x", warn)
    with pytest.raises(ValueError, match="already registered"):
        fresh.register_defaulter("/validate-x", unchanged)
    with pytest.raises(ValueError, match="invalid webhook path"):
        fresh.register_validator("healthz", warn)
    with pytest.raises(RuntimeError, match="before starting"):
        server.register_validator("/validate-late", warn)


@pytest.mark.parametrize(("error", "text"), [
    (FieldError.invalid("spec.version", "foo", "must be a valid semantic version"),
     'spec.version: Invalid value: "foo": must be a valid semantic version'),
    (FieldError.invalid("spec.replicas", -1, "must be positive"), "spec.replicas: Invalid value: -1: must be positive"),
    (FieldError.invalid("spec.paused", True, "no"), "spec.paused: Invalid value: true: no"),
    (FieldError.invalid("spec.selector", {"b": 1, "a": None}, "bad"),
     'spec.selector: Invalid value: {"a":null,"b":1}: bad'),
    (FieldError.required("spec.bootstrap"), "spec.bootstrap: Required value"),
    (FieldError.required("spec.selector", "selector must not be empty"),
     "spec.selector: Required value: selector must not be empty"),
    (FieldError.forbidden("spec.clusterName", "field is immutable"), "spec.clusterName: Forbidden: field is immutable"),
    (FieldError.internal("spec.version", "cannot parse"), "spec.version: Internal error: cannot parse"),
])
def test_field_errors_read_like_kube_apiservers(error: FieldError, text: str) -> None:
    assert str(error) == text
    assert error.cause()["field"] + ": " + error.cause()["message"] == text


def test_an_invalid_refusal_with_one_error_names_it_without_brackets() -> None:
    denied = WebhookDenied.invalid("cluster.x-k8s.io", "MachineSet", "ms", [FieldError.required("spec.x")] * 2)

    assert denied.message == 'MachineSet.cluster.x-k8s.io "ms" is invalid: spec.x: Required value'
    assert len(denied.causes) == 2


@pytest.mark.parametrize(("key", "valid"), [
    ("app", True), ("cluster.x-k8s.io/cluster-name", True), ("a/b/c", False), ("/name", False),
    ("Example.com/x", False), ("x" * 63, True), ("x" * 64, False), ("-bad", False), ("", False),
])
def test_qualified_names(key: str, valid: bool) -> None:
    assert (qualified_name_problems(key) == []) is valid


@pytest.mark.parametrize(("value", "valid"), [("", True), ("md-0", True), ("a" * 64, False), ("a b", False),
                                              ("_x", False), ("x.y_z-1", True)])
def test_label_values(value: str, valid: bool) -> None:
    assert (label_value_problems(value) == []) is valid


@pytest.mark.parametrize(("value", "valid"), [(1, True), ("25%", True), ("-5%", True), ("25", False),
                                              ("a%", False), (None, True)])
def test_int_or_percent(value: Any, valid: bool) -> None:
    assert (int_or_percent_problem(value) is None) is valid


def test_label_and_annotation_maps_report_each_bad_key_and_value_at_the_maps_path() -> None:
    labels = validate_labels({"ok": "fine", "bad key": "x", "k": "bad value"}, "spec.template.metadata.labels")
    annotations = validate_annotations({"Example.COM/ok": "x" * 10, "bad key": "x"}, "metadata.annotations")

    assert [str(e).split(":")[0] for e in labels] == ["spec.template.metadata.labels"] * 2
    assert [e.value for e in labels] == ["bad key", "bad value"]
    assert [e.value for e in annotations] == ["bad key"]
    assert [e.type for e in validate_annotations({"a": "x" * (256 * 1024)}, "a")] == ["Too long"]
