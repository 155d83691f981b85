"""Admission webhooks: rule matching, selectors, configuration validation, and calls to a real TLS webhook.

The webhook is an aiohttp server on 127.0.0.1 with a certificate from its own CA, running in the test's loop;
writes go through the real `Objects` pipeline over an in-memory store, so what is tested is what clients see.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from herd.apiserver.admission.base import AdmissionAttributes
from herd.apiserver.admission.webhook_client import WebhookClient, verify_response
from herd.apiserver.admission.webhook_rules import (
    Webhook,
    namespace_selected,
    object_selected,
    parse_configuration,
    request_namespace,
    rules_match,
)
from herd.apiserver.admission.webhooks import WebhookAdmission, admission_review, denied
from herd.apiserver.auth import UserInfo
from herd.apiserver.builtins import (
    BUILTIN_TYPES,
    CONFIGMAPS,
    MUTATING_WEBHOOKS,
    NAMESPACES,
    NODES,
    PODS,
    VALIDATING_WEBHOOKS,
)
from herd.apiserver.deletion import delete_object
from herd.apiserver.errors import StatusError
from herd.apiserver.objects import Objects, WriteOptions
from herd.apiserver.pki import CertificateAuthority
from herd.apiserver.registry import Registry
from herd.apiserver.resources import ResourceType
from herd.apiserver.storage import MemoryBackend, Store

WIDGETS = ResourceType(group="example.com", version="v1", kind="Widget", plural="widgets", singular="widget",
                       namespaced=True, builtin=False, status_subresource=True)
ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))

Reply = dict[str, Any] | web.StreamResponse
Handler = Callable[[dict[str, Any]], Awaitable[Reply] | Reply]


# ---- fixtures: a TLS webhook server and the write pipeline ---------------------------------------------

@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate("webhook-test-ca")


@dataclass
class WebhookServer:
    """A webhook on https://127.0.0.1:<port>; `handlers` maps a path to what answers it."""

    port: int
    ca_bundle: str  # base64 PEM, as clientConfig.caBundle holds it
    handlers: dict[str, Handler] = field(default_factory=dict)
    reviews: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def requests(self, path: str) -> list[dict[str, Any]]:
        return [review["request"] for p, review in self.reviews if p == path]


@pytest.fixture
async def webhook(ca: CertificateAuthority, tmp_path: Path) -> AsyncIterator[WebhookServer]:
    cert, key = ca.issue_server_cert("webhook", ["127.0.0.1"])
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    server = WebhookServer(0, base64.b64encode(ca.cert_pem).decode())

    async def handle(request: web.Request) -> web.StreamResponse:
        review = await request.json()
        server.reviews.append((request.path, review))
        handler = server.handlers.get(request.path)
        if handler is None:
            return web.Response(status=404)
        reply = handler(review)
        if not isinstance(reply, dict | web.StreamResponse):
            reply = await reply
        return reply if isinstance(reply, web.StreamResponse) else web.json_response(reply)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server.port = runner.addresses[0][1]
    yield server
    await runner.cleanup()


@dataclass
class Plane:
    store: Store
    objects: Objects
    admission: WebhookAdmission


@pytest.fixture
async def plane() -> AsyncIterator[Plane]:
    store = Store(MemoryBackend())
    await store.start()
    admission = WebhookAdmission(store)
    objects = Objects(store, Registry(BUILTIN_TYPES), admission)
    await objects.create(NAMESPACES, "", {"metadata": {"name": "default", "labels": {"env": "test"}}},
                         WriteOptions())
    yield Plane(store, objects, admission)
    await admission.close()
    await store.close()


def review_response(review: dict[str, Any], allowed: bool = True, **fields: Any) -> dict[str, Any]:
    """What a well-behaved webhook answers."""
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": allowed, **fields}}


