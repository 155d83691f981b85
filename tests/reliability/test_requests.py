"""Requests that once broke the API server, each answered now as kube-apiserver answers it.

Every test sends what a careless or hostile client could send to an in-process server over TLS and checks
what the client sees: a `Status` with kube-apiserver's code and reason, and nothing stored or deleted.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:  # the fixture's type, from this folder's conftest
    from conftest import ThreadedServer

NS = "reliability"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
GADGETS = f"/apis/reliability.example.com/v1/namespaces/{NS}/gadgets"
GADGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.reliability.example.com"},
    "spec": {
        "group": "reliability.example.com", "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {
                "count": {"type": "integer"}, "note": {"type": "string"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}}}],
    },
}


def status_of(response: requests.Response, code: int, reason: str) -> dict[str, Any]:
    """The response's Status, after checking it is one with this code and reason."""
    assert response.status_code == code, response.text[:500]
    status: dict[str, Any] = response.json()
    assert status["kind"] == "Status" and status["status"] == "Failure", status
    assert (status["code"], status["reason"]) == (code, reason), status
    return status


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.fixture(scope="module")
def served(api: ThreadedServer) -> ThreadedServer:
    assert api.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}}).status_code == 201
    assert api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                       GADGETS_CRD).status_code == 201
    deadline = time.monotonic() + 10
    while api.request("GET", GADGETS).status_code != 200:
        assert time.monotonic() < deadline, "the CRD was never served"
        time.sleep(0.05)
    return api


def configmap(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **fields}


def create_configmap(api: ThreadedServer, name: str) -> dict[str, Any]:
    response = api.request("POST", CONFIGMAPS, configmap(name, data={"k": "v"}))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# ---- 1. YAML alias bomb ------------------------------------------------------------------------------
def alias_bomb(name: str) -> str:
    lines = [f"x0: &a0 [{','.join(['lol'] * 10)}]"]
    lines += [f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n" + "\n".join(
        "  " + line for line in lines)


@pytest.mark.parametrize("query", ["", "?dryRun=All"])
def test_yaml_alias_bomb_is_refused_fast_without_memory_or_storage(served: ThreadedServer, query: str) -> None:
    db_before = served.state_db.stat().st_size
    rss_before = rss_bytes()
    started = time.perf_counter()
    response = served.request("POST", CONFIGMAPS + query, data=alias_bomb("bomb"), content_type="application/yaml")
    elapsed = time.perf_counter() - started
    status = status_of(response, 400, "BadRequest")
    assert "excessive aliasing" in status["message"]
    assert elapsed < 0.1
    assert rss_bytes() - rss_before < 20 * 1024 * 1024
    assert served.request("GET", CONFIGMAPS + "/bomb").status_code == 404
    assert served.state_db.stat().st_size <= db_before + 64 * 1024  # WAL bookkeeping only, no 691 MB row


def test_yaml_with_a_few_aliases_is_still_accepted(served: ThreadedServer) -> None:
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aliased\n  labels: &labels {app: web}\n"
            "  annotations: *labels\ndata:\n  when: 2024-01-01T00:00:00Z\n")
    response = served.request("POST", CONFIGMAPS, data=body, content_type="application/yaml")
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["metadata"]["annotations"] == {"app": "web"}
    assert stored["data"] == {"when": "2024-01-01T00:00:00Z"}  # a timestamp stays the string it was


