"""Durability of `herd serve`: objects, the revision counter and watch resumption survive a restart.

"Objects and the revision counter survive a restart of `herd serve` (also after kill -9 right after a
write was acknowledged); a watch resumed from a resourceVersion taken before the restart sees every later
event exactly once, in order, or gets 410 if that revision was compacted."
"""

from __future__ import annotations

import base64
import json
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from support.plane import ServedPlane, serving
from support.waiting import eventually_sync


@pytest.fixture
def durable(plane: ServedPlane) -> ServedPlane:
    return plane


@pytest.fixture
def short_window(tmp_path: Path) -> Iterator[ServedPlane]:
    with serving(tmp_path, "--compaction-window", "5") as plane:
        yield plane


def core_api(served: ServedPlane) -> client.CoreV1Api:
    """A CoreV1Api on a fresh ApiClient from the plane's (possibly rewritten) kubeconfig."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(served.kubeconfig), client_configuration=configuration)
    return client.CoreV1Api(client.ApiClient(configuration))


def raw_session(served: ServedPlane, tmp: Path) -> requests.Session:
    """A `requests` session holding the kubeconfig's CA and client certificate."""
    kubeconfig = yaml.safe_load(served.kubeconfig.read_text())
    user = kubeconfig["users"][0]["user"]
    cluster = kubeconfig["clusters"][0]["cluster"]
    tmp.mkdir(exist_ok=True)
    files = {"ca": cluster["certificate-authority-data"], "crt": user["client-certificate-data"],
             "key": user["client-key-data"]}
    for name, data in files.items():
        (tmp / name).write_bytes(base64.b64decode(data))
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
    session.verify = str(tmp / "ca")
    session.cert = (str(tmp / "crt"), str(tmp / "key"))
    return session


def watch_events(served: ServedPlane, session: requests.Session, path: str, **params: str) -> list[dict[str, Any]]:
    """Every event of a watch that the server ends after `timeoutSeconds`."""
    query = {"watch": "true", "timeoutSeconds": "2", **params}
    with session.get(served.url + path, params=query, stream=True, timeout=30) as response:
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.iter_lines() if line]


def configmap(name: str, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def create_namespace(core: client.CoreV1Api, name: str) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def test_objects_and_revision_counter_survive_restart(durable: ServedPlane) -> None:
    core = core_api(durable)
    create_namespace(core, "keep")
    first = core.create_namespaced_config_map("keep", configmap("one", v="1"))
    second = core.create_namespaced_config_map("keep", configmap("two", v="2"))
    updated = core.patch_namespaced_config_map("one", "keep", {"data": {"v": "1b"}})
    secret = core.create_namespaced_secret("keep", client.V1Secret(metadata=client.V1ObjectMeta(name="s"),
                                                                     string_data={"k": "v"}))
    core.delete_namespaced_config_map("two", "keep")
    before_rv = int(core.list_namespaced_config_map("keep").metadata.resource_version)

    served = durable.restart(same_port=False)
    server_url = yaml.safe_load(served.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert server_url == served.url  # the kubeconfig follows the (new) port
    core = core_api(served)

    one = core.read_namespaced_config_map("one", "keep")
    assert one.data == {"v": "1b"}
    assert one.metadata.uid == first.metadata.uid
    assert one.metadata.resource_version == updated.metadata.resource_version
    assert one.metadata.creation_timestamp == first.metadata.creation_timestamp
    assert core.read_namespaced_secret("s", "keep").data == secret.data
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("two", "keep")
    assert caught.value.status == 404
    assert int(second.metadata.resource_version) < before_rv

    listed = core.list_namespaced_config_map("keep")
    assert [cm.metadata.name for cm in listed.items] == ["one"]
    assert int(listed.metadata.resource_version) >= before_rv

    later = core.create_namespaced_config_map("keep", configmap("three"))
    assert int(later.metadata.resource_version) > before_rv
    again = core.patch_namespaced_config_map("one", "keep", {"data": {"v": "1c"}})
    assert int(again.metadata.resource_version) > int(later.metadata.resource_version)


def test_acknowledged_write_survives_kill_9(durable: ServedPlane) -> None:
    core = core_api(durable)
    create_namespace(core, "crash")
    acknowledged = core.create_namespaced_config_map("crash", configmap("last-words", said="bye"))

    served = durable.restart(signal.SIGKILL, same_port=False)  # no chance to flush anything after the reply
    core = core_api(served)

    found = core.read_namespaced_config_map("last-words", "crash")
    assert found.data == {"said": "bye"}
    assert found.metadata.uid == acknowledged.metadata.uid
    assert found.metadata.resource_version == acknowledged.metadata.resource_version
    after = core.create_namespaced_config_map("crash", configmap("after"))
    assert int(after.metadata.resource_version) > int(acknowledged.metadata.resource_version)


def test_acknowledged_writes_survive_kill_9_under_concurrent_load(durable: ServedPlane) -> None:
    """Many writers at once (group commits): every acknowledged create, patch and delete is there after kill -9."""
    core = core_api(durable)
    create_namespace(core, "burst")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: core.create_namespaced_config_map("burst", configmap(f"cm-{i:02}", i=str(i))),
                      range(40)))

        def change(i: int) -> client.V1ConfigMap | None:
            if i % 2:
                core.delete_namespaced_config_map(f"cm-{i:02}", "burst")
                return None
            return core.patch_namespaced_config_map(f"cm-{i:02}", "burst", {"data": {"patched": "yes"}})

        acked = [cm for cm in pool.map(change, range(40)) if cm is not None]

    served = durable.restart(signal.SIGKILL, same_port=False)
    listed = core_api(served).list_namespaced_config_map("burst")
    assert [(cm.metadata.name, cm.metadata.resource_version, cm.data) for cm in listed.items] == [
        (cm.metadata.name, cm.metadata.resource_version, cm.data) for cm in acked]