def json_patch(*ops: dict[str, Any]) -> dict[str, str]:
    return {"patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(list(ops)).encode()).decode()}


def hook(name: str, url: str, ca_bundle: str = "", *, operations: tuple[str, ...] = ("CREATE", "UPDATE"),
         resources: tuple[str, ...] = ("configmaps",), **extra: Any) -> dict[str, Any]:
    client: dict[str, Any] = {"url": url}
    if ca_bundle:
        client["caBundle"] = ca_bundle
    return {"name": name, "clientConfig": client, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "rules": [{"operations": list(operations), "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": list(resources)}], **extra}


async def register(plane: Plane, name: str, *hooks: dict[str, Any], mutating: bool = False) -> dict[str, Any]:
    rtype = MUTATING_WEBHOOKS if mutating else VALIDATING_WEBHOOKS
    result = await plane.objects.create(rtype, "", {"metadata": {"name": name}, "webhooks": list(hooks)},
                                        WriteOptions(user=ADMIN))
    return result.obj


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


async def create_cm(plane: Plane, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
    result = await plane.objects.create(CONFIGMAPS, "default", obj, WriteOptions(user=ADMIN, dry_run=dry_run))
    return result.obj


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- rule matching ----------------------------------------------------------------------------------------

def rule(**fields: Any) -> Webhook:
    base = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}
    config = {"metadata": {"name": "c"}, "webhooks": [{"name": "w.example.com", "rules": [{**base, **fields}]}]}
    return parse_configuration(config, mutating=False)[0]


def attrs(operation: str = "CREATE", rtype: ResourceType = CONFIGMAPS, subresource: str = "",
          namespace: str = "default", name: str = "x", obj: dict[str, Any] | None = None,
          old: dict[str, Any] | None = None) -> AdmissionAttributes:
    return AdmissionAttributes(operation, rtype, namespace if rtype.namespaced else "", name, obj, old, ADMIN,
                               subresource=subresource)


@pytest.mark.parametrize(("fields", "request_attrs", "expected"), [
    ({}, attrs(), True),
    ({"operations": ["CREATE"]}, attrs("UPDATE"), False),
    ({"operations": ["UPDATE", "DELETE"]}, attrs("DELETE"), True),
    ({"apiGroups": [""]}, attrs(rtype=WIDGETS), False),
    ({"apiGroups": ["example.com"]}, attrs(rtype=WIDGETS), True),
    ({"apiVersions": ["v2"]}, attrs(rtype=WIDGETS), False),
    ({"resources": ["configmaps"]}, attrs(), True),
    ({"resources": ["secrets"]}, attrs(), False),
    ({"resources": ["*"]}, attrs("UPDATE", WIDGETS, "status"), False),  # "*" never covers subresources
    ({"resources": ["widgets"]}, attrs("UPDATE", WIDGETS, "status"), False),
    ({"resources": ["widgets/status"]}, attrs("UPDATE", WIDGETS, "status"), True),
    ({"resources": ["widgets/status"]}, attrs("UPDATE", WIDGETS), False),
    ({"resources": ["*/status"]}, attrs("UPDATE", WIDGETS, "status"), True),
    ({"resources": ["widgets/*"]}, attrs("UPDATE", WIDGETS, "status"), True),
    ({"resources": ["widgets/*"]}, attrs("UPDATE", WIDGETS), True),  # as kube: "/*" also covers the object
    ({"resources": ["*/*"]}, attrs("UPDATE", WIDGETS, "status"), True),
    ({"resources": ["*/*"]}, attrs(), True),
    ({"scope": "Namespaced"}, attrs(), True),
    ({"scope": "Namespaced"}, attrs(rtype=NODES), False),
    ({"scope": "Namespaced"}, attrs(rtype=NAMESPACES), False),  # namespaces are cluster-scoped
    ({"scope": "Cluster"}, attrs(), False),
    ({"scope": "Cluster"}, attrs(rtype=NODES), True),
    ({"scope": "Cluster"}, attrs("UPDATE", NAMESPACES), True),
    ({"scope": "*"}, attrs(rtype=NODES), True),
    ({"scope": "Sideways"}, attrs(), False),  # an unknown scope matches nothing
])
def test_rules_match_like_kube_apiserver(fields: dict[str, Any], request_attrs: AdmissionAttributes,
                                         expected: bool) -> None:
    assert rules_match(rule(**fields), request_attrs) is expected


def test_request_namespace_of_a_namespace_object_is_its_name_except_on_create() -> None:
    assert request_namespace(attrs("CREATE", NAMESPACES, name="team")) == ""
    assert request_namespace(attrs("UPDATE", NAMESPACES, name="team")) == "team"
    assert request_namespace(attrs("CREATE", NODES, name="n1")) == ""
    assert request_namespace(attrs("CREATE", CONFIGMAPS, namespace="apps")) == "apps"


# ---- selectors --------------------------------------------------------------------------------------------

def selecting(namespace_selector: dict[str, Any] | None = None,
              object_selector: dict[str, Any] | None = None) -> Webhook:
    raw: dict[str, Any] = {"name": "w.example.com", "rules": []}
    if namespace_selector is not None:
        raw["namespaceSelector"] = namespace_selector
    if object_selector is not None:
        raw["objectSelector"] = object_selector
    return parse_configuration({"metadata": {"name": "c"}, "webhooks": [raw]}, mutating=False)[0]


def labelled(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "labels": labels}}