# ---- 3. protected namespaces -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public", "kube-node-lease"])
@pytest.mark.parametrize("query", ["", "?dryRun=All"])
def test_protected_namespaces_cannot_be_deleted(served: ThreadedServer, name: str, query: str) -> None:
    status = status_of(served.request("DELETE", f"/api/v1/namespaces/{name}{query}"), 403, "Forbidden")
    assert status["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert status["details"] == {"name": name, "kind": "namespaces"}
    namespace = served.request("GET", f"/api/v1/namespaces/{name}").json()
    assert "deletionTimestamp" not in namespace["metadata"]
    assert namespace["status"]["phase"] == "Active"


def test_namespaces_have_no_delete_collection(served: ThreadedServer) -> None:
    status_of(served.request("DELETE", "/api/v1/namespaces"), 405, "MethodNotAllowed")
    assert served.request("GET", "/api/v1/namespaces/default").status_code == 200


# ---- 5. invalid CRD schemas ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad_schema", [
    {"type": "object", "properties": "x"},
    {"type": "object", "properties": {"spec": {"type": "object", "required": 5}}},
    {"type": "object", "properties": {"spec": {"type": "object", "items": "x"}}},
    {"type": "object", "properties": {"spec": {"type": "object", "additionalProperties": 5}}},
])
def test_a_crd_schema_of_the_wrong_shape_is_refused_and_openapi_keeps_working(
        served: ThreadedServer, bad_schema: dict[str, Any]) -> None:
    crd = json.loads(json.dumps(GADGETS_CRD))
    crd["metadata"]["name"] = "brokens.reliability.example.com"
    crd["spec"]["names"] = {"plural": "brokens", "singular": "broken", "kind": "Broken"}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = bad_schema
    status = status_of(served.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd),
                       400, "BadRequest")
    assert status["message"].startswith(
        'CustomResourceDefinition in version "v1" cannot be handled as a CustomResourceDefinition: json: '
        "cannot unmarshal")
    root = served.request("GET", "/openapi/v3")
    assert root.status_code == 200
    for entry in root.json()["paths"].values():
        assert served.request("GET", entry["serverRelativeURL"]).status_code == 200


# ---- 6. requests that made the server answer 500 -------------------------------------------------------
def test_a_body_over_3_mib_is_413(served: ThreadedServer) -> None:
    body = configmap("huge", data={"k": "x" * (3 * 1024 * 1024)})
    status = status_of(served.request("POST", CONFIGMAPS, body), 413, "RequestEntityTooLarge")
    assert status["message"] == "Request entity too large: limit is 3145728"


def test_an_object_over_1_5_mib_is_413_and_one_under_it_is_stored(served: ThreadedServer) -> None:
    big = {"apiVersion": "reliability.example.com/v1", "kind": "Gadget", "metadata": {"name": "big"},
           "spec": {"note": "x" * (1600 * 1024)}}
    status_of(served.request("POST", GADGETS, big), 413, "RequestEntityTooLarge")
    assert served.request("GET", GADGETS + "/big").status_code == 404
    big["spec"]["note"] = "x" * (1200 * 1024)  # over aiohttp's default 1 MiB, within kube's limits
    assert served.request("POST", GADGETS, big).status_code == 201


def nested_json(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [255, 600, 1024, 5000])
def test_deeply_nested_json_is_400(served: ThreadedServer, depth: int) -> None:
    body = '{"apiVersion":"reliability.example.com/v1","kind":"Gadget","metadata":{"name":"deep"},' \
           f'"spec":{{"free":{nested_json(depth)}}}}}'
    status = status_of(served.request("POST", GADGETS, data=body), 400, "BadRequest")
    assert "depth" in status["message"] or "nesting" in status["message"]


def test_a_crd_schema_nested_127_levels_is_400(served: ThreadedServer) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(127):
        schema = {"type": "object", "properties": {"a": schema}}
    crd = json.loads(json.dumps(GADGETS_CRD))
    crd["metadata"]["name"] = "deeps.reliability.example.com"
    crd["spec"]["names"] = {"plural": "deeps", "singular": "deep", "kind": "Deep"}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema
    status_of(served.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd),
              400, "BadRequest")
    assert served.request("GET", "/openapi/v3").status_code == 200


def test_yaml_nested_10000_levels_is_400(served: ThreadedServer) -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + "[" * 10000 + "]" * 10000
    status_of(served.request("POST", CONFIGMAPS, data=body, content_type="application/yaml"), 400, "BadRequest")


@pytest.mark.parametrize("revision", [2**64, 2**63, 0, -1, "1"])
def test_a_continue_token_with_an_impossible_revision_is_400(served: ThreadedServer, revision: Any) -> None:
    token = base64.urlsafe_b64encode(json.dumps({"rv": revision, "start": "x"}).encode()).decode()
    status = status_of(served.request("GET", f"{CONFIGMAPS}?limit=1&continue={token}"), 400, "BadRequest")
    assert status["message"].startswith("invalid continue token: continue key is not valid")


