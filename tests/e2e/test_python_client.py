"""The official `kubernetes` Python client against `herd serve`: what a controller author sees.

Every test loads the plane's kubeconfig into a fresh `ApiClient`, works in its own namespace and
asserts on what the client returns or raises.
"""

from __future__ import annotations

import base64
import functools
import json
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from support.plane import ServedPlane
from support.waiting import eventually_sync

MANIFESTS = Path(__file__).parent / "manifests"
GROUP, VERSION, PLURAL = "example.com", "v1", "widgets"


# ---- helpers ------------------------------------------------------------------------------------------

def api_client(plane: ServedPlane) -> client.ApiClient:
    """A fresh ApiClient configured from the plane's kubeconfig (never the process-wide default)."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(plane.kubeconfig), client_configuration=configuration)
    return client.ApiClient(configuration)


# the CRD's kinds, a namespace's deletion: not yet while they answer 404
eventually = functools.partial(eventually_sync, timeout=10.0, retry_on=(ApiException,))


def status_body(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status", body
    assert body["status"] == "Failure", body
    assert body["code"] == exc.status, body
    return body


def widget(name: str, size: str = "small", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
            "metadata": {"name": name, "labels": labels or {}}, "spec": {"size": size, **spec}}


@pytest.fixture(scope="module")
def widgets_crd(shared_plane: ServedPlane) -> None:
    """The Widget CRD, created through ApiextensionsV1Api and awaited until its API is served."""
    crd = yaml.safe_load((MANIFESTS / "widgets-crd.yaml").read_text())
    with api_client(shared_plane) as api:
        extensions = client.ApiextensionsV1Api(api)
        try:
            extensions.create_custom_resource_definition(crd)
        except ApiException as exc:
            if exc.status != 409:
                raise

        def established() -> bool:
            got = extensions.read_custom_resource_definition("widgets.example.com")
            return any(c.type == "Established" and c.status == "True" for c in got.status.conditions or [])

        eventually(established)
        custom = client.CustomObjectsApi(api)
        eventually(lambda: custom.list_cluster_custom_object(GROUP, VERSION, PLURAL) is not None)


@pytest.fixture
def api(shared_plane: ServedPlane) -> Iterator[client.ApiClient]:
    with api_client(shared_plane) as fresh:
        yield fresh


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"pc-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name


# ---- core/v1 and coordination.k8s.io ------------------------------------------------------------------

def test_namespace_lifecycle(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = f"ns-{uuid.uuid4().hex[:8]}"

    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"a": "1"})))
    assert created.metadata.name == name
    assert created.metadata.uid
    assert created.status.phase == "Active"

    assert core.read_namespace(name).metadata.uid == created.metadata.uid
    listed = core.list_namespace(label_selector="a=1")
    assert name in [ns.metadata.name for ns in listed.items]

    patched = core.patch_namespace(name, {"metadata": {"labels": {"b": "2"}}})
    assert patched.metadata.labels == {"a": "1", "b": "2"}
    assert int(patched.metadata.resource_version) > int(created.metadata.resource_version)

    core.delete_namespace(name)

    def gone() -> bool:
        try:
            ns = core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return ns.status.phase == "Terminating"

    eventually(gone)


def test_configmap_crud(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "x"}),
                              data={"colour": "blue"})

    created = core.create_namespaced_config_map(namespace, body)
    assert created.data == {"colour": "blue"}
    assert created.metadata.namespace == namespace

    assert core.read_namespaced_config_map("settings", namespace).data == {"colour": "blue"}
    assert [cm.metadata.name for cm in core.list_namespaced_config_map(namespace, label_selector="app=x").items] \
        == ["settings"]
    assert core.list_namespaced_config_map(namespace, label_selector="app=y").items == []

    patched = core.patch_namespaced_config_map("settings", namespace, {"data": {"size": "10"}})
    assert patched.data == {"colour": "blue", "size": "10"}

    patched.data["colour"] = "red"
    replaced = core.replace_namespaced_config_map("settings", namespace, patched)
    assert replaced.data == {"colour": "red", "size": "10"}

    core.delete_namespaced_config_map("settings", namespace)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("settings", namespace)
    assert caught.value.status == 404
    assert status_body(caught.value)["reason"] == "NotFound"


def test_secret_string_data_is_stored_as_base64_data(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="creds"), string_data={"password": "hunter2"})

    created = core.create_namespaced_secret(namespace, body)
    assert created.data == {"password": base64.b64encode(b"hunter2").decode()}
    assert created.string_data is None
    assert created.type == "Opaque"

    read = core.read_namespaced_secret("creds", namespace)
    assert base64.b64decode(read.data["password"]) == b"hunter2"

    patched = core.patch_namespaced_secret("creds", namespace, {"stringData": {"user": "admin"}})
    assert {k: base64.b64decode(v) for k, v in patched.data.items()} == {"password": b"hunter2", "user": b"admin"}

    assert [s.metadata.name for s in core.list_namespaced_secret(namespace).items] == ["creds"]
    core.delete_namespaced_secret("creds", namespace)
    assert core.list_namespaced_secret(namespace).items == []


def test_events_filtered_by_involved_object(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)

    def event(name: str, kind: str, target: str) -> client.CoreV1Event:
        return client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name),
            involved_object=client.V1ObjectReference(kind=kind, name=target, namespace=namespace),
            reason="Tested", message=f"{kind}/{target}", type="Normal")

    core.create_namespaced_event(namespace, event("e1", "Widget", "x"))
    core.create_namespaced_event(namespace, event("e2", "Widget", "y"))
    core.create_namespaced_event(namespace, event("e3", "Gadget", "x"))

    found = core.list_namespaced_event(namespace, field_selector="involvedObject.kind=Widget,involvedObject.name=x")
    assert [e.metadata.name for e in found.items] == ["e1"]
    assert found.items[0].message == "Widget/x"

    with pytest.raises(ApiException) as caught:
        core.list_namespaced_event(namespace, field_selector="spec.nonsense=1")
    assert caught.value.status == 400


def test_lease_create_and_update(api: client.ApiClient, namespace: str) -> None:
    leases = client.CoordinationV1Api(api)
    created = leases.create_namespaced_lease(namespace, client.V1Lease(
        metadata=client.V1ObjectMeta(name="leader"),
        spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15)))
    assert created.spec.holder_identity == "a"

    created.spec.holder_identity = "b"
    updated = leases.replace_namespaced_lease("leader", namespace, created)
    assert updated.spec.holder_identity == "b"
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    # a second replace from the same, now stale, copy loses: leader election depends on it
    created.spec.holder_identity = "c"
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("leader", namespace, created)
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("leader", namespace).spec.holder_identity == "b"


def test_core_errors_are_api_exceptions_with_status(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dup"))
    core.create_namespaced_config_map(namespace, body)

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(namespace, body)
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "AlreadyExists"

    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("missing", namespace)
    assert caught.value.status == 404

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name")))
    assert caught.value.status == 422
    status = status_body(caught.value)
    assert status["reason"] == "Invalid"
    assert [c["field"] for c in status["details"]["causes"]] == ["metadata.name"]


# ---- custom resources ---------------------------------------------------------------------------------

@pytest.mark.usefixtures("widgets_crd")
def test_custom_object_crud(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)

    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL,
                                                     widget("w1", labels={"tier": "a"}))
    assert created["spec"] == {"size": "small", "replicas": 1}  # defaulted from the schema
    assert created["metadata"]["generation"] == 1
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("w2", labels={"tier": "b"}))

    got = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]

    patched = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1",
                                                    {"spec": {"color": "red"}})
    assert patched["spec"] == {"size": "small", "replicas": 1, "color": "red"}
    assert patched["metadata"]["generation"] == 2

    with_status = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "w1", {"status": {"replicas": 1, "observedGeneration": 2}})
    assert with_status["status"] == {"replicas": 1, "observedGeneration": 2}
    assert with_status["metadata"]["generation"] == 2  # status writes do not bump the generation

    # the main resource ignores status; the status subresource ignores spec
    ignored = custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1",
                                                    {"status": {"replicas": 9}})
    assert ignored["status"]["replicas"] == 1

    tier_a = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector="tier=a")
    assert [w["metadata"]["name"] for w in tier_a["items"]] == ["w1"]
    everything = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    assert [w["metadata"]["name"] for w in everything["items"]] == ["w1", "w2"]
    assert everything["kind"] == "WidgetList"

    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1")
    with pytest.raises(ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w1")
    assert caught.value.status == 404
    assert status_body(caught.value)["details"]["name"] == "w1"


@pytest.mark.usefixtures("widgets_crd")
def test_custom_object_errors(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    first = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("w"))

    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("w"))
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "AlreadyExists"

    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("huge", size="huge"))
    assert caught.value.status == 422
    causes = status_body(caught.value)["details"]["causes"]
    assert [c["field"] for c in causes] == ["spec.size"]
    assert "huge" in causes[0]["message"]

    # a stale resourceVersion loses the compare-and-swap
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w", {"spec": {"color": "blue"}})
    stale = dict(first, spec={"size": "large"})
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w", stale)
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "Conflict"

    # a replace must say which version it replaces
    unversioned = widget("w", size="large")
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w", unversioned)
    assert caught.value.status == 422
    assert [c["field"] for c in status_body(caught.value)["details"]["causes"]] == ["metadata.resourceVersion"]

    current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w")
    assert current["spec"] == {"size": "small", "replicas": 1, "color": "blue"}
    current["spec"]["size"] = "large"
    replaced = custom.replace_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w", current)
    assert replaced["spec"]["size"] == "large"

    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "missing", {"spec": {}})
    assert caught.value.status == 404


@pytest.mark.usefixtures("widgets_crd")
def test_watch_without_resource_version_lists_then_follows(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    for name in ("a", "b"):
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget(name))

    events: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
    failures: list[BaseException] = []
    watcher = watch.Watch()
    stopping = threading.Event()

    def consume() -> None:
        try:
            for event in watcher.stream(custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
                                        timeout_seconds=30):
                obj = event["object"]
                events.put((event["type"], obj["metadata"]["name"], obj))
        except Exception as exc:  # Watch.stop() shuts the socket down under a blocked read
            if not stopping.is_set():
                failures.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        def next_event() -> tuple[str, str, dict[str, Any]]:
            return events.get(timeout=10)

        initial = [next_event()[:2], next_event()[:2]]
        assert sorted(initial) == [("ADDED", "a"), ("ADDED", "b")]

        custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "a", {"spec": {"size": "large"}})
        kind, name, obj = next_event()
        assert (kind, name, obj["spec"]["size"]) == ("MODIFIED", "a", "large")

        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "b")
        assert next_event()[:2] == ("DELETED", "b")

        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("c"))
        assert next_event()[:2] == ("ADDED", "c")
    finally:
        stopping.set()
        watcher.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert failures == []
    assert events.empty()