NAMESPACE_LABELS = {"default": {"env": "test"}, "prod": {"env": "prod"}}


@pytest.mark.parametrize(("selector", "request_attrs", "expected"), [
    ({}, attrs(namespace="prod"), True),
    ({"matchLabels": {"env": "test"}}, attrs(namespace="default"), True),
    ({"matchLabels": {"env": "test"}}, attrs(namespace="prod"), False),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, attrs(namespace="prod"), False),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, attrs(namespace="prod"), True),
    # cluster-scoped objects other than namespaces are never excluded by a namespaceSelector
    ({"matchLabels": {"env": "test"}}, attrs(rtype=NODES), True),
    # a Namespace being written is judged by its own new labels...
    ({"matchLabels": {"env": "new"}}, attrs("CREATE", NAMESPACES, name="n", obj=labelled(env="new")), True),
    ({"matchLabels": {"env": "new"}}, attrs("UPDATE", NAMESPACES, name="prod", obj=labelled(env="x")), False),
    # ...and one being deleted by its stored labels
    ({"matchLabels": {"env": "prod"}}, attrs("DELETE", NAMESPACES, name="prod"), True),
])
def test_namespace_selector(selector: dict[str, Any], request_attrs: AdmissionAttributes, expected: bool) -> None:
    selected = namespace_selected(selecting(namespace_selector=selector), request_attrs, request_attrs.obj,
                                  NAMESPACE_LABELS.get)
    assert selected is expected


def test_namespace_selector_on_a_missing_namespace_is_not_found() -> None:
    with pytest.raises(StatusError) as caught:
        namespace_selected(selecting(namespace_selector={"matchLabels": {"a": "b"}}), attrs(namespace="gone"), None,
                           NAMESPACE_LABELS.get)
    assert caught.value.code == 404


@pytest.mark.parametrize(("new", "old", "expected"), [
    (labelled(app="web"), None, True),
    (labelled(app="db"), None, False),
    (None, labelled(app="web"), True),  # DELETE: only the old object
    (labelled(app="db"), labelled(app="web"), True),  # UPDATE: either one is enough
    (labelled(), labelled(app="db"), False),
])
def test_object_selector_matches_new_or_old_object(new: dict[str, Any] | None, old: dict[str, Any] | None,
                                                   expected: bool) -> None:
    assert object_selected(selecting(object_selector={"matchLabels": {"app": "web"}}), new, old) is expected


def test_a_malformed_selector_is_kept_as_a_problem_not_ignored() -> None:
    hook = selecting(object_selector={"matchExpressions": [{"key": "a", "operator": "Near"}]})
    assert "invalid objectSelector" in hook.problem


# ---- configuration objects: defaults and validation ----------------------------------------------------

