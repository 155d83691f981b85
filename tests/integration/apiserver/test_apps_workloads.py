"""apps/v1 Deployments and DaemonSets as kube-apiserver serves them: defaults, selectors, generation,
/status and /scale."""

from __future__ import annotations

from typing import Any

import aiohttp

DEPLOYMENTS = "/apis/apps/v1/namespaces/kube-system/deployments"
DAEMONSETS = "/apis/apps/v1/namespaces/kube-system/daemonsets"


def workload(kind: str, name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    labels = {"k8s-app": name} if labels is None else labels
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"k8s-app": name}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": f"registry.k8s.io/{name}:1",
                                                           "args": ["--conf", "/etc/conf"]}]}},
                     **spec},
            "status": {"replicas": 7}}


async def send(http: aiohttp.ClientSession, method: str, path: str, body: Any = None,
               content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    data = None if body is None else aiohttp.payload.JsonPayload(body, content_type=content_type)
    async with http.request(method, path, data=data) as response:
        return response.status, await response.json()


async def test_a_deployment_gets_kube_defaults_and_an_empty_status(http: aiohttp.ClientSession) -> None:
    code, created = await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns"))
    assert code == 201, created
    assert created["spec"]["replicas"] == 1
    assert created["spec"]["strategy"] == {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (created["spec"]["revisionHistoryLimit"], created["spec"]["progressDeadlineSeconds"]) == (10, 600)
    assert created["status"] == {}
    assert created["metadata"]["generation"] == 1


async def test_a_daemonset_gets_kube_defaults(http: aiohttp.ClientSession) -> None:
    code, created = await send(http, "POST", DAEMONSETS, workload("DaemonSet", "kube-proxy"))
    assert code == 201, created
    assert created["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert created["metadata"]["generation"] == 1


async def test_the_selector_is_required_must_match_the_template_and_cannot_change(
        http: aiohttp.ClientSession) -> None:
    missing = workload("Deployment", "coredns")
    del missing["spec"]["selector"]
    code, status = await send(http, "POST", DEPLOYMENTS, missing)
    assert (code, status["reason"], status["details"]["causes"][0]["field"]) == (422, "Invalid", "spec.selector")

    code, status = await send(http, "POST", DAEMONSETS, workload("DaemonSet", "kube-proxy", labels={"app": "other"}))
    assert code == 422
    assert "`selector` does not match template `labels`" in status["message"]

    await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns"))
    code, status = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns",
                              {"spec": {"selector": {"matchLabels": {"k8s-app": "dns"}},
                                        "template": {"metadata": {"labels": {"k8s-app": "dns"}}}}},
                              "application/merge-patch+json")
    assert code == 422
    assert "field is immutable" in status["message"]


async def test_spec_changes_bump_generation_and_status_writes_do_not(http: aiohttp.ClientSession) -> None:
    await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns"))
    code, patched = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns", {"spec": {"replicas": 2}},
                               "application/merge-patch+json")
    assert (code, patched["metadata"]["generation"]) == (200, 2)
    code, written = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns/status",
                               {"status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 2}},
                               "application/merge-patch+json")
    assert (code, written["metadata"]["generation"], written["status"]["readyReplicas"]) == (200, 2, 2)
    code, ignored = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns", {"status": {"readyReplicas": 0}},
                               "application/merge-patch+json")
    assert (code, ignored["status"]["readyReplicas"]) == (200, 2)  # status only changes through /status


async def test_the_scale_subresource_reads_and_writes_replicas(http: aiohttp.ClientSession) -> None:
    await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns"))
    code, scale = await send(http, "GET", f"{DEPLOYMENTS}/coredns/scale")
    assert (code, scale["kind"], scale["apiVersion"]) == (200, "Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 0, "selector": "k8s-app=coredns"}
    code, scale = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns/scale", {"spec": {"replicas": 3}},
                             "application/merge-patch+json")
    assert (code, scale["spec"]["replicas"]) == (200, 3)
    _, deployment = await send(http, "GET", f"{DEPLOYMENTS}/coredns")
    assert (deployment["spec"]["replicas"], deployment["metadata"]["generation"]) == (3, 2)
    await send(http, "POST", DAEMONSETS, workload("DaemonSet", "kube-proxy"))
    code, status = await send(http, "GET", f"{DAEMONSETS}/kube-proxy/scale")
    assert (code, status["message"]) == (404, 'daemonsets/scale.apps "kube-proxy" not found')  # no scale here


async def test_strategic_merge_patches_merge_containers_by_name(http: aiohttp.ClientSession) -> None:
    await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns"))
    container = {"name": "coredns", "image": "registry.k8s.io/coredns:2"}
    patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
    code, patched = await send(http, "PATCH", f"{DEPLOYMENTS}/coredns", patch,
                               "application/strategic-merge-patch+json")
    assert code == 200
    assert patched["spec"]["template"]["spec"]["containers"] == [
        {"name": "coredns", "image": "registry.k8s.io/coredns:2", "args": ["--conf", "/etc/conf"]}]


async def test_a_wrongly_typed_field_is_a_decode_error(http: aiohttp.ClientSession) -> None:
    code, status = await send(http, "POST", DEPLOYMENTS, workload("Deployment", "coredns", replicas="two"))
    assert (code, status["reason"]) == (400, "BadRequest")
    assert "cannot be handled as a Deployment" in status["message"]


async def test_discovery_and_openapi_serve_apps_v1(http: aiohttp.ClientSession) -> None:
    _, resources = await send(http, "GET", "/apis/apps/v1")
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["deployments"]["shortNames"] == ["deploy"]
    assert by_name["daemonsets"]["shortNames"] == ["ds"]
    assert by_name["deployments/scale"]["kind"] == "Scale"
    assert {"deployments/status", "daemonsets/status"} <= set(by_name)
    assert "daemonsets/scale" not in by_name
    _, document = await send(http, "GET", "/openapi/v3/apis/apps/v1")
    schemas = document["components"]["schemas"]
    assert "replicas" in schemas["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]["properties"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale" in document["paths"]
