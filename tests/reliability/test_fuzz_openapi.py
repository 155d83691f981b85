"""Schema-driven fuzzing of every operation herd's own `/openapi/v3` documents describe.

Hypothesis draws path parameters, query options and bodies from each operation's schemas, mostly well-typed
and sometimes not, and sends them over TLS. Whatever it sends, the server answers below 500, and every
error is a `Status` whose `code` is the HTTP status. The example budget keeps the whole module under 30 s.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:  # the fixture's type, from this folder's conftest
    from conftest import ThreadedServer

NAMESPACE = "fuzz"
NAMES = ("one", "two")
WIDGETS_CRD = Path(__file__).parents[2] / "examples" / "widgets-crd.yaml"
# CI runs a fixed, reproducible set; HERD_FUZZ_EXAMPLES=200 (say) explores fresh random examples instead
EXAMPLES_PER_OPERATION = int(os.environ.get("HERD_FUZZ_EXAMPLES", "20"))
EXPLORE = "HERD_FUZZ_EXAMPLES" in os.environ
MAX_DEPTH = 5

Schema = dict[str, Any]
Operation = tuple[str, str, Schema]  # method, path template, operation

_JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(
    max_size=12)
JUNK = st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=6), inner, max_size=3), max_leaves=6)
TEXT = st.text(max_size=12) | st.sampled_from(["", "0", "1", "-1", "abc", "Exact", "NotOlderThan", "All",
                                               "Strict", "Warn", "true", "a=b", "metadata.name=one"])


def values(schema: Schema, components: dict[str, Schema], depth: int = 0,
           junk: bool = True) -> st.SearchStrategy[Any]:
    """Values the schema describes; with `junk`, wrong types mixed in at any level."""
    while "$ref" in schema or ("allOf" in schema and "type" not in schema):
        ref = schema.get("$ref") or schema["allOf"][0].get("$ref", "")
        schema = components.get(ref.removeprefix("#/components/schemas/"), {})
    if depth >= MAX_DEPTH:
        return _JSON_SCALARS if junk else st.none()
    kind = schema.get("type")
    if kind == "object" and schema.get("properties"):
        fields = {key: values(sub, components, depth + 1, junk) for key, sub in schema["properties"].items()}
        typed: st.SearchStrategy[Any] = st.fixed_dictionaries({}, optional=fields)
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        typed = st.dictionaries(TEXT if junk else st.sampled_from(["a", "b.c", "d-e"]),
                                values(schema["additionalProperties"], components, depth + 1, junk), max_size=3)
    elif kind == "array":
        typed = st.lists(values(schema.get("items") or {}, components, depth + 1, junk), max_size=3)
    elif kind == "string":
        typed = TEXT if junk else st.sampled_from(["", "a", "Opaque", "web", "small", "2024-01-01T00:00:00Z"])
    elif kind == "integer":
        typed = (st.integers(-(2**65), 2**65) | st.integers(-2, 5)) if junk else st.integers(0, 5)
    elif kind == "number":
        typed = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        typed = st.booleans()
    else:
        return JUNK if junk else st.none()
    return st.one_of(typed, typed, typed, JUNK) if junk else typed


def kind_body(schema: Schema, components: dict[str, Schema], gvk: dict[str, str]) -> st.SearchStrategy[Any]:
    """A body for a kind: its identity mostly right, so the fuzzing reaches past the first checks."""
    api_version = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk.get("version", "v1")
    identity = st.fixed_dictionaries({
        "apiVersion": st.sampled_from([api_version, api_version, "v2"]),
        "kind": st.sampled_from([gvk.get("kind", ""), gvk.get("kind", ""), "Other"]),
        "metadata": st.fixed_dictionaries({"name": st.sampled_from(NAMES)}, optional={
            "labels": st.dictionaries(TEXT, TEXT | JUNK, max_size=2), "resourceVersion": TEXT,
            "uid": TEXT, "finalizers": st.lists(TEXT, max_size=2)}),
    })
    fields = st.booleans().flatmap(lambda junk: values(schema, components, junk=junk))
    whole = st.tuples(identity, fields).map(
        lambda pair: {**(pair[1] if isinstance(pair[1], dict) else {}), **pair[0]})
    return st.one_of(whole, whole, whole, JUNK)


JSON_PATCH_OPS = st.lists(st.fixed_dictionaries({
    "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]),
    "path": st.sampled_from(["/metadata/name", "/metadata", "/kind", "/spec", "/data/k", "/metadata/labels/a",
                             "/status", "", "/x/y/z"]) | TEXT,
}, optional={"value": JUNK, "from": st.sampled_from(["/metadata/labels", "/spec", "/nope"])}), max_size=3) | JUNK


@pytest.fixture(scope="module")
def documents(api: ThreadedServer) -> Iterator[dict[str, Schema]]:
    assert api.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}}).status_code == 201
    crd = yaml.safe_load(WIDGETS_CRD.read_text())
    assert api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status_code == 201
    deadline = time.monotonic() + 10
    while api.request("GET", f"/apis/example.com/v1/namespaces/{NAMESPACE}/widgets").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    root = api.request("GET", "/openapi/v3").json()
    yield {key: api.request("GET", entry["serverRelativeURL"]).json() for key, entry in root["paths"].items()}


def ensure_object(api: ThreadedServer, template: str, name: str, gvk: dict[str, str]) -> None:
    """Create the object an item operation is about, if the kind takes a minimal body, so updates, patches
    and deletes with options reach an existing object rather than stopping at 404."""
    collection = template.split("/{name}")[0].replace("{namespace}", NAMESPACE)
    api_version = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk.get("version", "v1")
    body = {"apiVersion": api_version, "kind": gvk.get("kind"), "metadata": {"name": name},
            "spec": {"size": "small"}, "involvedObject": {"name": name}}
    api.request("POST", collection + "?fieldValidation=Ignore", body)


def operations(document: Schema) -> list[Operation]:
    found = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            found.append((method.upper(), template, {**operation, "parameters": [
                *item.get("parameters", []), *operation.get("parameters", [])]}))
    return found


def query_options(parameters: list[Schema]) -> st.SearchStrategy[dict[str, str]]:
    optional = {}
    for param in parameters:
        if param["in"] != "query" or param["name"] == "watch":  # a watch would stream until its timeout
            continue
        kind = param.get("schema", {}).get("type")
        typed = st.sampled_from(["true", "false"]) if kind == "boolean" else (
            st.integers(-(2**65), 2**65).map(str) if kind == "integer" else TEXT)
        optional[param["name"]] = typed | TEXT
    return st.just({}) | st.fixed_dictionaries({}, optional=optional)


def body_for(method: str, operation: Schema, components: dict[str, Schema]) -> st.SearchStrategy[Any]:
    content = (operation.get("requestBody") or {}).get("content") or {}
    if not content:
        return st.none()
    media = sorted(content)
    if method == "PATCH":
        kind_schema = components.get(_kind_component(operation, components), {})
        return st.tuples(st.sampled_from(media), JSON_PATCH_OPS | values(kind_schema, components, junk=False)
                         | values(kind_schema, components) | JUNK)
    schema = content[media[0]]["schema"]
    gvk = operation.get("x-kubernetes-group-version-kind") or {}
    strategy = kind_body(schema, components, gvk) if method in ("POST", "PUT") else values(schema, components)
    return st.tuples(st.sampled_from(["application/json", "application/yaml"]), strategy)


def _kind_component(operation: Schema, components: dict[str, Schema]) -> str:
    gvk = operation.get("x-kubernetes-group-version-kind") or {}
    for name, schema in components.items():
        if gvk in (schema.get("x-kubernetes-group-version-kind") or []):
            return name
    return ""


def encode(media: str, body: Any) -> str:
    if media == "application/yaml":
        return yaml.safe_dump(body)
    return json.dumps(body)


def check_answer(response: Any, sent: str) -> None:
    assert response.status_code < 500, f"{sent} -> {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        status = response.json()
        assert status.get("kind") == "Status", f"{sent} -> {response.text[:300]}"
        assert status.get("code") == response.status_code, f"{sent} -> {status}"


DOCUMENTS = ["api/v1", "apis/apiextensions.k8s.io/v1", "apis/admissionregistration.k8s.io/v1",
             "apis/coordination.k8s.io/v1", "apis/policy/v1", "apis/example.com/v1"]


@pytest.mark.parametrize("key", DOCUMENTS)
def test_no_request_drawn_from_the_openapi_document_gets_a_5xx_or_a_non_status_error(
        api: ThreadedServer, documents: dict[str, Schema], key: str) -> None:
    document = documents[key]
    components = document["components"]["schemas"]
    ops = operations(document)
    assert ops, f"{key} describes no operations"

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=not EXPLORE,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def probe(method: str, template: str, operation: Schema, data: st.DataObject) -> None:
        path = template.replace("{namespace}", data.draw(st.sampled_from([NAMESPACE, NAMESPACE, "missing"])))
        name = data.draw(st.sampled_from(NAMES))
        if "{name}" in template and "Scale" not in str(operation.get("x-kubernetes-group-version-kind")):
            ensure_object(api, template, name, operation.get("x-kubernetes-group-version-kind") or {})
        path = path.replace("{name}", name)
        query = data.draw(query_options(operation["parameters"]))
        drawn = data.draw(body_for(method, operation, components))
        media, body = drawn if drawn is not None else ("application/json", None)
        payload = encode(media, body) if body is not None else None
        response = api.session.request(method, api.url + path, params=query, data=payload,
                                       headers={"Content-Type": media}, timeout=30, verify=str(api.ca_cert))
        check_answer(response, f"{method} {path} {query} {media} {payload and payload[:300]}")

    for method, template, operation in ops:
        probe(method, template, operation)