@pytest.mark.parametrize("body", ['{"preconditions":"x"}', "[1]", '"x"', '{"gracePeriodSeconds":"abc"}',
                                  '{"dryRun":"All"}', '{"preconditions":{"uid":5}}'])
def test_a_delete_body_that_is_not_delete_options_is_400_and_deletes_nothing(
        served: ThreadedServer, body: str) -> None:
    create_configmap(served, "kept")
    status_of(served.request("DELETE", CONFIGMAPS + "/kept", data=body), 400, "BadRequest")
    assert served.request("GET", CONFIGMAPS + "/kept").status_code == 200
    assert served.request("DELETE", CONFIGMAPS + "/kept").status_code == 200


def test_a_namespace_with_finalizers_of_the_wrong_type_is_400(served: ThreadedServer) -> None:
    body = {"metadata": {"name": "typed"}, "spec": {"finalizers": 5}}
    status = status_of(served.request("POST", "/api/v1/namespaces", body), 400, "BadRequest")
    assert status["message"].startswith('Namespace in version "v1" cannot be handled as a Namespace: json: '
                                        "cannot unmarshal number 5 into Go struct field Namespace.spec.finalizers")
    finalize = {"metadata": {"name": "default"}, "spec": {"finalizers": "x"}}
    status_of(served.request("PUT", "/api/v1/namespaces/default/finalize", finalize), 400, "BadRequest")