async def test_configurations_are_stored_with_kube_defaults(plane: Plane) -> None:
    service_hook = {"name": "svc.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                    "clientConfig": {"service": {"namespace": "hooks", "name": "api"}},
                    "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                               "resources": ["pods"]}]}
    stored = (await register(plane, "defaults", service_hook, mutating=True))["webhooks"][0]
    assert stored["failurePolicy"] == "Fail"
    assert stored["matchPolicy"] == "Equivalent"
    assert stored["timeoutSeconds"] == 10
    assert stored["reinvocationPolicy"] == "Never"
    assert stored["namespaceSelector"] == {} and stored["objectSelector"] == {}
    assert stored["rules"][0]["scope"] == "*"
    assert stored["clientConfig"]["service"]["port"] == 443
    validating = (await register(plane, "v-defaults", hook("v.example.com", "https://127.0.0.1:1/")))["webhooks"][0]
    assert "reinvocationPolicy" not in validating


async def test_invalid_configurations_are_refused_with_causes(plane: Plane) -> None:
    bad = [
        {"name": "short.name", "clientConfig": {"url": "https://a.example.com/", "service": {"name": "s"}},
         "rules": [{"operations": ["CREATE", "*"], "apiGroups": [""], "apiVersions": ["v1"], "resources": []}]},
        {"name": "second.example.com", "sideEffects": "Some", "admissionReviewVersions": ["v2"],
         "timeoutSeconds": 31, "failurePolicy": "Maybe",
         "clientConfig": {"url": "http://hooks.example.com/validate"}},
        {"name": "second.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
         "clientConfig": {"url": "https://user:hunter2@hooks.example.com/?token=s3cret"}},
    ]
    with pytest.raises(StatusError) as caught:
        await register(plane, "bad", *bad)
    err = caught.value
    assert err.code == 422 and err.reason == "Invalid"
    assert err.message.startswith('ValidatingWebhookConfiguration.admissionregistration.k8s.io "bad" is invalid: [')
    found = {(c.field, c.message) for c in err.causes}
    assert ("webhooks[0].name", 'Invalid value: "short.name": should be a domain with at least three segments '
            "separated by dots") in found
    assert ("webhooks[0].sideEffects", "Required value: must specify one of None, NoneOnDryRun") in found
    assert ("webhooks[0].admissionReviewVersions", "Required value: must specify one of v1, v1beta1") in found
    assert ("webhooks[0].clientConfig", "Required value: exactly one of url or service is required") in found
    assert ("webhooks[0].rules[0].resources", "Required value") in found
    assert ("webhooks[0].rules[0].operations",
            'Invalid value: []string{"CREATE", "*"}: if \'*\' is present, must not specify other operations') in found
    assert ("webhooks[1].sideEffects", 'Unsupported value: "Some": supported values: "None", "NoneOnDryRun"') in found
    assert ("webhooks[1].admissionReviewVersions",
            'Invalid value: []string{"v2"}: must include at least one of v1, v1beta1') in found
    assert ("webhooks[1].timeoutSeconds", "Invalid value: 31: the timeout value must be between 1 and 30 "
            "seconds") in found
    assert ("webhooks[1].failurePolicy", 'Unsupported value: "Maybe": supported values: "Fail", "Ignore"') in found
    assert ("webhooks[1].clientConfig.url", 'Invalid value: "http": \'https\' is the only allowed URL scheme; '
            "desired format: https://host[/path]") in found
    assert ("webhooks[2].name", 'Duplicate value: "second.example.com"') in found
    assert ("webhooks[2].clientConfig.url",
            'Invalid value: "<redacted>": user information is not permitted in the URL') in found
    # credentials in a URL are never echoed back
    assert "hunter2" not in err.message and "s3cret" not in err.message


async def test_webhooks_are_never_called_for_webhook_configurations(plane: Plane, webhook: WebhookServer) -> None:
    everything = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}
    await register(plane, "deny-all", {**hook("deny.example.com", webhook.url("/deny"), webhook.ca_bundle),
                                       "rules": [everything]})
    webhook.handlers["/deny"] = lambda review: review_response(review, False)
    await register(plane, "another", hook("another.example.com", webhook.url("/deny"), webhook.ca_bundle))
    await plane.objects.update(VALIDATING_WEBHOOKS, "", "deny-all",
                               {**plane.objects.get(VALIDATING_WEBHOOKS, "", "deny-all"), "webhooks": []},
                               WriteOptions(user=ADMIN))
    assert webhook.reviews == []