def test_watch_resumes_across_restart_exactly_once_in_order(durable: ServedPlane, tmp_path: Path) -> None:
    core = core_api(durable)
    create_namespace(core, "resume")
    core.create_namespaced_config_map("resume", configmap("before"))
    resume_from = core.list_namespaced_config_map("resume").metadata.resource_version

    expected: list[tuple[str, str, str]] = []
    created = core.create_namespaced_config_map("resume", configmap("a", n="1"))
    expected.append(("ADDED", "a", created.metadata.resource_version))
    patched = core.patch_namespaced_config_map("a", "resume", {"data": {"n": "2"}})
    expected.append(("MODIFIED", "a", patched.metadata.resource_version))
    created_b = core.create_namespaced_config_map("resume", configmap("b"))
    expected.append(("ADDED", "b", created_b.metadata.resource_version))
    core.delete_namespaced_config_map("a", "resume")  # answers a Status: the deletion's revision shows below
    expected.append(("DELETED", "a", "?"))

    served = durable.restart(same_port=False)
    core = core_api(served)
    after_restart = core.patch_namespaced_config_map("b", "resume", {"data": {"after": "restart"}})
    expected.append(("MODIFIED", "b", after_restart.metadata.resource_version))

    session = raw_session(served, tmp_path / "tls")
    events = watch_events(served, session, "/api/v1/namespaces/resume/configmaps", resourceVersion=resume_from)
    seen = [(e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"])
            for e in events]
    assert [(kind, name) for kind, name, _ in seen] == [(kind, name) for kind, name, _ in expected]
    deletion_rv = seen[3][2]
    assert int(created_b.metadata.resource_version) < int(deletion_rv) < int(after_restart.metadata.resource_version)
    expected[3] = ("DELETED", "a", deletion_rv)
    assert seen == expected

    # the official client, resuming from the same revision, sees the same history
    stream = watch.Watch().stream(core.list_namespaced_config_map, "resume", resource_version=resume_from,
                                  timeout_seconds=2)
    assert [(e["type"], e["object"].metadata.name, e["object"].metadata.resource_version) for e in stream] \
        == expected


def test_watch_from_compacted_revision_is_gone(short_window: ServedPlane, tmp_path: Path) -> None:
    core = core_api(short_window)
    create_namespace(core, "old")
    old_rv = core.create_namespaced_config_map("old", configmap("first")).metadata.resource_version
    for i in range(8):  # more writes than the window of 5 revisions
        core.patch_namespaced_config_map("first", "old", {"data": {"i": str(i)}})
    recent_rv = core.read_namespaced_config_map("first", "old").metadata.resource_version

    def assert_gone(served: ServedPlane) -> None:
        session = raw_session(served, tmp_path / f"tls-{served.port}")
        events = watch_events(served, session, "/api/v1/namespaces/old/configmaps", resourceVersion=old_rv)
        assert len(events) == 1, events
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")

        # the official client turns the ERROR event into an ApiException (it retries only without a timeout)
        with pytest.raises(ApiException) as caught:
            list(watch.Watch().stream(core_api(served).list_namespaced_config_map, "old",
                                      resource_version=old_rv, timeout_seconds=2))
        assert caught.value.status == 410
        assert "Expired" in str(caught.value.reason)

        # a recent revision is still within the window
        assert watch_events(served, session, "/api/v1/namespaces/old/configmaps", resourceVersion=recent_rv,
                            timeoutSeconds="1") == []

    assert_gone(short_window)
    assert_gone(short_window.restart(same_port=False))


def test_sigterm_with_an_open_watch_stops_promptly_and_cleanly(durable: ServedPlane, tmp_path: Path) -> None:
    served = durable
    session = raw_session(served, tmp_path / "tls")
    with session.get(served.url + "/api/v1/namespaces", params={"watch": "true"}, stream=True,
                     timeout=30) as response:
        lines = response.iter_lines()
        assert json.loads(next(lines))["type"] == "ADDED"
        started = time.monotonic()
        assert served.stop(signal.SIGTERM) == 0, "".join(served.output)
        assert time.monotonic() - started < 10
        rest = list(lines)  # the stream ends (it does not hang) once the server is gone
    assert all(json.loads(line)["type"] == "ADDED" for line in rest if line)


def test_custom_resources_are_served_at_once_after_a_restart(durable: ServedPlane, tmp_path: Path) -> None:
    crd = yaml.safe_load((Path(__file__).parent / "manifests" / "widgets-crd.yaml").read_text())
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(durable.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
        custom = client.CustomObjectsApi(api)
        eventually_sync(lambda: custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets"),
                        "the CRD's API served (once it is Established)", timeout=10, retry_on=(ApiException,))
        made = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "large"}})

    served = durable.restart(signal.SIGKILL, same_port=False)
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(served.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        custom = client.CustomObjectsApi(api)
        got = custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
        assert got["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
        assert got["spec"] == {"size": "large", "replicas": 1}
        with pytest.raises(ApiException) as caught:  # validation comes back with the CRD
            custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w",
                                                  {"spec": {"size": "huge"}})
        assert caught.value.status == 422