def test_a_watch_over_http_1_0_streams_events(served: ThreadedServer) -> None:
    context = ssl.create_default_context(cafile=str(served.ca_cert))
    port = served.server.port
    request = (f"GET /api/v1/namespaces?watch=true&timeoutSeconds=1 HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
               f"Authorization: Bearer {served.token}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(request)
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"200", head
    events = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert {"ADDED"} == {event["type"] for event in events}
    assert "default" in {event["object"]["metadata"]["name"] for event in events}


# ---- 8. built-in objects decoded with their Go types ---------------------------------------------------
@pytest.mark.parametrize(("fields", "expected"), [
    ({"data": {"k": 1}}, "json: cannot unmarshal number 1 into Go struct field ConfigMap.data of type string"),
    ({"data": {"k": {"a": "b"}}}, "json: cannot unmarshal object into Go struct field ConfigMap.data of type string"),
    ({"data": {"k": ["a"]}}, "json: cannot unmarshal array into Go struct field ConfigMap.data of type string"),
    ({"data": "x"}, "json: cannot unmarshal string into Go struct field ConfigMap.data of type map[string]string"),
    ({"binaryData": {"k": "!!!"}}, "illegal base64 data at input byte 0"),
    ({"immutable": "yes"}, "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool"),
    ({"metadata": {"name": "typed", "labels": {"a": 5}}},
     "json: cannot unmarshal number 5 into Go struct field ConfigMap.metadata.labels of type string"),
])
def test_a_configmap_with_wrong_types_is_400(served: ThreadedServer, fields: dict[str, Any], expected: str) -> None:
    status = status_of(served.request("POST", CONFIGMAPS, configmap("typed", **fields)), 400, "BadRequest")
    assert status["message"] == f'ConfigMap in version "v1" cannot be handled as a ConfigMap: {expected}'
    assert served.request("GET", CONFIGMAPS + "/typed").status_code == 404


@pytest.mark.parametrize("key", ["a/b", "..", "..a", "a b", "x" * 254])
def test_a_configmap_key_that_is_not_a_config_key_is_422(served: ThreadedServer, key: str) -> None:
    status = status_of(served.request("POST", CONFIGMAPS, configmap("keys", data={key: "v"})), 422, "Invalid")
    assert [cause["field"] for cause in status["details"]["causes"]] == [f"data[{key}]"]


def test_a_secret_type_must_be_a_string(served: ThreadedServer) -> None:
    body = {"metadata": {"name": "typed"}, "type": 5}
    status = status_of(served.request("POST", f"/api/v1/namespaces/{NS}/secrets", body), 400, "BadRequest")
    assert "Go struct field Secret.type of type string" in status["message"]


def test_unknown_top_level_fields_are_refused_when_strict_and_dropped_with_a_warning_otherwise(
        served: ThreadedServer) -> None:
    body = configmap("unknown", data={"k": "v"}, extra={"a": 1})
    status = status_of(served.request("POST", CONFIGMAPS + "?fieldValidation=Strict", body), 400, "BadRequest")
    assert status["message"] == 'strict decoding error: unknown field "extra"'
    response = served.request("POST", CONFIGMAPS + "?fieldValidation=Warn", body)
    assert response.status_code == 201
    assert response.headers["Warning"] == '299 - "unknown field \\"extra\\""'
    assert "extra" not in served.request("GET", CONFIGMAPS + "/unknown").json()


def test_an_unknown_field_name_with_a_newline_cannot_split_the_warning_header(served: ThreadedServer) -> None:
    body = configmap("newline", data={"k": "v"}, **{"evil\r\nSet-Cookie: x": 1})
    response = served.request("POST", CONFIGMAPS + "?fieldValidation=Warn", body)
    assert response.status_code == 201, response.text
    assert response.headers["Warning"] == '299 - "unknown field \\"evil\\u000d\\u000aSet-Cookie: x\\""'
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("number", ["100000000000000000000000000000", "9223372036854775808",
                                    "-9223372036854775809"])
def test_a_custom_resource_integer_beyond_int64_is_refused_never_stored_as_a_float(
        served: ThreadedServer, number: str) -> None:
    body = ('{"apiVersion":"reliability.example.com/v1","kind":"Gadget","metadata":{"name":"huge-int"},'
            f'"spec":{{"count":{number}}}}}')
    status = status_of(served.request("POST", GADGETS, data=body), 400, "BadRequest")
    assert number in status["message"]
    assert served.request("GET", GADGETS + "/huge-int").status_code == 404


# ---- 9. DeleteOptions validated -----------------------------------------------------------------------
def test_orphan_dependents_with_a_propagation_policy_is_422_and_deletes_nothing(served: ThreadedServer) -> None:
    create_configmap(served, "both")
    body = {"orphanDependents": True, "propagationPolicy": "Background"}
    status = status_of(served.request("DELETE", CONFIGMAPS + "/both", body), 422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "propagationPolicy"
    assert "orphanDependents and deletionPropagation cannot be both set" in status["message"]
    status_of(served.request("DELETE", CONFIGMAPS + "/both?gracePeriodSeconds=abc"), 400, "BadRequest")
    status_of(served.request("DELETE", CONFIGMAPS + "/both?orphanDependents=maybe"), 400, "BadRequest")
    assert served.request("GET", CONFIGMAPS + "/both").status_code == 200
    assert served.request("DELETE", CONFIGMAPS + "/both", {"gracePeriodSeconds": 0}).status_code == 200


# ---- 10. list options and resource versions ------------------------------------------------------------
def test_a_negative_limit_is_ignored_as_kube_apiserver_does(served: ThreadedServer) -> None:
    for name in ("page-a", "page-b"):
        create_configmap(served, name)
    listed = served.request("GET", CONFIGMAPS + "?limit=-1").json()
    assert {"page-a", "page-b"} <= {item["metadata"]["name"] for item in listed["items"]}
    assert "continue" not in listed["metadata"]


@pytest.mark.parametrize("path", [CONFIGMAPS, "/api/v1/namespaces/default"])
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "18446744073709551616"])
def test_an_unparsable_resource_version_is_400(served: ThreadedServer, path: str, value: str) -> None:
    status = status_of(served.request("GET", f"{path}?resourceVersion={value}"), 400, "BadRequest")
    assert status["message"].startswith(f'invalid resource version: resourceVersion: Invalid value: "{value}"')


@pytest.mark.parametrize(("query", "field"), [
    ("resourceVersionMatch=Bogus&resourceVersion=1", "resourceVersionMatch"),
    ("resourceVersionMatch=Exact", "resourceVersionMatch"),
    ("resourceVersionMatch=Exact&resourceVersion=0", "resourceVersionMatch"),
    ("sendInitialEvents=true", "sendInitialEvents"),
])
def test_list_options_are_validated_as_kube_apiserver_does(served: ThreadedServer, query: str, field: str) -> None:
    status = status_of(served.request("GET", f"{CONFIGMAPS}?{query}"), 422, "Invalid")
    assert field in {cause["field"] for cause in status["details"]["causes"]}