# ---- calling: mutation --------------------------------------------------------------------------------------

async def test_mutating_webhooks_patch_in_order_each_seeing_the_previous_result(
        plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/first"] = lambda review: review_response(review, **json_patch(
        {"op": "add", "path": "/metadata/labels", "value": {"stamped": "first"}}))

    def second(review: dict[str, Any]) -> dict[str, Any]:
        seen = review["request"]["object"]["metadata"]["labels"]["stamped"]
        return review_response(review, **json_patch({"op": "add", "path": "/data/seen", "value": seen}))

    webhook.handlers["/second"] = second
    # configurations run by name ("a-..." before "b-..."), whatever the order they were created in
    await register(plane, "b-second", hook("second.example.com", webhook.url("/second"), webhook.ca_bundle),
                   mutating=True)
    await register(plane, "a-first", hook("first.example.com", webhook.url("/first"), webhook.ca_bundle),
                   mutating=True)

    stored = await create_cm(plane, configmap("cm", color="blue"))

    assert stored["metadata"]["labels"] == {"stamped": "first"}
    assert stored["data"] == {"color": "blue", "seen": "first"}
    assert plane.objects.get(CONFIGMAPS, "default", "cm")["data"]["seen"] == "first"
    request = webhook.requests("/first")[0]
    assert request["operation"] == "CREATE"
    assert request["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert request["requestKind"] == request["kind"] and request["requestResource"] == request["resource"]
    assert request["name"] == "cm" and request["namespace"] == "default"
    assert request["userInfo"] == {"username": "admin", "groups": ["system:masters", "system:authenticated"]}
    assert request["oldObject"] is None and request["dryRun"] is False
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}


async def test_mutation_on_update_sees_old_object(plane: Plane, webhook: WebhookServer) -> None:
    await create_cm(plane, configmap("cm", color="blue"))
    webhook.handlers["/m"] = lambda review: review_response(review, **json_patch(
        {"op": "replace", "path": "/data/color", "value": "green"}))
    await register(plane, "m", hook("m.example.com", webhook.url("/m"), webhook.ca_bundle, operations=("UPDATE",)),
                   mutating=True)
    current = plane.objects.get(CONFIGMAPS, "default", "cm")
    result = await plane.objects.update(CONFIGMAPS, "default", "cm", {**current, "data": {"color": "red"}},
                                        WriteOptions(user=ADMIN))
    assert result.obj["data"] == {"color": "green"}
    request = webhook.requests("/m")[0]
    assert request["operation"] == "UPDATE"
    assert request["object"]["data"] == {"color": "red"} and request["oldObject"]["data"] == {"color": "blue"}
    assert request["options"]["kind"] == "UpdateOptions"


async def test_a_patch_that_cannot_be_applied_fails_the_request_even_under_ignore(
        plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/bad"] = lambda review: review_response(review, **json_patch(
        {"op": "test", "path": "/data/password", "value": "guess"}))
    await register(plane, "bad", hook("bad.example.com", webhook.url("/bad"), webhook.ca_bundle,
                                      failurePolicy="Ignore"), mutating=True)
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm", password="hunter2"))
    assert caught.value.code == 500
    assert 'admission webhook "bad.example.com" cannot be applied' in caught.value.message
    assert "hunter2" not in caught.value.message


async def test_a_patch_may_not_move_the_object_to_another_namespace(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/move"] = lambda review: review_response(review, **json_patch(
        {"op": "replace", "path": "/metadata/namespace", "value": "kube-system"}))
    await register(plane, "move", hook("move.example.com", webhook.url("/move"), webhook.ca_bundle), mutating=True)
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert caught.value.code == 400
    assert "namespace of the provided object does not match" in caught.value.message


# ---- calling: validation --------------------------------------------------------------------------------------

