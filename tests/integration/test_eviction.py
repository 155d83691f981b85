"""Pod eviction in-process over HTTP: deletion without a budget, PodDisruptionBudgets refusing with 429,
budget status kept current, pods evicted freely (pending, finished, unhealthy), more than one budget,
dry runs, malformed requests, and concurrent evictions that must not overspend a budget."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from herd.apiserver.builtins import PDBS, PODS
from herd.apiserver.eviction import BUDGET_VIOLATION
from herd.apiserver.objects import WriteOptions
from herd.apiserver.server import APIServer

NS = "default"


def running(ready: bool = True) -> dict[str, Any]:
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}


async def make_pod(server: APIServer, name: str, status: dict[str, Any] | None = None,
                   labels: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {"app": "web"}},
                            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    if status is not None:
        body["status"] = status
    return (await server.objects.create(PODS, NS, body, WriteOptions())).obj


async def make_budget(server: APIServer, name: str = "web", **spec: Any) -> None:
    body = {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}
    await server.objects.create(PDBS, NS, body, WriteOptions())


def eviction(name: str, **delete_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": NS}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


async def evict(http: aiohttp.ClientSession, name: str, body: dict[str, Any] | None = None,
                query: str = "") -> tuple[int, dict[str, Any]]:
    async with http.post(f"/api/v1/namespaces/{NS}/pods/{name}/eviction{query}",
                         json=body if body is not None else eviction(name)) as response:
        return response.status, await response.json()


def pod_exists(server: APIServer, name: str) -> bool:
    return server.store.get(PODS.key(NS, name)) is not None


def budget_status(server: APIServer, name: str = "web") -> dict[str, Any]:
    rec = server.store.get(PDBS.key(NS, name))
    assert rec is not None
    status: dict[str, Any] = rec.value.get("status") or {}
    return status


async def test_a_pod_without_a_budget_is_deleted_with_201_success(server: APIServer,
                                                                  http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    code, body = await evict(http, "p1")
    assert code == 201, body
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert not pod_exists(server, "p1")


async def test_a_missing_pod_is_404(http: aiohttp.ClientSession) -> None:
    code, body = await evict(http, "ghost")
    assert code == 404
    assert body["reason"] == "NotFound" and body["message"] == 'pods "ghost" not found'


async def test_a_budget_with_no_room_refuses_with_429_and_a_disruption_budget_cause(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    await make_budget(server, minAvailable=1)
    code, body = await evict(http, "p1")
    assert code == 429
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == BUDGET_VIOLATION == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget web needs 1 healthy pods and has 1 currently"}]
    assert pod_exists(server, "p1")
    status = budget_status(server)
    assert (status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"],
            status["expectedPods"]) == (1, 1, 0, 1)
    assert status["conditions"][0]["reason"] == "InsufficientPods"


async def test_two_ready_pods_under_min_available_one_allow_exactly_one_eviction(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    await make_pod(server, "p2", running())
    await make_budget(server, minAvailable=1)
    code, body = await evict(http, "p1")
    assert code == 201, body
    assert not pod_exists(server, "p1")
    status = budget_status(server)  # written as the eviction was granted, before the pod went
    assert (status["currentHealthy"], status["disruptionsAllowed"], status["expectedPods"]) == (1, 0, 2)
    assert list(status["disruptedPods"]) == ["p1"]
    code, body = await evict(http, "p2")
    assert code == 429 and body["message"] == BUDGET_VIOLATION
    assert pod_exists(server, "p2")


async def test_concurrent_evictions_never_overspend_a_budget(server: APIServer,
                                                             http: aiohttp.ClientSession) -> None:
    names = [f"p{i}" for i in range(5)]
    for name in names:
        await make_pod(server, name, running())
    await make_budget(server, minAvailable=3)
    results = await asyncio.gather(*(evict(http, name) for name in names))
    assert sorted(code for code, _ in results) == [201, 201, 429, 429, 429]
    assert sum(pod_exists(server, name) for name in names) == 3


async def test_percentages_count_the_matching_pods_and_round_up(server: APIServer,
                                                                http: aiohttp.ClientSession) -> None:
    for name in ("p1", "p2", "p3"):
        await make_pod(server, name, running())
    await make_pod(server, "starting")  # Pending: expected, but not healthy
    await make_budget(server, minAvailable="60%")  # 60% of 4 pods is 2.4: 3 must stay healthy
    code, body = await evict(http, "p1")
    assert code == 429
    assert body["details"]["causes"][0]["message"] == (
        "The disruption budget web needs 3 healthy pods and has 3 currently")
    await server.objects.guaranteed_update(PDBS, NS, "web", lambda b: {**b, "spec": {
        "selector": b["spec"]["selector"], "maxUnavailable": "26%"}}, WriteOptions())
    # 26% of 4 is 1.04 pods, rounded up to 2 that may be unavailable: 2 healthy wanted, 3 present
    assert (await evict(http, "p1"))[0] == 201
    status = budget_status(server)
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"]) == (4, 2, 2)
    # 26% of the 3 pods left rounds up to 1 unavailable: 2 wanted, 2 present
    assert (await evict(http, "p2"))[0] == 429


async def test_pods_with_nothing_left_to_disrupt_are_evicted_despite_the_budget(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "pending")  # created without status: defaults to Pending
    assert (await server.objects.create(PODS, NS, {"metadata": {"name": "x"}}, WriteOptions(dry_run=True))
            ).obj["status"]["phase"] == "Pending"
    await make_pod(server, "done", {"phase": "Succeeded"})
    await make_pod(server, "failed", {"phase": "Failed"})
    await make_budget(server, minAvailable=5)
    for name in ("pending", "done", "failed"):
        code, body = await evict(http, name)
        assert code == 201, (name, body)
        assert not pod_exists(server, name)


async def test_unhealthy_pods_follow_the_unhealthy_pod_eviction_policy(server: APIServer,
                                                                       http: aiohttp.ClientSession) -> None:
    await make_pod(server, "ready", running())
    await make_pod(server, "sick", running(ready=False))
    await make_budget(server, minAvailable=1)
    # IfHealthyBudget (the default): the healthy pods meet the budget, so the unhealthy one may go for free
    assert (await evict(http, "sick"))[0] == 201
    await make_pod(server, "sick2", running(ready=False))
    await make_budget(server, "strict", minAvailable=2)
    await server.objects.guaranteed_update(PDBS, NS, "web", lambda b: {**b, "spec": {**b["spec"], "selector": {
        "matchLabels": {"app": "other"}}}}, WriteOptions())
    # now "strict" (2 wanted, 1 healthy) is the only budget: the application is already disrupted
    assert (await evict(http, "sick2"))[0] == 429
    await server.objects.guaranteed_update(PDBS, NS, "strict", lambda b: {**b, "spec": {
        **b["spec"], "unhealthyPodEvictionPolicy": "AlwaysAllow"}}, WriteOptions())
    assert (await evict(http, "sick2"))[0] == 201
    assert (await evict(http, "ready"))[0] == 429


async def test_more_than_one_budget_is_a_500(server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    await make_budget(server, "a", minAvailable=0)
    await make_budget(server, "b", minAvailable=0)
    code, body = await evict(http, "p1")
    assert code == 500
    assert body["reason"] == "InternalError"
    assert "This pod has more than one PodDisruptionBudget" in body["message"]
    assert pod_exists(server, "p1")


async def test_a_budget_selects_by_labels_and_a_null_selector_selects_nothing(
        server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "other", running(), labels={"app": "db"})
    await make_pod(server, "web", running())
    await make_budget(server, minAvailable=1)
    await server.objects.create(PDBS, NS, {"metadata": {"name": "none"}, "spec": {"minAvailable": 1}},
                                WriteOptions())
    assert (await evict(http, "other"))[0] == 201
    assert (await evict(http, "web"))[0] == 429


async def test_dry_run_evictions_change_nothing(server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    await make_pod(server, "p2", running())
    await make_budget(server, minAvailable=1)
    assert (await evict(http, "p1", query="?dryRun=All"))[0] == 201
    assert (await evict(http, "p1", eviction("p1", dryRun=["All"])))[0] == 201
    assert pod_exists(server, "p1") and "disruptedPods" not in budget_status(server)
    assert (await evict(http, "p2"))[0] == 201  # nothing was spent by the dry runs


async def test_delete_options_are_respected(server: APIServer, http: aiohttp.ClientSession) -> None:
    pod = await make_pod(server, "p1", running())
    code, body = await evict(http, "p1", eviction("p1", preconditions={"uid": "not-the-uid"}))
    assert code == 409 and "Precondition failed" in body["message"]
    assert (await evict(http, "p1", eviction("p1", preconditions={"uid": pod["metadata"]["uid"]})))[0] == 201


async def test_malformed_evictions_are_refused(server: APIServer, http: aiohttp.ClientSession) -> None:
    await make_pod(server, "p1", running())
    code, body = await evict(http, "p1", eviction("p2"))
    assert code == 400 and body["message"] == "name in URL does not match name in Eviction object"
    assert (await evict(http, "p1", {**eviction("p1"), "kind": "Pod"}))[0] == 400
    assert (await evict(http, "p1", eviction("p1", dryRun=["Some"])))[0] == 400
    async with http.get(f"/api/v1/namespaces/{NS}/pods/p1/eviction") as response:
        assert response.status == 405
    async with http.post(f"/api/v1/namespaces/{NS}/pods/p1/status", json={}) as response:
        assert response.status == 405
    assert pod_exists(server, "p1")