@pytest.mark.parametrize("query", ["watch=maybe", "allowWatchBookmarks=2", "watch=true&sendInitialEvents=yes",
                                   "limit=ten", "watch=true&timeoutSeconds=soon"])
def test_list_options_that_do_not_parse_are_400(served: ThreadedServer, query: str) -> None:
    status_of(served.request("GET", f"{CONFIGMAPS}?{query}"), 400, "BadRequest")


def test_an_exact_list_at_the_current_revision_is_served_and_a_future_one_is_504(served: ThreadedServer) -> None:
    revision = served.request("GET", CONFIGMAPS).json()["metadata"]["resourceVersion"]
    exact = served.request("GET", f"{CONFIGMAPS}?resourceVersionMatch=Exact&resourceVersion={revision}")
    assert exact.status_code == 200
    status_of(served.request("GET", f"{CONFIGMAPS}?resourceVersion={int(revision) + 1000}"), 504, "Timeout")


def test_a_write_with_an_unparsable_resource_version_is_400_not_409(served: ThreadedServer) -> None:
    current = create_configmap(served, "rv-abc")
    current["metadata"]["resourceVersion"] = "abc"
    status_of(served.request("PUT", CONFIGMAPS + "/rv-abc", current), 400, "BadRequest")
    patch = {"metadata": {"resourceVersion": "abc"}, "data": {"k": "w"}}
    status_of(served.request("PATCH", CONFIGMAPS + "/rv-abc", patch, content_type="application/merge-patch+json"),
              400, "BadRequest")
    assert served.request("GET", CONFIGMAPS + "/rv-abc").json()["data"] == {"k": "v"}


# ---- 11. identity edits --------------------------------------------------------------------------------
def test_a_put_with_another_uid_is_a_409_precondition_failure(served: ThreadedServer) -> None:
    current = create_configmap(served, "uid-put")
    uid = current["metadata"]["uid"]
    current["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    current["data"] = {"k": "changed"}
    status = status_of(served.request("PUT", CONFIGMAPS + "/uid-put", current), 409, "Conflict")
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "uid-put": Precondition failed: UID in precondition: '
        f"00000000-0000-0000-0000-000000000000, UID in object meta: {uid}")
    assert served.request("GET", CONFIGMAPS + "/uid-put").json()["data"] == {"k": "v"}


def json_patch(api: ThreadedServer, path: str, ops: list[dict[str, Any]]) -> requests.Response:
    return api.request("PATCH", path, ops, content_type="application/json-patch+json")


@pytest.mark.parametrize(("ops", "code", "reason"), [
    ([{"op": "replace", "path": "/metadata/name", "value": "renamed"}], 400, "BadRequest"),
    ([{"op": "remove", "path": "/metadata"}], 400, "BadRequest"),
    ([{"op": "replace", "path": "/metadata/uid", "value": "other"}], 422, "Invalid"),
    ([{"op": "replace", "path": "/kind", "value": "Secret"}], 400, "BadRequest"),
])
def test_a_json_patch_editing_a_builtin_identity_is_refused(
        served: ThreadedServer, ops: list[dict[str, Any]], code: int, reason: str) -> None:
    before = create_configmap(served, "identity")
    status_of(json_patch(served, CONFIGMAPS + "/identity", ops), code, reason)
    after = served.request("GET", CONFIGMAPS + "/identity").json()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert served.request("GET", CONFIGMAPS + "/renamed").status_code == 404
    assert served.request("DELETE", CONFIGMAPS + "/identity").status_code == 200


@pytest.mark.parametrize(("path", "code", "reason"), [
    ("/kind", 422, "Invalid"), ("/apiVersion", 422, "Invalid"), ("/metadata", 400, "BadRequest")])
def test_a_json_patch_removing_a_custom_resource_identity_is_refused(
        served: ThreadedServer, path: str, code: int, reason: str) -> None:
    body = {"apiVersion": "reliability.example.com/v1", "kind": "Gadget", "metadata": {"name": "ident"},
            "spec": {"count": 1}}
    before = served.request("POST", GADGETS, body).json()
    status_of(json_patch(served, GADGETS + "/ident", [{"op": "remove", "path": path}]), code, reason)
    after = served.request("GET", GADGETS + "/ident").json()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert served.request("DELETE", GADGETS + "/ident").status_code == 200