async def test_validating_webhook_denies_with_its_own_status(plane: Plane, webhook: WebhookServer) -> None:
    def judge(review: dict[str, Any]) -> dict[str, Any]:
        if review["request"]["object"]["data"].get("color") == "red":
            return review_response(review, False, status={"code": 403, "reason": "Forbidden",
                                                          "message": "red is not allowed"})
        return review_response(review)

    webhook.handlers["/judge"] = judge
    await register(plane, "judge", hook("judge.example.com", webhook.url("/judge"), webhook.ca_bundle))
    await create_cm(plane, configmap("cm", color="blue"))
    current = plane.objects.get(CONFIGMAPS, "default", "cm")
    with pytest.raises(StatusError) as caught:
        await plane.objects.update(CONFIGMAPS, "default", "cm", {**current, "data": {"color": "red"}},
                                   WriteOptions(user=ADMIN))
    assert caught.value.code == 403 and caught.value.reason == "Forbidden"
    assert caught.value.message == 'admission webhook "judge.example.com" denied the request: red is not allowed'
    assert plane.objects.get(CONFIGMAPS, "default", "cm")["data"] == {"color": "blue"}


def test_denial_without_a_status_is_400_without_explanation() -> None:
    err = denied("w.example.com", None)
    assert (err.code, err.message) == (400, 'admission webhook "w.example.com" denied the request without explanation')
    assert denied("w.example.com", {"code": 200, "reason": "NotGood"}).code == 400
    assert denied("w.example.com", {"reason": "NotGood"}).message.endswith("denied the request: NotGood")


