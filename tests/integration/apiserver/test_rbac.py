"""RBAC in-process: what a user bound to `view` in one namespace may do, the 403s kube-apiserver answers, RBAC
changes taking effect at the next request, aggregation, escalation checks, impersonation and the reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from support.inprocess import ADMIN_TOKEN, until

from herd.apiserver.auth import Authenticator, TokenFile, UserInfo
from herd.apiserver.server import APIServer
from herd.apiserver.storage import MemoryBackend, Store

VIEWER, EDITOR = "viewer-token", "editor-token"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
CM = "/api/v1/namespaces/team-a/configmaps"


def tokens() -> TokenFile:
    return TokenFile({ADMIN_TOKEN: UserInfo("admin", "", ("system:masters",)),
                      VIEWER: UserInfo("viewer", "", ("readers",)),
                      EDITOR: UserInfo("ns-admin", "", ())})


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    srv = APIServer(Store(MemoryBackend()), ssl_context=None, authenticator=Authenticator(tokens()))
    await srv.start()
    async with aiohttp.ClientSession(srv.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        for namespace in ("team-a", "team-b"):
            await call(admin, "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        await call(admin, "POST", CM, {"metadata": {"name": "settings"}, "data": {"k": "v"}})
        await bind(admin, "team-a", "viewers", "view", {"kind": "User", "name": "viewer"})
        await bind(admin, "team-a", "admins", "admin", {"kind": "User", "name": "ns-admin"})
    yield srv
    await srv.stop()


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def bind(http: aiohttp.ClientSession, namespace: str, name: str, role: str, *subjects: dict[str, Any]) -> None:
    status, body = await call(http, "POST", f"{RBAC}/namespaces/{namespace}/rolebindings", {
        "metadata": {"name": name}, "subjects": list(subjects),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}})
    assert status == 201, body


@pytest.fixture
async def as_user(server: APIServer) -> AsyncIterator[dict[str, aiohttp.ClientSession]]:
    sessions = {name: aiohttp.ClientSession(server.url, headers={"Authorization": f"Bearer {token}"})
                for name, token in (("admin", ADMIN_TOKEN), ("viewer", VIEWER), ("ns-admin", EDITOR))}
    yield sessions
    for session in sessions.values():
        await session.close()


async def test_a_viewer_reads_its_namespace_and_nothing_more(as_user: dict[str, aiohttp.ClientSession]) -> None:
    viewer = as_user["viewer"]
    assert (await call(viewer, "GET", f"{CM}/settings"))[0] == 200
    assert (await call(viewer, "GET", CM))[0] == 200
    async with viewer.get(CM, params={"watch": "true", "timeoutSeconds": "1"}) as response:
        assert response.status == 200
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-a"))[0] == 200  # its own namespace, too
    assert (await call(viewer, "GET", "/apis"))[0] == 200  # discovery is everyone's
    status, body = await call(viewer, "POST", CM, {"metadata": {"name": "x"}})
    assert (status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == ('configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API '
                               'group "" in the namespace "team-a"')
    assert body["details"] == {"kind": "configmaps"}
    status, body = await call(viewer, "DELETE", f"{CM}/settings")
    assert body["message"] == ('configmaps "settings" is forbidden: User "viewer" cannot delete resource '
                               '"configmaps" in API group "" in the namespace "team-a"')
    status, body = await call(viewer, "GET", "/api/v1/namespaces/team-b/configmaps")
    assert body["message"].endswith('cannot list resource "configmaps" in API group "" in the namespace "team-b"')
    status, body = await call(viewer, "GET", "/api/v1/namespaces/team-a/secrets")  # view never reads Secrets
    assert status == 403
    status, body = await call(viewer, "GET", "/apis/apps/v1/namespaces/team-a/deployments/web/scale")
    assert status == 200 or body["message"] != ""  # deployments/scale is in view: 404 after authorization
    assert status == 404
    status, body = await call(viewer, "PUT", "/apis/apps/v1/namespaces/team-a/deployments/web/scale", {})
    assert body["message"] == ('deployments.apps "web" is forbidden: User "viewer" cannot update resource '
                               '"deployments/scale" in API group "apps" in the namespace "team-a"')
    status, body = await call(viewer, "GET", "/api/v1/nodes")
    assert body["message"] == ('nodes is forbidden: User "viewer" cannot list resource "nodes" in API group "" at '
                               "the cluster scope")
    status, body = await call(viewer, "GET", "/metrics")
    assert (status, body["message"]) == (403, 'forbidden: User "viewer" cannot get path "/metrics"')


async def test_an_rbac_change_applies_at_the_next_request(as_user: dict[str, aiohttp.ClientSession],
                                                          server: APIServer) -> None:
    admin, viewer = as_user["admin"], as_user["viewer"]
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-b/configmaps"))[0] == 403
    await bind(admin, "team-b", "readers", "view", {"kind": "Group", "name": "readers"})
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-b/configmaps"))[0] == 200
    assert (await call(admin, "DELETE", f"{RBAC}/namespaces/team-b/rolebindings/readers"))[0] == 200
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-b/configmaps"))[0] == 403


async def test_resource_names_limit_a_rule_to_those_objects(as_user: dict[str, aiohttp.ClientSession]) -> None:
    admin, viewer = as_user["admin"], as_user["viewer"]
    role = {"metadata": {"name": "one-secret"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["allowed"], "verbs": ["get"]}]}
    assert (await call(admin, "POST", f"{RBAC}/namespaces/team-a/roles", role))[0] == 201
    assert (await call(admin, "POST", f"{RBAC}/namespaces/team-a/rolebindings", {
        "metadata": {"name": "one-secret"}, "subjects": [{"kind": "User", "name": "viewer"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "one-secret"}}))[0] == 201
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-a/secrets/allowed"))[0] == 404  # allowed, absent
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-a/secrets/other"))[0] == 403
    assert (await call(viewer, "GET", "/api/v1/namespaces/team-a/secrets"))[0] == 403


async def test_aggregated_roles_gain_the_rules_of_labelled_roles(as_user: dict[str, aiohttp.ClientSession],
                                                                 server: APIServer) -> None:
    admin, viewer = as_user["admin"], as_user["viewer"]
    widgets = "/apis/example.com/v1/namespaces/team-a/widgets"
    assert (await call(viewer, "GET", widgets))[0] == 403
    status, _ = await call(admin, "POST", f"{RBAC}/clusterroles", {
        "metadata": {"name": "widget-reader", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list"]}]})
    assert status == 201

    def view_has_widgets() -> bool:
        record = server.store.get("/registry/rbac.authorization.k8s.io/clusterroles//view")
        return record is not None and any("widgets" in r.get("resources", []) for r in record.value["rules"])

    await until(server.store, view_has_widgets)
    assert (await call(viewer, "GET", widgets))[0] == 404  # allowed now; no such resource is served


async def test_roles_and_bindings_grant_only_what_their_writer_holds(as_user: dict[str, aiohttp.ClientSession]
                                                                     ) -> None:
    ns_admin = as_user["ns-admin"]
    roles = f"{RBAC}/namespaces/team-a/roles"
    held = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
    assert (await call(ns_admin, "POST", roles, {"metadata": {"name": "ok"}, "rules": [held]}))[0] == 201
    status, body = await call(ns_admin, "POST", roles, {"metadata": {"name": "too-much"}, "rules": [
        held, {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]})
    assert (status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'roles.rbac.authorization.k8s.io "too-much" is forbidden: user "ns-admin" (groups=["system:authenticated"]) '
        'is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], '
        'Verbs:["get"]}')
    status, body = await call(ns_admin, "POST", f"{RBAC}/namespaces/team-a/rolebindings", {
        "metadata": {"name": "root"}, "subjects": [{"kind": "User", "name": "viewer"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}})
    assert status == 403 and "not currently held" in body["message"]
    status, _ = await call(ns_admin, "POST", f"{RBAC}/namespaces/team-a/rolebindings", {
        "metadata": {"name": "more-viewers"}, "subjects": [{"kind": "User", "name": "someone"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}})
    assert status == 201  # admin holds everything view grants, in its namespace
    status, body = await call(ns_admin, "POST", f"{RBAC}/namespaces/team-b/roles", {"metadata": {"name": "ok"},
                                                                                    "rules": [held]})
    assert status == 403  # no rights at all in team-b


async def test_invalid_rbac_objects_are_refused(as_user: dict[str, aiohttp.ClientSession]) -> None:
    admin = as_user["admin"]
    status, body = await call(admin, "POST", f"{RBAC}/namespaces/team-a/roles", {
        "metadata": {"name": "bad"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
                                       {"apiGroups": [""], "resources": ["pods"], "verbs": []}]})
    assert (status, body["reason"]) == (422, "Invalid")
    assert {c["field"] for c in body["details"]["causes"]} == {"rules[0].nonResourceURLs", "rules[1].verbs"}
    status, body = await call(admin, "POST", f"{RBAC}/clusterrolebindings", {
        "metadata": {"name": "bad"}, "subjects": [{"kind": "ServiceAccount", "name": "x"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "view"}})
    assert {c["field"] for c in body["details"]["causes"]} == {"roleRef.kind", "subjects[0].namespace"}


async def test_impersonation_needs_the_impersonate_verb(as_user: dict[str, aiohttp.ClientSession]) -> None:
    admin, viewer = as_user["admin"], as_user["viewer"]
    whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    status, body = await call(admin, "POST", whoami, review, {"Impersonate-User": "viewer",
                                                              "Impersonate-Group": "readers"})
    assert status == 201
    assert body["status"]["userInfo"] == {"username": "viewer", "groups": ["readers", "system:authenticated"]}
    status, body = await call(admin, "POST", CM, {"metadata": {"name": "as-viewer"}}, {"Impersonate-User": "viewer"})
    assert status == 403  # the request runs with the viewer's rights
    status, body = await call(viewer, "GET", CM, headers={"Impersonate-User": "admin"})
    assert (status, body["message"]) == (403, 'users "admin" is forbidden: User "viewer" cannot impersonate resource '
                                              '"users" in API group "" at the cluster scope')
    status, body = await call(admin, "GET", CM, headers={"Impersonate-Group": "system:masters"})
    assert status == 400


async def test_access_reviews_answer_for_anyone(as_user: dict[str, aiohttp.ClientSession]) -> None:
    admin, viewer = as_user["admin"], as_user["viewer"]
    sar = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

    def review(verb: str) -> dict[str, Any]:
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
            "user": "viewer", "resourceAttributes": {"verb": verb, "resource": "configmaps", "namespace": "team-a"}}}

    status, body = await call(admin, "POST", sar, review("get"))
    assert status == 201
    assert body["status"] == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "viewers/team-a" of '
                                                         'ClusterRole "view" to User "viewer"'}
    assert (await call(admin, "POST", sar, review("create")))[1]["status"] == {"allowed": False}
    assert (await call(viewer, "POST", sar, review("get")))[0] == 403  # asking about others needs the right to
    status, body = await call(viewer, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "team-a"}})
    assert status == 201
    reads = [r for r in body["status"]["resourceRules"] if "configmaps" in r["resources"]]
    assert reads and set(reads[0]["verbs"]) == {"get", "list", "watch"}
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} \
        in body["status"]["nonResourceRules"]


async def test_bootstrap_tokens_join_and_read_nothing_else(as_user: dict[str, aiohttp.ClientSession],
                                                           server: APIServer) -> None:
    import base64

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    admin = as_user["admin"]
    await call(admin, "POST", "/api/v1/namespaces/kube-system/secrets", {
        "metadata": {"name": "bootstrap-token-abcdef"}, "type": "bootstrap.kubernetes.io/token", "data": {
            "token-id": b64("abcdef"), "token-secret": b64("0123456789abcdef"),
            "usage-bootstrap-authentication": b64("true"),
            "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token")}})
    await call(admin, "POST", "/api/v1/namespaces/kube-public/configmaps",
               {"metadata": {"name": "cluster-info"}, "data": {"kubeconfig": "{}"}})
    async with aiohttp.ClientSession(server.url, headers={"Authorization": "Bearer abcdef.0123456789abcdef"}) as joiner:
        assert (await call(joiner, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info"))[0] == 200
        assert (await call(joiner, "POST", "/api/v1/nodes", {"metadata": {"name": "worker-1"}}))[0] == 201
        assert (await call(joiner, "GET", "/api/v1/nodes/worker-1"))[0] == 200
        status, body = await call(joiner, "GET", "/api/v1/namespaces/kube-system/secrets")
        assert (status, body["message"]) == (403, 'secrets is forbidden: User "system:bootstrap:abcdef" cannot list '
                                                  'resource "secrets" in API group "" in the namespace "kube-system"')
        assert (await call(joiner, "GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef"))[0] == 403
        assert (await call(joiner, "DELETE", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef"))[0] \
            == 403
        assert (await call(joiner, "GET", "/api/v1/namespaces/kube-public/configmaps/other"))[0] == 403
        assert (await call(joiner, "DELETE", "/api/v1/nodes/worker-1"))[0] == 403


async def test_the_default_policy_comes_back_at_start_unless_autoupdate_is_false(
        as_user: dict[str, aiohttp.ClientSession], server: APIServer) -> None:
    from herd.apiserver.authz.reconcile import reconcile_default_policy

    admin = as_user["admin"]
    for name in ("system:basic-user", "system:discovery"):
        _, role = await call(admin, "GET", f"{RBAC}/clusterroles/{name}")
        role["rules"] = []
        if name == "system:discovery":
            role["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] = "false"
        assert (await call(admin, "PUT", f"{RBAC}/clusterroles/{name}", role))[0] == 200
    _, binding = await call(admin, "GET", f"{RBAC}/clusterrolebindings/cluster-admin")
    binding["subjects"] = [{"kind": "User", "name": "someone-else", "apiGroup": "rbac.authorization.k8s.io"}]
    assert (await call(admin, "PUT", f"{RBAC}/clusterrolebindings/cluster-admin", binding))[0] == 200

    await reconcile_default_policy(server.objects)  # what every start runs

    assert len((await call(admin, "GET", f"{RBAC}/clusterroles/system:basic-user"))[1]["rules"]) == 2
    assert (await call(admin, "GET", f"{RBAC}/clusterroles/system:discovery"))[1]["rules"] == []
    subjects = (await call(admin, "GET", f"{RBAC}/clusterrolebindings/cluster-admin"))[1]["subjects"]
    assert [s["name"] for s in subjects] == ["someone-else", "system:masters"]  # added back, nothing removed


async def test_always_allow_lets_every_authenticated_user_do_anything() -> None:
    srv = APIServer(Store(MemoryBackend()), ssl_context=None, authenticator=Authenticator(tokens()),
                    authorization_mode="AlwaysAllow")
    await srv.start()
    try:
        async with aiohttp.ClientSession(srv.url, headers={"Authorization": f"Bearer {VIEWER}"}) as viewer:
            assert (await call(viewer, "POST", "/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}}))[0] \
                == 201
            assert (await call(viewer, "GET", "/metrics"))[0] == 404  # past authorization: nothing serves it
    finally:
        await srv.stop()


async def test_impersonating_a_service_account_gives_its_groups_and_extra_fields(
        as_user: dict[str, aiohttp.ClientSession]) -> None:
    admin = as_user["admin"]
    status, body = await call(admin, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                              {"Impersonate-User": "system:serviceaccount:team-a:robot",
                               "Impersonate-Extra-Scopes": "view", "Impersonate-Uid": "u-1"})
    assert status == 201
    assert body["status"]["userInfo"] == {
        "username": "system:serviceaccount:team-a:robot", "uid": "u-1",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"],
        "extra": {"scopes": ["view"]}}
    status, body = await call(as_user["ns-admin"], "GET", CM,
                              headers={"Impersonate-User": "system:serviceaccount:team-a:robot"})
    # admin in team-a may impersonate its service accounts (kube's edit role grants it); the request then has the
    # service account's rights, which are none
    assert body["message"].startswith('configmaps is forbidden: User "system:serviceaccount:team-a:robot" cannot list')
    status, body = await call(as_user["ns-admin"], "GET", CM,
                              headers={"Impersonate-User": "system:serviceaccount:team-b:robot"})
    assert body["message"] == ('serviceaccounts "robot" is forbidden: User "ns-admin" cannot impersonate resource '
                               '"serviceaccounts" in API group "" in the namespace "team-b"')