async def test_delete_is_validated_with_the_old_object(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/keep"] = lambda review: review_response(review, False, status={"message": "keep it"})
    await create_cm(plane, configmap("cm"))
    await register(plane, "keep", hook("keep.example.com", webhook.url("/keep"), webhook.ca_bundle,
                                       operations=("DELETE",)))
    with pytest.raises(StatusError) as caught:
        await delete_object(plane.objects, CONFIGMAPS, "default", "cm", {"propagationPolicy": "Background"},
                            WriteOptions(user=ADMIN))
    assert caught.value.message == 'admission webhook "keep.example.com" denied the request: keep it'
    request = webhook.requests("/keep")[0]
    assert request["object"] is None and request["oldObject"]["metadata"]["name"] == "cm"
    assert request["options"] == {"propagationPolicy": "Background", "kind": "DeleteOptions",
                                  "apiVersion": "meta.k8s.io/v1"}


async def test_object_selector_limits_which_objects_are_sent(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/v"] = lambda review: review_response(review)
    await register(plane, "v", hook("v.example.com", webhook.url("/v"), webhook.ca_bundle,
                                    objectSelector={"matchLabels": {"checked": "yes"}}))
    await create_cm(plane, configmap("plain"))
    await create_cm(plane, configmap("checked", labels={"checked": "yes"}))
    assert [r["name"] for r in webhook.requests("/v")] == ["checked"]


# ---- failure policies ----------------------------------------------------------------------------------------

async def test_unreachable_webhook_fails_closed_with_kubes_message(plane: Plane, webhook: WebhookServer) -> None:
    port = closed_port()
    await register(plane, "down", hook("down.example.com", f"https://127.0.0.1:{port}/check", webhook.ca_bundle))
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert caught.value.code == 500 and caught.value.reason == "InternalError"
    assert caught.value.message == (
        f'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: '
        f'Post "https://127.0.0.1:{port}/check?timeout=10s": dial tcp 127.0.0.1:{port}: connect: connection refused')
    assert webhook.ca_bundle not in caught.value.message


async def test_unreachable_webhook_with_ignore_lets_the_write_through(plane: Plane) -> None:
    await register(plane, "down", hook("down.example.com", f"https://127.0.0.1:{closed_port()}/",
                                       failurePolicy="Ignore"))
    assert (await create_cm(plane, configmap("cm")))["metadata"]["name"] == "cm"


async def test_timeout_fails_under_fail_and_passes_under_ignore(plane: Plane, webhook: WebhookServer) -> None:
    async def slow(review: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(1.5)
        return review_response(review)

    webhook.handlers["/slow"] = slow
    config = await register(plane, "slow", hook("slow.example.com", webhook.url("/slow"), webhook.ca_bundle,
                                                timeoutSeconds=1))
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert caught.value.message.endswith(f'Post "{webhook.url("/slow")}?timeout=1s": context deadline exceeded')
    config = copy.deepcopy(config)  # the returned object shares structure with the stored one
    config["webhooks"][0]["failurePolicy"] = "Ignore"
    await plane.objects.update(VALIDATING_WEBHOOKS, "", "slow", config, WriteOptions(user=ADMIN))
    assert (await create_cm(plane, configmap("cm")))["metadata"]["name"] == "cm"


async def test_untrusted_certificate_is_a_call_failure(plane: Plane, webhook: WebhookServer) -> None:
    other = base64.b64encode(CertificateAuthority.generate("someone-else").cert_pem).decode()
    await register(plane, "tls", hook("tls.example.com", webhook.url("/x"), other))
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert "failed to call webhook" in caught.value.message
    assert "tls: failed to verify certificate" in caught.value.message
    assert webhook.reviews == []


@pytest.mark.parametrize(("reply", "why"), [
    (lambda review: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                     "response": {"uid": "not-the-uid", "allowed": True}}, 'expected response.uid="'),
    (lambda review: {"kind": "AdmissionReview", "response": {"uid": review["request"]["uid"], "allowed": True}},
     "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview"),
    (lambda review: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, "webhook response was absent"),
    (lambda review: web.Response(text="not json", content_type="application/json"), "not JSON"),
    (lambda review: web.Response(status=500), "status code 500"),
    (lambda review: review_response(review, **json_patch({"op": "add", "path": "/x", "value": 1})),
     "validating webhook may not return response.patch"),
])
async def test_bad_responses_fail_closed_under_fail(plane: Plane, webhook: WebhookServer, reply: Handler,
                                                    why: str) -> None:
    webhook.handlers["/bad"] = reply
    await register(plane, "bad", hook("bad.example.com", webhook.url("/bad"), webhook.ca_bundle))
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert caught.value.code == 500
    assert caught.value.message.startswith('Internal error occurred: failed calling webhook "bad.example.com": ')
    assert why in caught.value.message


async def test_webhook_that_does_not_speak_v1_fails_under_its_policy(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/old"] = lambda review: review_response(review)
    await plane.store.create(VALIDATING_WEBHOOKS.key("", "old"), {  # stored directly: v1beta1 is not served
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "old"},
        "webhooks": [{**hook("old.example.com", webhook.url("/old"), webhook.ca_bundle),
                      "admissionReviewVersions": ["v1beta1"]}]})
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert "webhook does not accept known AdmissionReview versions" in caught.value.message
    assert webhook.reviews == []


async def test_service_reference_without_dns_is_a_failure_under_the_policy(plane: Plane) -> None:
    service = {"namespace": "hooks", "name": "guard", "path": "/validate"}
    await register(plane, "svc", {**hook("svc.example.com", "", timeoutSeconds=2),
                                  "clientConfig": {"service": service}})
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"))
    assert 'failed to call webhook: Post "https://guard.hooks.svc:443/validate?timeout=2s": ' in caught.value.message


async def test_match_conditions_skip_under_ignore_and_refuse_under_fail(plane: Plane, webhook: WebhookServer) -> None:
    conditions = [{"name": "not-system", "expression": "!request.userInfo.username.startsWith('system:')"}]
    webhook.handlers["/cel"] = lambda review: review_response(review)
    await register(plane, "cel", hook("cel.example.com", webhook.url("/cel"), webhook.ca_bundle,
                                      failurePolicy="Ignore", matchConditions=conditions))
    await create_cm(plane, configmap("skipped"))
    assert webhook.reviews == []
    await register(plane, "cel-fail", hook("celfail.example.com", webhook.url("/cel"), webhook.ca_bundle,
                                           matchConditions=conditions))
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("refused"))
    assert caught.value.code == 403
    assert "matchConditions (CEL) cannot be evaluated" in caught.value.message


# ---- dry run ---------------------------------------------------------------------------------------------------

async def test_dry_run_calls_side_effect_free_webhooks_with_dry_run_set(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/v"] = lambda review: review_response(review)
    await register(plane, "v", hook("v.example.com", webhook.url("/v"), webhook.ca_bundle,
                                    sideEffects="NoneOnDryRun"))
    await create_cm(plane, configmap("cm"), dry_run=True)
    request = webhook.requests("/v")[0]
    assert request["dryRun"] is True and request["options"]["dryRun"] == ["All"]
    assert plane.store.get(CONFIGMAPS.key("default", "cm")) is None


async def test_dry_run_is_refused_by_a_webhook_with_side_effects(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/v"] = lambda review: review_response(review)
    await plane.store.create(VALIDATING_WEBHOOKS.key("", "legacy"), {  # "Unknown" is refused by v1 validation
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "legacy"},
        "webhooks": [{**hook("legacy.example.com", webhook.url("/v"), webhook.ca_bundle), "sideEffects": "Unknown"}]})
    with pytest.raises(StatusError) as caught:
        await create_cm(plane, configmap("cm"), dry_run=True)
    assert (caught.value.code, caught.value.message) == (
        400, 'admission webhook "legacy.example.com" does not support dry run')
    assert webhook.reviews == []
    await create_cm(plane, configmap("cm"))  # without dry run the webhook is called as usual
    assert len(webhook.reviews) == 1


# ---- plumbing --------------------------------------------------------------------------------------------------

async def test_parsed_configurations_are_reused_until_one_changes(plane: Plane) -> None:
    await register(plane, "c", hook("c.example.com", "https://127.0.0.1:1/"))
    first = plane.admission.webhooks(mutating=False)
    await plane.objects.create(NAMESPACES, "", {"metadata": {"name": "unrelated"}}, WriteOptions())
    assert plane.admission.webhooks(mutating=False) is first
    await register(plane, "d", hook("d.example.com", "https://127.0.0.1:1/"))
    assert [h.name for h in plane.admission.webhooks(mutating=False)] == ["c.example.com", "d.example.com"]


async def test_ssl_contexts_are_cached_per_ca_bundle(ca: CertificateAuthority) -> None:
    client = WebhookClient()
    pem = ca.cert_pem.decode()
    assert client._ssl_context(pem) is client._ssl_context(pem)
    assert client._ssl_context("") is not client._ssl_context(pem)
    with pytest.raises(ValueError):
        client._ssl_context("not a certificate")


def test_admission_review_for_a_namespace_update_names_the_namespace() -> None:
    review = admission_review(attrs("UPDATE", NAMESPACES, name="team", obj=labelled(), old=labelled()), labelled())
    assert review["request"]["namespace"] == "team"
    internal = admission_review(AdmissionAttributes("CREATE", PODS, "default", "p", {}, None, None), {})
    assert internal["request"]["userInfo"]["username"] == "system:apiserver"


def test_verify_response_rejects_patch_without_patch_type() -> None:
    raw = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "response": {"uid": "u", "allowed": True, "patch": base64.b64encode(b"[]").decode()}})
    with pytest.raises(Exception, match=r"response\.patch but not response\.patchType"):
        verify_response(raw.encode(), "u", mutating=True)


async def test_a_patch_cannot_change_server_managed_metadata(plane: Plane, webhook: WebhookServer) -> None:
    webhook.handlers["/sys"] = lambda review: review_response(review, **json_patch(
        {"op": "replace", "path": "/metadata/uid", "value": "forged"},
        {"op": "add", "path": "/metadata/annotations", "value": {"kept": "yes"}}))
    await register(plane, "sys", hook("sys.example.com", webhook.url("/sys"), webhook.ca_bundle), mutating=True)
    stored = await create_cm(plane, configmap("cm"))
    assert stored["metadata"]["uid"] != "forged"
    assert stored["metadata"]["annotations"] == {"kept": "yes"}
